"""Ed25519 signing and verifying keys, each named by its RFC 7638 thumbprint."""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from signing.errors import InvalidJwks
from signing.jwk import ED25519_PUBLIC_KEY_SIZE, jwk_thumbprint, parse_public_jwk, public_jwk

__all__ = ["SigningKey", "VerifyingKey"]

_ED25519_SEED_SIZE = 32


class VerifyingKey:
    """An Ed25519 public key.

    ``kid`` is its RFC 7638 thumbprint. Two instances are equal when they hold
    the same public key.
    """

    __slots__ = ("_key", "_public_bytes", "kid")

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        """Wrap a `cryptography` Ed25519 public key."""
        self._key = public_key
        self._public_bytes = public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.kid: str = jwk_thumbprint(self._public_bytes)

    @classmethod
    def from_public_bytes(cls, raw: bytes) -> VerifyingKey:
        """Build from the raw 32-byte public key; `ValueError` on another size."""
        if len(raw) != ED25519_PUBLIC_KEY_SIZE:
            raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, object]) -> VerifyingKey:
        """Build from a public JWK; `InvalidJwks` unless it is exactly an Ed25519 public key.

        See `signing.jwk.parse_public_jwk` for the rules.
        """
        raw = parse_public_jwk(jwk)
        try:
            return cls.from_public_bytes(raw)
        except ValueError as exc:
            raise InvalidJwks(f"JWK 'x' is not an Ed25519 public key: {exc}") from None

    def public_bytes(self) -> bytes:
        """Return the raw 32-byte public key (the JWK ``x`` before base64url)."""
        return self._public_bytes

    def public_pem(self) -> bytes:
        """Return the SubjectPublicKeyInfo PEM, as ``openssl pkeyutl -pubin`` reads it."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def to_jwk(self, alg: str | None = "EdDSA") -> dict[str, str]:
        """Return the public JWK: kty, crv, x, kid, alg (``EdDSA``), use ``sig``; never ``d``.

        ``alg=None`` leaves ``alg`` out; see `signing.jwk.public_jwk` for why.
        """
        return public_jwk(self._public_bytes, alg)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Return whether ``signature`` is a valid Ed25519 signature of ``data``.

        Never raises for a bad signature, so callers choose their own error.
        """
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyingKey):
            return NotImplemented
        return self._public_bytes == other._public_bytes

    def __hash__(self) -> int:
        return hash(self._public_bytes)

    def __repr__(self) -> str:
        return f"VerifyingKey(kid={self.kid!r})"


class SigningKey:
    """An Ed25519 private key. Its ``repr`` shows only the ``kid``."""

    __slots__ = ("_key", "verifying_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a `cryptography` Ed25519 private key."""
        self._key = private_key
        self.verifying_key: VerifyingKey = VerifyingKey(private_key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a new random key from the operating system's CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> SigningKey:
        """Build from a raw 32-byte seed (RFC 8032 private key), as test vectors store it."""
        if len(raw) != _ED25519_SEED_SIZE:
            raise ValueError(f"an Ed25519 private key is 32 bytes, got {len(raw)}")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the public key."""
        return self.verifying_key.kid

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The wrapped `cryptography` key, for serialisation by `signing.keystore`."""
        return self._key

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``data`` (deterministic)."""
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"
