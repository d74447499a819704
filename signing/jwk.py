"""Ed25519 public keys as JWK (RFC 7517, RFC 8037) and their RFC 7638 thumbprints."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from signing.b64 import b64url_decode, b64url_encode
from signing.errors import InvalidJwks

__all__ = ["ED25519_PUBLIC_KEY_SIZE", "jwk_thumbprint", "parse_public_jwk", "public_jwk"]

ED25519_PUBLIC_KEY_SIZE = 32


def jwk_thumbprint(public_bytes: bytes) -> str:
    """Return the RFC 7638 thumbprint of an Ed25519 public key (base64url SHA-256).

    The hash input is the required members in lexicographic order with no
    whitespace: ``{"crv":"Ed25519","kty":"OKP","x":"<x>"}``.
    """
    x = b64url_encode(public_bytes)
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + x + '"}'
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(public_bytes: bytes, alg: str | None = "EdDSA") -> dict[str, str]:
    """Return the public JWK of an Ed25519 key, its thumbprint as ``kid``.

    ``alg`` is written when given; None leaves it out (RFC 7517 makes it optional),
    which lets strict libraries verify both ``EdDSA`` and ``Ed25519`` signatures
    with the key: joserfc refuses a JWS whose ``alg`` differs from the key's.
    """
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(public_bytes),
        "kid": jwk_thumbprint(public_bytes),
    }
    if alg is not None:
        jwk["alg"] = alg
    jwk["use"] = "sig"
    return jwk


def _require(jwk: Mapping[str, object], name: str, *expected: str) -> None:
    if name in jwk and jwk[name] not in expected:
        allowed = " or ".join(repr(value) for value in expected)
        raise InvalidJwks(f"JWK {name!r} must be {allowed}, got {jwk[name]!r}")


def parse_public_jwk(jwk: Mapping[str, object]) -> bytes:
    """Return the raw 32-byte public key of an Ed25519 public JWK, or raise `InvalidJwks`.

    Requires ``kty`` ``OKP``, ``crv`` ``Ed25519`` and a strict base64url ``x``
    of 32 bytes; refuses a private key (``d``); when present, ``kid`` must be the
    RFC 7638 thumbprint, ``alg`` ``EdDSA`` or ``Ed25519`` and ``use`` ``sig``. Other members are
    ignored, as RFC 7517 asks.
    """
    if not isinstance(jwk, Mapping):
        raise InvalidJwks("JWK must be a JSON object")
    if "d" in jwk:
        # Refused before anything else so no later message can echo private material.
        raise InvalidJwks("JWK contains a private key ('d'); publish public keys only")
    for name in ("kty", "crv", "x"):
        if name not in jwk:
            raise InvalidJwks(f"JWK lacks the {name!r} member")
    _require(jwk, "kty", "OKP")
    _require(jwk, "crv", "Ed25519")
    # Both names of Ed25519 signatures: RFC 8037's EdDSA and RFC 9864's Ed25519.
    _require(jwk, "alg", "EdDSA", "Ed25519")
    _require(jwk, "use", "sig")
    x = jwk["x"]
    if not isinstance(x, str):
        raise InvalidJwks("JWK 'x' must be a string")
    try:
        public_bytes = b64url_decode(x)
    except ValueError as exc:
        raise InvalidJwks(f"JWK 'x' is not strict base64url: {exc}") from None
    if len(public_bytes) != ED25519_PUBLIC_KEY_SIZE:
        raise InvalidJwks(f"JWK 'x' must be 32 bytes, got {len(public_bytes)}")
    if "kid" in jwk:
        kid = jwk["kid"]
        thumbprint = jwk_thumbprint(public_bytes)
        if kid != thumbprint:
            raise InvalidJwks(f"JWK 'kid' {kid!r} is not its RFC 7638 thumbprint {thumbprint!r}")
    return public_bytes
