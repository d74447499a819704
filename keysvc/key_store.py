"""Where `keysvc serve` keeps its signing key: ``<data-dir>/keys/``.

The private key is an encrypted PKCS#8 PEM (mode 0600) written by `signing`,
made on first start. Its passphrase comes from the configuration; when none is
configured (the embedded default) the key is a *development* key: a random
passphrase is kept beside it and every start warns loudly. Good for trying
the service, never for keys given to customers.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from keysvc.config import ConfigError, Settings
from signing import (
    KeyRing,
    SigningKey,
    load_private_key,
    passphrase_from_text,
    read_passphrase_file,
    save_private_key,
)

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "signing-key.pem"
DEV_PASSPHRASE_FILE_NAME = "dev-passphrase"  # noqa: S105 - a file name, not a secret


def open_key_ring(settings: Settings) -> KeyRing:
    """Loads the signing key from the data folder, creating it on first start."""
    keys_dir = settings.data_dir / "keys"
    key_file = keys_dir / KEY_FILE_NAME
    passphrase = _passphrase(settings, keys_dir)
    if key_file.exists():
        key = load_private_key(key_file, passphrase)
    else:
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = SigningKey.generate()
        save_private_key(key_file, key, passphrase)
        logger.info("created signing key", extra={"kid": key.kid, "path": str(key_file)})
    if settings.uses_development_key:
        logger.warning(
            "DEVELOPMENT signing key in use: its passphrase is stored beside it, so keys it "
            "signs are for trying keysvc only; for production set "
            "KEYSVC_SIGNING_KEY_PASSPHRASE or KEYSVC_SIGNING_KEY_PASSPHRASE_FILE",
            extra={"kid": key.kid, "path": str(key_file)},
        )
    return KeyRing(key)


def _passphrase(settings: Settings, keys_dir: Path) -> bytes:
    if settings.signing_passphrase is not None:
        return passphrase_from_text(settings.signing_passphrase)
    if settings.signing_passphrase_file is not None:
        return read_passphrase_file(settings.signing_passphrase_file)
    dev_file = keys_dir / DEV_PASSPHRASE_FILE_NAME
    if not dev_file.exists():
        if (keys_dir / KEY_FILE_NAME).exists():
            raise ConfigError(
                f"{keys_dir / KEY_FILE_NAME} exists but no passphrase is configured: set "
                "KEYSVC_SIGNING_KEY_PASSPHRASE or KEYSVC_SIGNING_KEY_PASSPHRASE_FILE"
            )
        _write_owner_only(dev_file, secrets.token_urlsafe(32) + "\n")
    return read_passphrase_file(dev_file)


def _write_owner_only(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
