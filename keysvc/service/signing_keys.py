"""The service's signing keys: kept in the database, shared by every replica.

Each key is stored with its public part in the clear and its private part as a
PKCS#8 PEM encrypted with the operators' passphrase (from
``KEYSVC_SIGNING_KEY_PASSPHRASE`` or ``KEYSVC_SIGNING_KEY_PASSPHRASE_FILE``).
Every replica configured with the same database and passphrase signs with the
same active key; a rotation by any of them is seen by the others at their next
signature, because the active kid is read in the signing transaction.

With no passphrase configured (the embedded default) the key is a *development*
key: a random passphrase is kept in ``<data-dir>/keys/`` and every start warns.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from keysvc.config import ConfigError, Settings
from keysvc.domain.records import StoredSigningKey
from keysvc.persistence.signing_key_repository import active_kid, add_active_key, list_signing_keys
from scheduler.clock import Clock
from signing import (
    ALGORITHM,
    Algorithm,
    KeyRing,
    SigningKey,
    check_algorithm,
    decrypt_private_key,
    encrypt_private_key,
    passphrase_from_text,
    read_passphrase_file,
)

logger = logging.getLogger(__name__)

DEV_PASSPHRASE_FILE_NAME = "dev-passphrase"  # noqa: S105 - a file name, not a secret


def signing_passphrase(settings: Settings) -> bytes:
    """The passphrase of the stored private keys, making a development one if allowed."""
    if not settings.uses_development_key:
        if settings.signing_passphrase is not None:
            return passphrase_from_text(settings.signing_passphrase)
        assert settings.signing_passphrase_file is not None, "one source is configured"
        return read_passphrase_file(settings.signing_passphrase_file)
    if settings.database_url is not None:
        raise ConfigError(
            "KEYSVC_DATABASE_URL is set, so replicas share the signing keys: set "
            "KEYSVC_SIGNING_KEY_PASSPHRASE or KEYSVC_SIGNING_KEY_PASSPHRASE_FILE"
        )
    dev_file = settings.data_dir / "keys" / DEV_PASSPHRASE_FILE_NAME
    if not dev_file.exists():
        _write_owner_only(dev_file, secrets.token_urlsafe(32) + "\n")
    logger.warning(
        "DEVELOPMENT signing key in use: its passphrase is stored in the data folder, so "
        "keys it signs are for trying keysvc only; for production set "
        "KEYSVC_SIGNING_KEY_PASSPHRASE or KEYSVC_SIGNING_KEY_PASSPHRASE_FILE",
        extra={"passphrase_file": str(dev_file)},
    )
    return read_passphrase_file(dev_file)


@dataclass(frozen=True, slots=True)
class _Cached:
    kid: str
    key_ring: KeyRing


class SigningKeys:
    """Makes, rotates and loads the signing keys stored in the database."""

    def __init__(
        self, engine: Engine, passphrase: bytes, clock: Clock, *, alg: Algorithm = ALGORITHM
    ) -> None:
        """`alg` is the JOSE name new keys and lists are signed with (RFC 9864:
        ``EdDSA`` or ``Ed25519``, KEYSVC_SIGNING_ALG)."""
        self._engine = engine
        self._passphrase = passphrase
        self._clock = clock
        self.alg: Algorithm = check_algorithm(alg)
        self._cached: _Cached | None = None
        self._lock = threading.Lock()

    def ensure_active_key(self) -> str:
        """Makes the first key if the database has none; returns the active kid.

        Safe when several replicas start at once: the database admits one active
        key, so a replica that loses the race uses the winner's.
        """
        with self._engine.begin() as connection:
            kid = active_kid(connection)
        if kid is not None:
            return kid
        try:
            with self._engine.begin() as connection:
                created = self.rotate(connection)
            logger.info("created the first signing key", extra={"kid": created})
        except IntegrityError:
            pass
        with self._engine.begin() as connection:
            kid = active_kid(connection)
        assert kid is not None, "an active signing key exists after creating one"
        return kid

    def rotate(self, connection: Connection) -> str:
        """Makes a new active key within the caller's transaction, retiring the old one.

        Returns the new kid. Keys already issued stay valid: the retired public
        key stays published.
        """
        key = SigningKey.generate()
        pem = encrypt_private_key(key, self._passphrase)
        add_active_key(connection, key.verifying_key, pem, self._clock.now())
        return key.kid

    @staticmethod
    def published(connection: Connection) -> list[StoredSigningKey]:
        """Every key whose public part is published, the active one first."""
        return list_signing_keys(connection)

    def key_ring(self, connection: Connection) -> KeyRing:
        """The key ring with the currently active key, reloaded when another replica rotated."""
        kid = active_kid(connection)
        cached = self._cached
        if cached is not None and cached.kid == kid:
            return cached.key_ring
        with self._lock:
            stored = list_signing_keys(connection)
            active = next(key for key in stored if key.active)
            ring = KeyRing(
                decrypt_private_key(active.private_key_pem, self._passphrase),
                [key.verifying_key for key in stored if not key.active],
                alg=self.alg,
            )
            self._cached = _Cached(active.kid, ring)
        return ring


def jwks_json(keys: list[StoredSigningKey], alg: Algorithm = ALGORITHM) -> str:
    """The JWKS document (RFC 7517) of these keys, in the order given (active first):
    what `ListSigningKeys` answers, the status listener serves at
    ``/.well-known/jwks.json`` and ``keysvc status export`` writes. Under ``EdDSA``
    each key names it; under ``Ed25519`` the keys name no ``alg``, so that libraries
    binding a key to its ``alg`` accept both names (`signing.KeyRing.jwks`)."""
    jwk_alg = "EdDSA" if alg == "EdDSA" else None
    return json.dumps(
        {"keys": [key.verifying_key.to_jwk(jwk_alg) for key in keys]}, separators=(",", ":")
    )


def _write_owner_only(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
