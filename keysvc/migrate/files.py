"""Writing a small file so that a crash leaves the old version or the new one, never half."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["FileWriteError", "write_atomically"]


class FileWriteError(Exception):
    """A file could not be written; the message names it and the system's reason."""


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` at once: readers see the old file or the new one.

    The data goes to a new file in the same directory created with exactly
    ``mode`` (whatever the umask), is synced, renamed over ``path``, and the
    directory is synced so the rename survives a crash. A symbolic link at
    ``path`` is replaced, not followed. Raises `FileWriteError`; never leaves
    the temporary file behind.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except OSError as error:
        raise FileWriteError(f"cannot create a file next to {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)  # the umask may have narrowed it
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise FileWriteError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    try:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as error:
        # The file is in place; only its durability across a crash is in doubt.
        raise FileWriteError(
            f"wrote {path}, but cannot sync its directory: {error.strerror}"
        ) from None
