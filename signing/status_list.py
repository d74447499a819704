"""Status List Tokens (draft-ietf-oauth-status-list, JWT form): build, verify, check a key.

A Status List Token is a JWS in compact serialization, like a license key, with
the header ``{"alg":"EdDSA","kid":"<kid>","typ":"statuslist+jwt"}`` (``alg``
``Ed25519`` when so chosen; both are accepted) and the claims::

    {"sub": "<uri>", "iat": 1795305600, "exp": 1795392000, "ttl": 3600,
     "status_list": {"bits": 2, "lst": "<base64url(ZLIB(bytes))>"}}

Entry ``i`` is bits ``2i .. 2i+1`` of the byte array, counted from the least
significant bit of byte ``i // 4``; its value is a `StatusValue`. A key names
its entry with its ``status`` claim (`signing.claims.StatusReference`).

`parse_status_list_token` reads a token strictly, in this order, each step with
its own error:

1. more than `MAX_STATUS_LIST_TOKEN_BYTES` (UTF-8)           `StatusListTooLarge`
2. surrounding ASCII whitespace removed; then not ASCII, or
   not three non-empty strict base64url parts                `MalformedStatusList`
3. header not exactly alg EdDSA or Ed25519, a kid,
   typ statuslist+jwt                                        `UnsupportedStatusListHeader`
4. kid not among the published keys given                    `UnknownStatusListKeyId`
5. signature not 64 bytes or not valid                       `StatusListBadSignature`
6. payload not a JSON object with sub, iat, exp, ttl and
   status_list {bits: 2, lst} of the right types             `InvalidStatusListClaims`
7. sub not the URI expected                                  `StatusListSubjectMismatch`
8. lst not strict base64url of one complete ZLIB stream      `StatusListBadEncoding`
9. lst inflating past `MAX_STATUS_LIST_BYTES`                `StatusListInflatesTooLarge`

Step 9 stops inflating one byte past the bound, so a small token that would
inflate to gigabytes (a "zip bomb") costs no more than a list at the bound.
Expiry is not a parse error: `check_status` reports a list past its ``exp`` as
`StatusOutcome.STALE`, so a product can tell "fetch a fresh list" from "forged".
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signing._json import dumps_compact, loads_object
from signing.b64 import b64url_decode, b64url_encode
from signing.claims import MAX_STATUS_LIST_ENTRIES, check_status_uri
from signing.errors import (
    InvalidStatusListClaims,
    MalformedStatusList,
    StatusIndexOutOfRange,
    StatusListBadEncoding,
    StatusListBadSignature,
    StatusListInflatesTooLarge,
    StatusListNotTheKeys,
    StatusListSubjectMismatch,
    StatusListTooLarge,
    UnknownStatusListKeyId,
    UnsupportedStatusListHeader,
)
from signing.keys import SigningKey, VerifyingKey
from signing.license_key import (
    ALGORITHM,
    ALGORITHMS,
    Algorithm,
    LicenseVerifier,
    VerifiedLicense,
    _header_segment,
    check_algorithm,
)

__all__ = [
    "MAX_STATUS_LIST_BYTES",
    "MAX_STATUS_LIST_TOKEN_BYTES",
    "STATUS_LIST_BITS",
    "STATUS_LIST_TYPE",
    "StatusList",
    "StatusOutcome",
    "StatusValue",
    "build_status_list_token",
    "check_status",
    "pack_statuses",
    "parse_status_list_token",
]

STATUS_LIST_TYPE = "statuslist+jwt"
STATUS_LIST_BITS = 2
# Four two-bit entries a byte: the largest list, 2**22 entries, is 1 MiB decompressed.
MAX_STATUS_LIST_BYTES = MAX_STATUS_LIST_ENTRIES // 4
# Even a list at the bound whose entries are random (ZLIB cannot shrink it) makes a
# token of about 1.4 MB: 2 MiB refuses no list `build_status_list_token` can write.
MAX_STATUS_LIST_TOKEN_BYTES = 2 * 1024 * 1024

_MAX_SAFE_INTEGER = 2**53 - 1
_SIGNATURE_SIZE = 64
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})
_CLAIM_NAMES = ("sub", "iat", "exp", "ttl", "status_list")
_ASCII_WHITESPACE = b" \t\r\n\x0c\x0b"
_TWO_BIT_VALUES = bytes(range(4))


class StatusValue(enum.IntEnum):
    """The value of one entry of a list (SPEC 5a)."""

    VALID = 0
    INVALID = 1  # revoked, or signed by a withdrawn signing key
    SUSPENDED = 2  # reserved: keysvc does not suspend keys today
    SUPERSEDED = 3  # replaced by a re-issue whose overlap has ended (application-specific)


class StatusOutcome(enum.StrEnum):
    """What `check_status` concludes about a verified key."""

    VALID = "VALID"
    SUPERSEDED = "SUPERSEDED"
    INVALID = "INVALID"
    SUSPENDED = "SUSPENDED"
    STALE = "STALE"  # the list is past its exp: fetch a fresh one before deciding
    NO_STATUS = "NO_STATUS"  # the key has no status claim (issued before status lists)


_VALUES = tuple(StatusValue)
_OUTCOMES = {
    StatusValue.VALID: StatusOutcome.VALID,
    StatusValue.INVALID: StatusOutcome.INVALID,
    StatusValue.SUSPENDED: StatusOutcome.SUSPENDED,
    StatusValue.SUPERSEDED: StatusOutcome.SUPERSEDED,
}


# -- building -------------------------------------------------------------------


def _entries(statuses: bytes | bytearray | memoryview | Sequence[int]) -> bytes:
    """Return one byte per entry, checked: 1 to MAX_STATUS_LIST_ENTRIES values of 0..3."""
    # bytes(5) would be five zero bytes and bytes("x") an error of its own: neither is a list.
    if isinstance(statuses, int | str):
        raise TypeError("statuses must be bytes or a sequence of integers 0..3")
    try:
        raw = bytes(statuses)
    except (TypeError, ValueError):
        raise ValueError("statuses must be integers 0..3") from None
    if not raw:
        raise ValueError("a status list must have at least one entry")
    if len(raw) > MAX_STATUS_LIST_ENTRIES:
        raise ValueError(
            f"a status list has at most {MAX_STATUS_LIST_ENTRIES} entries, got {len(raw)}"
        )
    # translate runs in C: whatever is left once 0..3 are deleted is out of range.
    if raw.translate(None, _TWO_BIT_VALUES):
        raise ValueError("every status must be 0, 1, 2 or 3")
    return raw


def pack_statuses(statuses: bytes | bytearray | memoryview | Sequence[int]) -> bytes:
    """Return the list's byte array: entry ``i`` in bits ``2i .. 2i+1``, LSB first.

    ``statuses`` holds one value 0..3 per entry (bytes, or a sequence of
    integers such as `StatusValue`), at least one and at most
    `MAX_STATUS_LIST_ENTRIES`; `ValueError` otherwise. The last byte is padded
    with VALID entries.

    >>> pack_statuses([1, 0, 3, 2, 1]).hex()
    'b101'
    """
    raw = _entries(statuses)
    raw += bytes(-len(raw) % 4)
    # Entry 4j + k goes to bits 2k of byte j. raw[k::4] holds those entries one a byte;
    # read as a little-endian integer and shifted by 2k, each value (at most 3) stays
    # inside its own byte, so OR-ing the four integers packs every byte at once, in C.
    packed = 0
    for k in range(4):
        packed |= int.from_bytes(raw[k::4], "little") << (2 * k)
    return packed.to_bytes(len(raw) // 4, "little")


def _check_int(name: str, value: object, minimum: int) -> int:
    # bool is an int subclass, but true is not a time.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer")
    if not minimum <= value <= _MAX_SAFE_INTEGER:
        raise ValueError(f"{name} must be between {minimum} and 2**53 - 1, got {value}")
    return value


def build_status_list_token(
    statuses: bytes | bytearray | memoryview | Sequence[int],
    *,
    uri: str,
    issued_at: int,
    expires_at: int,
    ttl: int,
    signing_key: SigningKey,
    alg: Algorithm = ALGORITHM,
) -> str:
    """Return the Status List Token for ``statuses``, signed by ``signing_key``.

    ``statuses[i]`` is the `StatusValue` of entry ``i`` (see `pack_statuses`).
    ``uri`` becomes ``sub`` (the ``uri`` of the keys pointing into the list);
    ``issued_at`` and ``expires_at`` (``iat``, ``exp``) are seconds since the
    epoch, ``expires_at`` after ``issued_at``; ``ttl`` (seconds, at least 1)
    tells caches how long to keep the token. The header is exactly
    ``{"alg":"<alg>","kid":"<kid>","typ":"statuslist+jwt"}``. ZLIB level 9 and
    Ed25519 are deterministic: equal arguments give equal tokens. Raises
    `ValueError` (or `TypeError` for statuses that are not a sequence) when an
    argument breaks a rule; every token it returns parses.
    """
    check_status_uri(uri)
    _check_int("iat", issued_at, 0)
    _check_int("exp", expires_at, issued_at + 1)
    _check_int("ttl", ttl, 1)
    header = _header_segment(signing_key.kid, STATUS_LIST_TYPE, check_algorithm(alg))
    lst = b64url_encode(zlib.compress(pack_statuses(statuses), 9))
    claims = {
        "sub": uri,
        "iat": issued_at,
        "exp": expires_at,
        "ttl": ttl,
        "status_list": {"bits": STATUS_LIST_BITS, "lst": lst},
    }
    payload = b64url_encode(dumps_compact(claims).encode("utf-8")).encode("ascii")
    signing_input = header + b"." + payload
    return f"{signing_input.decode('ascii')}.{b64url_encode(signing_key.sign(signing_input))}"


# -- parsing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusList:
    """A verified Status List Token: its claims and the decompressed byte array.

    It holds ``4 * len(data)`` entries (the last byte may be padding, VALID).
    """

    uri: str  # sub
    issued_at: int  # iat
    expires_at: int  # exp: from then on the list is stale
    ttl: int  # ttl: seconds a cache may keep the token
    kid: str  # the key that signed it
    alg: Algorithm  # the name it was signed under
    data: bytes = field(repr=False)  # the packed entries

    def __len__(self) -> int:
        """The number of entries, padding included."""
        return len(self.data) * 4

    def value(self, index: int) -> StatusValue:
        """Return entry ``index``; `StatusIndexOutOfRange` outside ``0 .. len - 1``."""
        # bool is an int subclass, but true is not an index.
        if type(index) is not int or not 0 <= index < len(self.data) * 4:
            raise StatusIndexOutOfRange(
                f"status list {self.uri!r} has entries 0 to {len(self.data) * 4 - 1}; "
                f"idx {index!r} is outside it"
            )
        return _VALUES[(self.data[index >> 2] >> ((index & 3) << 1)) & 3]

    def is_stale(self, now: float) -> bool:
        """Whether the list is past its ``exp`` at ``now`` (seconds since the epoch).

        A list expires at ``exp`` itself, as a JWT does (RFC 7519 section 4.1.4).
        """
        return now >= self.expires_at


def _token_bytes(token: object) -> bytes:
    """Apply the size limit, then return the token as ASCII bytes without surrounding space."""
    if isinstance(token, str):
        # A character takes at least one UTF-8 byte; lone surrogates count the three they would.
        size = len(token)
        if size <= MAX_STATUS_LIST_TOKEN_BYTES and not token.isascii():
            size = len(token.encode("utf-8", "surrogatepass"))
        if size > MAX_STATUS_LIST_TOKEN_BYTES:
            raise StatusListTooLarge(
                f"status list token is {size} bytes; at most {MAX_STATUS_LIST_TOKEN_BYTES} "
                "are accepted"
            )
        if not token.isascii():
            raise MalformedStatusList("status list token contains non-ASCII characters")
        data = token.encode("ascii")
    elif isinstance(token, bytes | bytearray | memoryview):
        data = bytes(token)
        if len(data) > MAX_STATUS_LIST_TOKEN_BYTES:
            raise StatusListTooLarge(
                f"status list token is {len(data)} bytes; at most "
                f"{MAX_STATUS_LIST_TOKEN_BYTES} are accepted"
            )
        if not data.isascii():
            raise MalformedStatusList("status list token contains non-ASCII bytes")
    else:
        raise MalformedStatusList(
            f"status list token must be str or bytes, not {type(token).__name__}"
        )
    # A file or HTTP body often ends with a newline; inside the token nothing is removed.
    return data.strip(_ASCII_WHITESPACE)


def _segments(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """Return the three parts as written (the first two make the signing input), and decoded."""
    if not data:
        raise MalformedStatusList("status list token is empty")
    parts = data.split(b".")
    if len(parts) != 3:
        raise MalformedStatusList(
            f"status list token must have 3 dot-separated parts, got {len(parts)}"
        )
    decoded = []
    for name, part in zip(("header", "payload", "signature"), parts, strict=True):
        if not part:
            raise MalformedStatusList(f"status list token {name} part is empty")
        try:
            decoded.append(b64url_decode(part))
        except ValueError as exc:
            raise MalformedStatusList(
                f"status list token {name} part is not strict base64url: {exc}"
            ) from None
    return parts, decoded


def _header(header: bytes) -> tuple[Algorithm, str]:
    try:
        members = loads_object(header)
    except ValueError as exc:
        raise UnsupportedStatusListHeader(
            f"status list header is not a JSON object: {exc}"
        ) from None
    if members.keys() != _HEADER_MEMBERS:
        names = ", ".join(sorted(members))
        raise UnsupportedStatusListHeader(
            f"status list header must have exactly alg, kid, typ; has {names}"
        )
    alg = members["alg"]
    if alg not in ALGORITHMS:
        raise UnsupportedStatusListHeader(
            f"status list header alg must be EdDSA or Ed25519, got {alg!r}"
        )
    if members["typ"] != STATUS_LIST_TYPE:
        raise UnsupportedStatusListHeader(
            f"status list header typ must be {STATUS_LIST_TYPE}, got {members['typ']!r}"
        )
    kid = members["kid"]
    if not isinstance(kid, str) or not kid:
        raise UnsupportedStatusListHeader("status list header kid must be a non-empty string")
    return check_algorithm(alg), kid


def _trusted(
    keys: LicenseVerifier | Mapping[str, VerifyingKey] | Iterable[VerifyingKey],
) -> dict[str, VerifyingKey]:
    if isinstance(keys, LicenseVerifier):
        return dict(keys.keys)
    values = keys.values() if isinstance(keys, Mapping) else keys
    trusted: dict[str, VerifyingKey] = {}
    for key in values:
        if not isinstance(key, VerifyingKey):
            raise TypeError(f"keys must be VerifyingKey objects, not {type(key).__name__}")
        trusted[key.kid] = key
    return trusted


def _claims(payload: bytes) -> tuple[str, int, int, int, str]:
    """Return sub, iat, exp, ttl and lst, or raise `InvalidStatusListClaims`."""
    try:
        claims: dict[str, Any] = loads_object(payload)
    except ValueError as exc:
        raise InvalidStatusListClaims(f"status list payload is not a JSON object: {exc}") from None
    missing = [name for name in _CLAIM_NAMES if name not in claims]
    if missing:
        raise InvalidStatusListClaims(f"status list lacks the claims {', '.join(missing)}")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise InvalidStatusListClaims("status list sub must be a non-empty string")
    try:
        iat = _check_int("iat", claims["iat"], 0)
        exp = _check_int("exp", claims["exp"], iat + 1)
        ttl = _check_int("ttl", claims["ttl"], 1)
    except ValueError as exc:
        raise InvalidStatusListClaims(f"status list claims are invalid: {exc}") from None
    status_list = claims["status_list"]
    if not isinstance(status_list, dict):
        raise InvalidStatusListClaims("status list status_list must be a JSON object")
    bits = status_list.get("bits")
    if type(bits) is not int or bits != STATUS_LIST_BITS:
        raise InvalidStatusListClaims(f"status list bits must be 2, got {bits!r}")
    lst = status_list.get("lst")
    if not isinstance(lst, str) or not lst:
        raise InvalidStatusListClaims("status list lst must be a non-empty string")
    return sub, iat, exp, ttl, lst


def _inflate(lst: str) -> bytes:
    """Decode ``lst`` into at most MAX_STATUS_LIST_BYTES without inflating any further."""
    try:
        compressed = b64url_decode(lst)
    except ValueError as exc:
        raise StatusListBadEncoding(f"status list lst is not strict base64url: {exc}") from None
    inflater = zlib.decompressobj()
    try:
        # One byte past the bound tells "too large" from "exactly at the bound"; the rest
        # of the input stays unconsumed, so a zip bomb costs what a list at the bound does.
        data = inflater.decompress(compressed, MAX_STATUS_LIST_BYTES + 1)
    except zlib.error as exc:
        raise StatusListBadEncoding(f"status list lst is not ZLIB data: {exc}") from None
    if len(data) > MAX_STATUS_LIST_BYTES:
        raise StatusListInflatesTooLarge(
            f"status list lst decompresses to more than {MAX_STATUS_LIST_BYTES} bytes"
        )
    if not inflater.eof:
        raise StatusListBadEncoding("status list lst is a truncated ZLIB stream")
    if inflater.unused_data:
        raise StatusListBadEncoding("status list lst has bytes after its ZLIB stream")
    if not data:
        raise StatusListBadEncoding("status list lst decompresses to no bytes")
    return data


def parse_status_list_token(
    token: str | bytes,
    keys: LicenseVerifier | Mapping[str, VerifyingKey] | Iterable[VerifyingKey],
    *,
    expected_uri: str,
) -> StatusList:
    """Verify a Status List Token and return its list, or raise a `StatusListError`.

    ``keys`` are the published keys: a `LicenseVerifier` (from the JWKS), a
    mapping by ``kid`` (``KeyRing.verifying_keys``) or `VerifyingKey` objects.
    ``expected_uri`` is the URI the token was fetched for, normally the ``uri``
    of a key's ``status`` claim; the token's ``sub`` must equal it. The order of
    checks is in the module docstring. A list past its ``exp`` is returned (see
    `StatusList.is_stale`). No input token makes this raise anything but a
    `StatusListError`.
    """
    written, (header, payload, signature) = _segments(_token_bytes(token))
    alg, kid = _header(header)
    key = _trusted(keys).get(kid)
    if key is None:
        raise UnknownStatusListKeyId(kid)
    if len(signature) != _SIGNATURE_SIZE:
        raise StatusListBadSignature(
            f"status list signature must be 64 bytes, got {len(signature)}"
        )
    if not key.verify(signature, written[0] + b"." + written[1]):
        raise StatusListBadSignature(f"status list signature does not verify with kid {kid!r}")
    sub, iat, exp, ttl, lst = _claims(payload)
    if sub != expected_uri:
        raise StatusListSubjectMismatch(
            f"status list is for {sub!r}, not the expected {expected_uri!r}"
        )
    return StatusList(
        uri=sub, issued_at=iat, expires_at=exp, ttl=ttl, kid=kid, alg=alg, data=_inflate(lst)
    )


# -- checking a key -------------------------------------------------------------


def check_status(
    license: VerifiedLicense, status_list: StatusList | None, *, now: float
) -> StatusOutcome:
    """Return what ``status_list`` says about a verified key at ``now`` (seconds since the epoch).

    In this order:

    - the key has no ``status`` claim: `StatusOutcome.NO_STATUS` (the list, if
      any, is not looked at);
    - the list is not the key's (``uri`` differs, or no list was given):
      `StatusListNotTheKeys`;
    - the list is past its ``exp``: `StatusOutcome.STALE`, whatever it says;
    - the key's ``idx`` is past the end of the list: `StatusIndexOutOfRange`;
    - otherwise the entry: VALID, INVALID, SUSPENDED or SUPERSEDED.

    Only VALID (and, by the product's policy, NO_STATUS) means the key may be used.
    """
    reference = license.claims.status
    if reference is None:
        return StatusOutcome.NO_STATUS
    if status_list is None or status_list.uri != reference.uri:
        listed = None if status_list is None else status_list.uri
        raise StatusListNotTheKeys(
            f"the key's status is in {reference.uri!r}; the list given is {listed!r}"
        )
    if status_list.is_stale(now):
        return StatusOutcome.STALE
    return _OUTCOMES[status_list.value(reference.index)]
