"""The data folder: owner-only, whatever the umask.

It holds the SQLite database (license keys, whole idempotent answers, mail
bodies, encrypted signing keys, token hashes), the development passphrase and
the Maildir, so it is 0700 and every file keysvc writes in it is 0600 (SPEC §8).
Folders and files keysvc creates get those modes explicitly; the umask can only
narrow a mode, never widen it. SQLite gives its ``-wal`` and ``-shm`` files the
mode of the database file, so the database file is made here, empty and 0600,
before SQLite first opens it.

A folder or file that is already there with looser modes is the operator's:
keysvc warns at start, naming what to tighten, rather than changing modes behind
their back (docs/persistence.md).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Final

__all__ = [
    "DATA_FOLDER_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_file",
    "loosely_protected",
    "prepare_data_folder",
]

logger = logging.getLogger(__name__)

DATA_FOLDER_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600

# The warning names this many paths at most; the Maildir may hold many thousands
# of files, so only the folder itself and the entries of its top two levels are
# looked at (the Maildir's messages are written 0600 one by one anyway).
_NAMED_AT_MOST: Final = 10


def prepare_data_folder(folder: Path) -> None:
    """Makes `folder` 0700 if it is missing; warns when it or its contents are open
    to group or others."""
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=DATA_FOLDER_MODE, exist_ok=True)
        os.chmod(folder, DATA_FOLDER_MODE)  # the umask may have narrowed it further
        return
    loose = loosely_protected(folder)
    if loose:
        logger.warning(
            "the data folder is readable by others, and it holds license keys and token "
            "hashes: chmod 700 the folder and 600 its files",
            extra={
                "data_dir": str(folder),
                "loose": ", ".join(f"{path} ({mode:04o})" for path, mode in loose),
            },
        )


def loosely_protected(folder: Path) -> list[tuple[Path, int]]:
    """`folder` and the entries of its first two levels that group or others may
    access, with their permission bits (at most a few, for a message)."""
    found: list[tuple[Path, int]] = []
    for path in (folder, *_entries(folder, depth=2)):
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except OSError:
            continue  # gone meanwhile (a Maildir message delivered and moved)
        if mode & 0o077 and not path.is_symlink():
            found.append((path, mode))
            if len(found) == _NAMED_AT_MOST:
                break
    return found


def create_private_file(path: Path) -> None:
    """Creates `path` empty and 0600 unless it exists (then it is left as it is)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)


def _entries(folder: Path, depth: int) -> list[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return []
    found = list(children)
    if depth > 1:
        for child in children:
            if child.is_dir() and not child.is_symlink():
                found.extend(_entries(child, depth - 1))
    return found
