"""Private keys in passphrase-encrypted PKCS#8 PEM files, and passphrases.

Files holding secrets must be private to their owner: like OpenSSH, loading
refuses any file whose mode grants the group or others any access. Nothing
here reads environment variables; callers pass the values in.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from signing.errors import BadPassphrase, InsecureKeyFile, KeyStoreError
from signing.keys import SigningKey

__all__ = [
    "decrypt_private_key",
    "encrypt_private_key",
    "load_private_key",
    "passphrase_from_text",
    "read_passphrase_file",
    "save_private_key",
]

_PRIVATE_MODE = 0o600
_GROUP_OTHER_BITS = 0o077
_ENCRYPTED_PEM_BEGIN = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def _check_passphrase(passphrase: bytes) -> None:
    if not passphrase:
        raise BadPassphrase("passphrase is empty")


def encrypt_private_key(key: SigningKey, passphrase: bytes) -> bytes:
    """Return ``key`` as PKCS#8 PEM encrypted with ``passphrase``.

    Uses `cryptography`'s ``BestAvailableEncryption``, which ``openssl pkey``
    also reads. Raises `BadPassphrase` when the passphrase is empty.
    """
    _check_passphrase(passphrase)
    return key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def decrypt_private_key(pem: bytes, passphrase: bytes) -> SigningKey:
    """Decrypt an encrypted PKCS#8 PEM made by `encrypt_private_key`.

    Raises `BadPassphrase` when the passphrase is empty or wrong, and
    `KeyStoreError` when the PEM is unencrypted, unreadable or not Ed25519.
    """
    _check_passphrase(passphrase)
    try:
        private_key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError:
        # cryptography raises TypeError when a password is given for an unencrypted key.
        raise KeyStoreError("private key PEM is not encrypted; refusing it") from None
    except ValueError:
        # A wrong passphrase and a damaged file raise the same ValueError; the PEM
        # label is the best remaining hint of which one it was.
        if _ENCRYPTED_PEM_BEGIN in pem:
            raise BadPassphrase("wrong passphrase, or damaged encrypted private key") from None
        raise KeyStoreError("not a PEM-encoded PKCS#8 private key") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyStoreError(f"private key is {type(private_key).__name__}, not Ed25519")
    return SigningKey(private_key)


def _read_private_file(path: Path) -> bytes:
    """Read a secret file, refusing it when group or others have any access."""
    try:
        # O_NOFOLLOW and fstat on the open descriptor: the mode checked is the mode of
        # the file read, with no window to swap it in between.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise KeyStoreError(f"cannot open {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyStoreError(f"{path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & _GROUP_OTHER_BITS:
            raise InsecureKeyFile(
                f"{path} has mode {mode:04o}; it must not be accessible by group or others "
                f"(chmod 600 {path})"
            )
        return file.read()


def save_private_key(path: Path, key: SigningKey, passphrase: bytes) -> None:
    """Write ``key`` encrypted with ``passphrase`` to ``path``, mode 0600, atomically.

    The PEM goes to a new file in the same directory, created 0600, synced, then
    renamed over ``path``: readers see the old key or the new one, never a part.
    """
    pem = encrypt_private_key(key, passphrase)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _PRIVATE_MODE)
    except OSError as exc:
        raise KeyStoreError(f"cannot create a file next to {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            # The umask may have narrowed the mode further; the key file must be exactly 0600.
            os.fchmod(file.fileno(), _PRIVATE_MODE)
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable across a crash.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_private_key(path: Path, passphrase: bytes) -> SigningKey:
    """Load and decrypt a private key file written by `save_private_key`.

    Raises `InsecureKeyFile` when the file mode grants group or others any
    access (mode & 0o077), `BadPassphrase` for a wrong passphrase and
    `KeyStoreError` when the file cannot be read or decoded.
    """
    return decrypt_private_key(_read_private_file(path), passphrase)


def read_passphrase_file(path: Path) -> bytes:
    """Return the passphrase stored in ``path`` without one trailing newline.

    Same permission rule as `load_private_key` (`InsecureKeyFile`);
    `BadPassphrase` when nothing is left.
    """
    data = _read_private_file(path)
    for newline in (b"\r\n", b"\n"):
        if data.endswith(newline):
            data = data[: -len(newline)]
            break
    _check_passphrase(data)
    return data


def passphrase_from_text(text: str) -> bytes:
    """Return the UTF-8 bytes of a passphrase given as text (an environment value, say).

    Raises `BadPassphrase` when it is empty.
    """
    # os.environ carries undecodable bytes as surrogate escapes; give those bytes back.
    passphrase = text.encode("utf-8", "surrogateescape")
    _check_passphrase(passphrase)
    return passphrase
