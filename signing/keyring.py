"""The key ring: one active signing key and the retired keys that still verify."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from signing.claims import LicenseClaims
from signing.keys import SigningKey, VerifyingKey
from signing.license_key import ALGORITHM, Algorithm, LicenseVerifier, check_algorithm, sign_license
from signing.status_list import build_status_list_token

__all__ = ["KeyRing"]


class KeyRing:
    """Signs with ``active``; verifies with ``active`` and every ``retired`` key.

    Retiring a key keeps the keys it signed valid: move it from active to
    retired when a new key takes over. A retired key equal to the active one is
    listed once. ``alg`` is the name license keys and status lists are signed
    under: ``EdDSA`` (the default) or RFC 9864's ``Ed25519``; either verifies.
    """

    __slots__ = ("_verifier", "_verifying_keys", "active", "alg")

    def __init__(
        self,
        active: SigningKey,
        retired: Iterable[VerifyingKey] = (),
        *,
        alg: Algorithm = ALGORITHM,
    ) -> None:
        """Build a ring from the active key and the retired keys; `ValueError` for ``alg``."""
        self.active = active
        self.alg: Algorithm = check_algorithm(alg)
        keys = {active.kid: active.verifying_key}
        for key in retired:
            keys.setdefault(key.kid, key)
        self._verifying_keys = MappingProxyType(keys)
        self._verifier = LicenseVerifier(keys.values())

    @property
    def verifying_keys(self) -> Mapping[str, VerifyingKey]:
        """Every key that verifies, by ``kid``, the active key first."""
        return self._verifying_keys

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the JWKS to publish: ``{"keys": [...]}``, active first; never private parts.

        Under ``EdDSA`` each key says ``"alg":"EdDSA"``. Under ``Ed25519`` the keys
        carry no ``alg``: libraries that bind a key to its ``alg`` (joserfc) then
        verify both the keys signed before the switch (``EdDSA``) and after it.
        """
        alg = "EdDSA" if self.alg == "EdDSA" else None
        return {"keys": [key.to_jwk(alg) for key in self._verifying_keys.values()]}

    def jwks_json(self) -> str:
        """Return `jwks` as JSON text, indented for people who read the exported file."""
        return json.dumps(self.jwks(), indent=2) + "\n"

    def sign_license(self, claims: LicenseClaims) -> str:
        """Return the license key for ``claims`` signed with the active key under ``alg``."""
        return sign_license(self.active, claims, alg=self.alg)

    def sign_status_list(
        self,
        statuses: bytes | bytearray | memoryview | Sequence[int],
        *,
        uri: str,
        issued_at: int,
        expires_at: int,
        ttl: int,
    ) -> str:
        """Return the Status List Token for ``statuses`` signed with the active key under ``alg``.

        See `signing.status_list.build_status_list_token` for the arguments.
        """
        return build_status_list_token(
            statuses,
            uri=uri,
            issued_at=issued_at,
            expires_at=expires_at,
            ttl=ttl,
            signing_key=self.active,
            alg=self.alg,
        )

    def verifier(self) -> LicenseVerifier:
        """Return a verifier that trusts every key of the ring."""
        return self._verifier

    def __repr__(self) -> str:
        return (
            f"KeyRing(active={self.active.kid!r}, kids={list(self._verifying_keys)!r}, "
            f"alg={self.alg!r})"
        )
