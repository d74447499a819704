"""The license key file on the customer's server, and the JWKS file that verifies it.

`install_key` replaces the key file atomically: the product, or a crash, sees
the old file or the new one, never a part of either. It writes only text shaped
like a license key, unwrapped on one line, mode 0600, keeping the owner and
group of the file it replaces.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Final

from signing import MAX_LICENSE_KEY_BYTES, LicenseVerifier

__all__ = ["ImplausibleKey", "KeyFileError", "install_key", "read_jwks", "read_key"]

_KEY_FILE_MODE: Final = 0o600
_ASCII_WHITESPACE: Final = b" \t\n\r\x0b\x0c"
_KEY_SHAPE: Final = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Far above any real file, low enough that pointing at the wrong file (a log, a
# disk image) fails at once instead of reading it all.
_MAX_KEY_FILE_BYTES: Final = 64 * 1024
_MAX_JWKS_FILE_BYTES: Final = 1024 * 1024


class KeyFileError(Exception):
    """A key or JWKS file could not be read or written; the message names the file."""


class ImplausibleKey(KeyFileError, ValueError):
    """The text given to `install_key` is not shaped like a license key; nothing was written."""


def _compact_key(key_text: str) -> bytes:
    """Return the key without ASCII whitespace, or raise `ImplausibleKey`."""
    if not key_text.isascii():
        raise ImplausibleKey("not a license key: it contains non-ASCII characters")
    # E-mail wrapping and indentation are not part of the key (docs/key-format.md).
    compact = key_text.encode("ascii").translate(None, _ASCII_WHITESPACE)
    if len(compact) > MAX_LICENSE_KEY_BYTES:
        raise ImplausibleKey(
            f"not a license key: {len(compact)} bytes, at most {MAX_LICENSE_KEY_BYTES}"
        )
    if _KEY_SHAPE.fullmatch(compact) is None:
        raise ImplausibleKey("not a license key: expected three base64url parts joined by dots")
    return compact


def install_key(path: Path, key_text: str) -> None:
    """Write ``key_text`` to ``path`` atomically, mode 0600, or raise and change nothing.

    The key must be three base64url parts joined by dots once ASCII whitespace
    is removed (`ImplausibleKey` otherwise); it is written so, on one line
    ending in a newline. The text goes to a new file in the same directory,
    set to 0600 (and to the owner and group of the file it replaces), written
    and synced; ``os.replace`` renames it over ``path``, then the directory is
    synced so the rename survives a crash. A symbolic link at ``path`` is
    replaced, not followed. Raises `KeyFileError` when the file cannot be
    written; the temporary file never stays behind.
    """
    data = _compact_key(key_text) + b"\n"
    owner = _owner_of(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _KEY_FILE_MODE)
    except OSError as exc:
        raise KeyFileError(f"cannot create a file next to {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            # The umask may have narrowed the mode; the key file is exactly 0600.
            os.fchmod(file.fileno(), _KEY_FILE_MODE)
            if owner is not None:
                # Run as root, the tool would otherwise hand the product's key
                # file to root, and 0600 would lock the product out.
                _give_owner(file.fileno(), owner, path)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _owner_of(path: Path) -> tuple[int, int] | None:
    """The owner and group of the file at ``path``, or None when there is none."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"cannot inspect {path}: {exc.strerror}") from None
    return info.st_uid, info.st_gid


def _give_owner(fd: int, owner: tuple[int, int], path: Path) -> None:
    try:
        os.fchown(fd, *owner)
    except PermissionError:
        raise KeyFileError(
            f"{path} belongs to another user or group: run as root or as its owner"
        ) from None


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        # The key is in place; only its durability across a crash is in doubt.
        raise KeyFileError(f"wrote the key, but cannot sync {directory}: {exc.strerror}") from None


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise KeyFileError(f"{path} is over {limit} bytes: not a {what}")
    return data


def read_key(path: Path) -> str:
    """Return the text of the license key file ``path``, as stored.

    Whitespace is kept: the verifier removes it. Raises `KeyFileError` when the
    file cannot be read, is not UTF-8, or is over 64 KiB (surely the wrong file).
    """
    data = _read_limited(path, _MAX_KEY_FILE_BYTES, "license key file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{path} is not text: not a license key file") from None


def read_jwks(path: Path) -> LicenseVerifier:
    """Return a verifier that trusts the keys of the JWKS file ``path``.

    Raises `KeyFileError` when the file cannot be read or is over 1 MiB, and
    `signing.InvalidJwks` when it is not a JWKS of Ed25519 public keys.
    """
    return LicenseVerifier.from_jwks(_read_limited(path, _MAX_JWKS_FILE_BYTES, "JWKS file"))
