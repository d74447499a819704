"""The key ring: one active signing key and the retired keys that still verify."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from signing.claims import LicenseClaims
from signing.keys import SigningKey, VerifyingKey
from signing.license_key import LicenseVerifier, sign_license

__all__ = ["KeyRing"]


class KeyRing:
    """Signs with ``active``; verifies with ``active`` and every ``retired`` key.

    Retiring a key keeps the keys it signed valid: move it from active to
    retired when a new key takes over. A retired key equal to the active one is
    listed once.
    """

    __slots__ = ("_verifier", "_verifying_keys", "active")

    def __init__(self, active: SigningKey, retired: Iterable[VerifyingKey] = ()) -> None:
        """Build a ring from the active key and the retired public keys."""
        self.active = active
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
        """Return the JWKS to publish: ``{"keys": [...]}``, active first; never private parts."""
        return {"keys": [key.to_jwk() for key in self._verifying_keys.values()]}

    def jwks_json(self) -> str:
        """Return `jwks` as JSON text, indented for people who read the exported file."""
        return json.dumps(self.jwks(), indent=2) + "\n"

    def sign_license(self, claims: LicenseClaims) -> str:
        """Return the license key for ``claims`` signed with the active key."""
        return sign_license(self.active, claims)

    def verifier(self) -> LicenseVerifier:
        """Return a verifier that trusts every key of the ring."""
        return self._verifier

    def __repr__(self) -> str:
        return f"KeyRing(active={self.active.kid!r}, kids={list(self._verifying_keys)!r})"
