"""License keys: JWS compact serialization (RFC 7515) signed with EdDSA/Ed25519 (RFC 8037).

RFC 9864 registers ``Ed25519`` as the fully-specified name of the same algorithm and
deprecates the polymorphic ``EdDSA``: verifying accepts both, signing writes the name
it is given (``EdDSA`` by default, which every deployed JOSE library knows).

A key is ``b64(header) "." b64(payload) "." b64(signature)``. `sign_license`
writes one; `LicenseVerifier.verify` reads one strictly, in this order, each
step with its own error:

1. more than 4096 bytes (UTF-8)                          `KeyTooLarge`
2. ASCII whitespace removed (e-mail wrapping); then not
   ASCII, or not three non-empty strict base64url parts  `MalformedKey`
3. header not exactly alg EdDSA or Ed25519, a kid,
   typ license+jwt                                       `UnsupportedHeader`
4. kid not among the verifier's keys                     `UnknownKeyId`
5. signature not 64 bytes or not valid                   `BadSignature`
6. payload not a JSON object with the required claims    `InvalidClaims`
   a ``status`` claim present but malformed              `InvalidStatusClaim`
7. fingerprint given and its hash differs from ``fph``   `FingerprintMismatch`
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from signing._json import dumps_compact, loads_object
from signing.b64 import b64url_decode, b64url_encode
from signing.claims import LicenseClaims, StatusClaimValueError
from signing.errors import (
    BadSignature,
    FingerprintMismatch,
    InvalidClaims,
    InvalidJwks,
    InvalidStatusClaim,
    KeyTooLarge,
    MalformedKey,
    UnknownKeyId,
    UnsupportedHeader,
)
from signing.fingerprint import fingerprint_hash
from signing.keys import SigningKey, VerifyingKey

__all__ = [
    "ALGORITHM",
    "ALGORITHMS",
    "MAX_LICENSE_KEY_BYTES",
    "TYPE",
    "Algorithm",
    "LicenseVerifier",
    "VerifiedLicense",
    "sign_license",
]

Algorithm = Literal["EdDSA", "Ed25519"]
# The name new keys are signed with unless another is chosen.
ALGORITHM: Algorithm = "EdDSA"
# Both names of Ed25519 signatures (RFC 8037, RFC 9864), accepted in every header.
ALGORITHMS: tuple[Algorithm, ...] = ("EdDSA", "Ed25519")
TYPE = "license+jwt"
MAX_LICENSE_KEY_BYTES = 4096

_SIGNATURE_SIZE = 64
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})
_ASCII_WHITESPACE = b" \t\r\n\x0c\x0b"


def check_algorithm(alg: object) -> Algorithm:
    """Return ``alg`` if it is ``EdDSA`` or ``Ed25519``; raise `ValueError` otherwise."""
    if alg == "EdDSA":
        return "EdDSA"
    if alg == "Ed25519":
        return "Ed25519"
    raise ValueError(f"alg must be 'EdDSA' or 'Ed25519', got {alg!r}")


def _header_segment(kid: str, typ: str, alg: Algorithm = ALGORITHM) -> bytes:
    """Return base64url of the exact header bytes this package writes.

    ``{"alg":"<alg>","kid":"<kid>","typ":"<typ>"}``: members in this order, no spaces.
    """
    header = '{"alg":"' + alg + '","kid":"' + kid + '","typ":"' + typ + '"}'
    return b64url_encode(header.encode("ascii")).encode("ascii")


def sign_license(key: SigningKey, claims: LicenseClaims, *, alg: Algorithm = ALGORITHM) -> str:
    """Return the compact license key for ``claims`` signed by ``key``.

    The header is exactly ``{"alg":"<alg>","kid":"<kid>","typ":"license+jwt"}``
    with ``alg`` ``EdDSA`` (the default) or ``Ed25519`` (RFC 9864); the payload
    compact JSON (UTF-8), with the ``status`` claim when ``claims.status`` is
    set. Ed25519 is deterministic: the same key, claims and ``alg`` always give
    the same text. `ValueError` for another ``alg``.
    """
    header = _header_segment(key.kid, TYPE, check_algorithm(alg))
    payload = dumps_compact(claims.to_payload()).encode("utf-8")
    signing_input = header + b"." + b64url_encode(payload).encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url_encode(key.sign(signing_input))}"


@dataclass(frozen=True, slots=True)
class VerifiedLicense:
    """A license key that passed every check: its claims and the ``kid`` that signed it."""

    claims: LicenseClaims
    kid: str


def _to_ascii_bytes(text: object) -> bytes:
    """Apply the size limit, then return the key text as ASCII bytes without whitespace."""
    if isinstance(text, str):
        # A character takes at least one UTF-8 byte, so a long text is too large unencoded;
        # lone surrogates (not UTF-8 at all) count the three bytes they would take.
        size = len(text)
        if size <= MAX_LICENSE_KEY_BYTES and not text.isascii():
            size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_LICENSE_KEY_BYTES:
            raise KeyTooLarge(f"license key is {size} bytes; at most 4096 are accepted")
        if not text.isascii():
            raise MalformedKey("license key contains non-ASCII characters")
        data = text.encode("ascii")
    elif isinstance(text, bytes | bytearray | memoryview):
        data = bytes(text)
        if len(data) > MAX_LICENSE_KEY_BYTES:
            raise KeyTooLarge(f"license key is {len(data)} bytes; at most 4096 are accepted")
        if not data.isascii():
            raise MalformedKey("license key contains non-ASCII bytes")
    else:
        raise MalformedKey(f"license key must be str or bytes, not {type(text).__name__}")
    return data.translate(None, _ASCII_WHITESPACE)


def _split(text: bytes) -> tuple[bytes, bytes, bytes]:
    """Return the three segments as written (they make the signing input)."""
    if not text:
        raise MalformedKey("license key is empty")
    parts = text.split(b".")
    if len(parts) != 3:
        raise MalformedKey(f"license key must have 3 dot-separated parts, got {len(parts)}")
    return parts[0], parts[1], parts[2]


def _decode_part(name: str, part: bytes) -> bytes:
    """Decode one segment, or raise `MalformedKey` naming it."""
    if not part:
        raise MalformedKey(f"license key {name} part is empty")
    try:
        return b64url_decode(part)
    except ValueError as exc:
        raise MalformedKey(f"license key {name} part is not strict base64url: {exc}") from None


def _header_kid(header: bytes) -> str:
    try:
        members = loads_object(header)
    except ValueError as exc:
        raise UnsupportedHeader(f"license key header is not a JSON object: {exc}") from None
    if members.keys() != _HEADER_MEMBERS:
        names = ", ".join(sorted(members))
        raise UnsupportedHeader(f"license key header must have exactly alg, kid, typ; has {names}")
    if members["alg"] not in ALGORITHMS:
        raise UnsupportedHeader(
            f"license key header alg must be EdDSA or Ed25519, got {members['alg']!r}"
        )
    if members["typ"] != TYPE:
        raise UnsupportedHeader(f"license key header typ must be {TYPE}, got {members['typ']!r}")
    kid = members["kid"]
    if not isinstance(kid, str) or not kid:
        raise UnsupportedHeader("license key header kid must be a non-empty string")
    return kid


class LicenseVerifier:
    """Verifies license keys offline against a fixed set of Ed25519 public keys.

    Build one per key set and reuse it: it keeps the parsed keys and the header
    each key writes, so verifying costs little more than the signature check.
    """

    __slots__ = ("_by_header", "_keys")

    def __init__(self, keys: Iterable[VerifyingKey]) -> None:
        """Trust ``keys``; a key listed twice is kept once."""
        self._keys: dict[str, VerifyingKey] = {key.kid: key for key in keys}
        # Keys from this package carry one exact header per kid and alg name;
        # recognising it spares a JSON parse. Other spellings take the full path.
        self._by_header: dict[bytes, VerifyingKey] = {
            _header_segment(kid, TYPE, alg): key
            for kid, key in self._keys.items()
            for alg in ALGORITHMS
        }

    @classmethod
    def from_jwks(cls, document: str | bytes | Mapping[str, Any]) -> LicenseVerifier:
        """Trust the keys of a JWKS given as JSON text or as a parsed mapping.

        Raises `InvalidJwks` unless it is an object whose ``keys`` is a non-empty
        list of Ed25519 public JWKs (see `VerifyingKey.from_jwk`) with distinct
        ``kid`` values.
        """
        if isinstance(document, str | bytes):
            try:
                document = loads_object(document)
            except ValueError as exc:
                raise InvalidJwks(f"JWKS is not a JSON object: {exc}") from None
        if not isinstance(document, Mapping):
            raise InvalidJwks("JWKS must be a JSON object")
        entries = document.get("keys")
        if not isinstance(entries, list) or not entries:
            raise InvalidJwks("JWKS must have a non-empty 'keys' list")
        keys: list[VerifyingKey] = []
        seen: set[str] = set()
        for entry in entries:
            key = VerifyingKey.from_jwk(entry)
            if key.kid in seen:
                raise InvalidJwks(f"JWKS lists kid {key.kid!r} more than once")
            seen.add(key.kid)
            keys.append(key)
        return cls(keys)

    @property
    def keys(self) -> Mapping[str, VerifyingKey]:
        """The trusted keys by ``kid``."""
        return dict(self._keys)

    def verify(self, text: str | bytes, fingerprint: str | None = None) -> VerifiedLicense:
        """Check a license key and return its claims, or raise a `LicenseKeyError`.

        ``text`` may be wrapped or indented (ASCII whitespace is removed). When
        ``fingerprint`` is given, the key must have been issued for it
        (`FingerprintMismatch`); a fingerprint that breaks the rules raises
        `InvalidFingerprint`. No input makes this raise anything but a
        `SigningError`. The order of checks is in the module docstring.
        """
        header_b64, payload_b64, signature_b64 = _split(_to_ascii_bytes(text))
        key = self._by_header.get(header_b64)
        # A header a trusted key writes is strict base64url already: it is not decoded. The
        # other parts are decoded first all the same, so a malformed key is MalformedKey.
        header = None if key is not None else _decode_part("header", header_b64)
        payload = _decode_part("payload", payload_b64)
        signature = _decode_part("signature", signature_b64)
        if key is None:
            assert header is not None, "an unknown header is decoded"
            kid = _header_kid(header)
            key = self._keys.get(kid)
            if key is None:
                raise UnknownKeyId(kid)
        if len(signature) != _SIGNATURE_SIZE:
            raise BadSignature(f"license key signature must be 64 bytes, got {len(signature)}")
        if not key.verify(signature, header_b64 + b"." + payload_b64):
            raise BadSignature(f"license key signature does not verify with kid {key.kid!r}")
        try:
            claims = LicenseClaims.from_payload(loads_object(payload))
        except StatusClaimValueError as exc:
            raise InvalidStatusClaim(f"license key status claim is invalid: {exc}") from None
        except ValueError as exc:
            raise InvalidClaims(f"license key claims are invalid: {exc}") from None
        if fingerprint is not None and not hmac.compare_digest(
            fingerprint_hash(fingerprint), claims.fingerprint_hash
        ):
            raise FingerprintMismatch("license key was issued for a different server fingerprint")
        return VerifiedLicense(claims=claims, kid=key.kid)
