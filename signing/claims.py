"""The claims a license key carries, and their JSON payload form."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ISSUER",
    "MAX_STATUS_LIST_ENTRIES",
    "MAX_STATUS_URI_LENGTH",
    "LicenseClaims",
    "StatusClaimValueError",
    "StatusReference",
    "check_status_uri",
]

ISSUER = "keysvc"
# The most entries a status list may have: 2**22 (4,194,304) two-bit entries, 1 MiB
# decompressed. A key's idx must fall inside the largest list a verifier accepts,
# and a verifier must be able to hold a list in memory on a small server.
MAX_STATUS_LIST_ENTRIES = 2**22
# A status list URI is compared byte for byte with the list's sub and fetched by
# products; 2048 characters is what every HTTP client and CDN accepts.
MAX_STATUS_URI_LENGTH = 2048

# Integers stay within what every JOSE library reads exactly, JavaScript's included.
_MAX_SAFE_INTEGER = 2**53 - 1
# Unpadded base64url of 32 bytes: 43 characters, the last with its 2 unused bits zero.
_FINGERPRINT_HASH = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The JSON claim names, in the order keys are written and missing ones are named.
_CLAIM_NAMES = ("iss", "sub", "iat", "prd", "ctr", "sts", "gen", "fph", "sup")
_CLAIM_NAME_SET = frozenset(_CLAIM_NAMES)
# An http(s) URL in printable ASCII with a non-empty authority. The scheme is lowercase
# only: the uri is compared as a string with the list's sub, so one spelling is allowed.
_STATUS_URI = re.compile(r"https?://[!\"$-.0->@-~]+(?:[/?#][!-~]*)?")
_ABSENT = object()


class StatusClaimValueError(ValueError):
    """The ``status`` claim breaks a rule (the parser turns it into `InvalidStatusClaim`)."""


def check_status_uri(value: object) -> None:
    """Raise `ValueError` unless ``value`` is a status list URI keysvc writes and accepts.

    That is a string of 1 to `MAX_STATUS_URI_LENGTH` printable ASCII characters
    (no spaces) starting ``https://`` or ``http://`` with a non-empty host.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("status list uri must be a non-empty string")
    if len(value) > MAX_STATUS_URI_LENGTH:
        raise ValueError(
            f"status list uri must be at most {MAX_STATUS_URI_LENGTH} characters, got {len(value)}"
        )
    if not value.isascii() or _STATUS_URI.fullmatch(value) is None:
        raise ValueError(
            "status list uri must be an http:// or https:// URL of printable ASCII with a host"
        )


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a key's status is published: entry ``index`` of the list at ``uri``.

    The JSON form is ``{"status_list": {"idx": index, "uri": uri}}`` (the value
    of the ``status`` claim). Construction raises `ValueError` unless ``index``
    is an integer in ``0 .. MAX_STATUS_LIST_ENTRIES - 1`` and ``uri`` passes
    `check_status_uri`.
    """

    index: int  # idx
    uri: str  # uri: the Status List Token's sub

    def __post_init__(self) -> None:
        """Check both fields."""
        # bool is an int subclass, but true is not an index.
        if not isinstance(self.index, int) or isinstance(self.index, bool):
            raise ValueError("status list idx must be an integer")
        if not 0 <= self.index < MAX_STATUS_LIST_ENTRIES:
            raise ValueError(
                f"status list idx must be between 0 and {MAX_STATUS_LIST_ENTRIES - 1}, "
                f"got {self.index}"
            )
        check_status_uri(self.uri)

    def to_claim(self) -> dict[str, dict[str, int | str]]:
        """Return the value of the ``status`` claim."""
        return {"status_list": {"idx": self.index, "uri": self.uri}}

    @classmethod
    def from_claim(cls, value: object) -> StatusReference:
        """Read the value of a ``status`` claim; `StatusClaimValueError` when it breaks a rule.

        Members other than ``status_list`` (other status mechanisms), and members of
        ``status_list`` other than ``idx`` and ``uri``, are ignored, as unknown claims are.
        """
        # Verifying reads one claim per key. This expression admits the usual claim with
        # one call for the URI and no dataclass __init__; it admits nothing the checks
        # below would refuse, and leaves everything else to them.
        if type(value) is dict:
            reference = value.get("status_list")
            if type(reference) is dict:
                index, uri = reference.get("idx"), reference.get("uri")
                if (
                    type(index) is int
                    and 0 <= index < MAX_STATUS_LIST_ENTRIES
                    and type(uri) is str
                    and len(uri) <= MAX_STATUS_URI_LENGTH
                    and uri.isascii()
                    and _STATUS_URI.fullmatch(uri) is not None
                ):
                    status = object.__new__(cls)
                    object.__setattr__(status, "index", index)
                    object.__setattr__(status, "uri", uri)
                    return status
        if not isinstance(value, dict):
            raise StatusClaimValueError("status must be a JSON object")
        reference = value.get("status_list", _ABSENT)
        if reference is _ABSENT:
            # A key that names a status no verifier here can check must not pass as
            # a key without status.
            raise StatusClaimValueError("status must have a status_list member")
        if not isinstance(reference, dict):
            raise StatusClaimValueError("status.status_list must be a JSON object")
        missing = [name for name in ("idx", "uri") if name not in reference]
        if missing:
            raise StatusClaimValueError(f"status.status_list lacks {', '.join(missing)}")
        try:
            return cls(index=reference["idx"], uri=reference["uri"])
        except ValueError as exc:
            raise StatusClaimValueError(str(exc)) from None


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be valid Unicode (no lone surrogates)") from None


def _check_int(name: str, value: object, minimum: int) -> None:
    # bool is an int subclass, but true is not a seat count.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer")
    if not minimum <= value <= _MAX_SAFE_INTEGER:
        raise ValueError(f"{name} must be between {minimum} and 2**53 - 1, got {value}")


def _check_fingerprint_hash(value: object) -> None:
    if not isinstance(value, str) or _FINGERPRINT_HASH.fullmatch(value) is None:
        raise ValueError("fph must be 43 characters of canonical base64url (a SHA-256)")


def _parse_date(value: object) -> datetime.date:
    # date.fromisoformat alone would also take "20271121" and "2027-W47-1".
    if not isinstance(value, str) or _ISO_DATE.fullmatch(value) is None:
        raise ValueError("sup must be a date written YYYY-MM-DD")
    return datetime.date.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class LicenseClaims:
    """What a license key asserts. Field comments name the JSON claim.

    ``status`` is None for a key without the ``status`` claim (keys issued before
    status lists existed): its status cannot be checked offline.

    Construction checks every rule and raises `ValueError` when one is broken,
    so an instance is always signable and parses back equal.
    """

    serial: str  # sub: the license serial
    issued_at: int  # iat: seconds since the epoch, >= 0
    product_code: str  # prd
    contract_number: str  # ctr: the support service contract
    seats: int  # sts: >= 1
    generation: int  # gen: >= 1, raised on each re-issue
    fingerprint_hash: str  # fph: see signing.fingerprint.fingerprint_hash
    support_end: datetime.date  # sup: last day of the current support period
    issuer: str = ISSUER  # iss: parsing accepts only "keysvc"
    status: StatusReference | None = None  # status: {"status_list": {"idx", "uri"}}

    def __post_init__(self) -> None:
        """Check every field; `ValueError` names the first claim that breaks a rule."""
        # Verifying builds one instance per key. This one expression admits the usual
        # values without a call per field: exact str and int (not bool), ASCII text (so no
        # lone surrogate), a plain date. It admits nothing `_check_fields` would refuse;
        # anything else, valid or not, is left to `_check_fields`.
        if (
            type(self.serial) is str
            and self.serial
            and self.serial.isascii()
            and type(self.issued_at) is int
            and 0 <= self.issued_at <= _MAX_SAFE_INTEGER
            and type(self.product_code) is str
            and self.product_code
            and self.product_code.isascii()
            and type(self.contract_number) is str
            and self.contract_number
            and self.contract_number.isascii()
            and type(self.seats) is int
            and 1 <= self.seats <= _MAX_SAFE_INTEGER
            and type(self.generation) is int
            and 1 <= self.generation <= _MAX_SAFE_INTEGER
            and type(self.fingerprint_hash) is str
            and _FINGERPRINT_HASH.fullmatch(self.fingerprint_hash) is not None
            and type(self.support_end) is datetime.date
            and type(self.issuer) is str
            and self.issuer
            and self.issuer.isascii()
            # A StatusReference checked itself when it was made.
            and (self.status is None or type(self.status) is StatusReference)
        ):
            return
        self._check_fields()

    def _check_fields(self) -> None:
        """Check the fields one by one, in order, raising for the first that breaks a rule."""
        _check_text("sub", self.serial)
        _check_int("iat", self.issued_at, 0)
        _check_text("prd", self.product_code)
        _check_text("ctr", self.contract_number)
        _check_int("sts", self.seats, 1)
        _check_int("gen", self.generation, 1)
        _check_fingerprint_hash(self.fingerprint_hash)
        # datetime is a date subclass, but a time of day has no place in a support period.
        if not isinstance(self.support_end, datetime.date) or isinstance(
            self.support_end, datetime.datetime
        ):
            raise ValueError("sup must be a datetime.date")
        _check_text("iss", self.issuer)
        if self.status is not None and not isinstance(self.status, StatusReference):
            raise ValueError("status must be a StatusReference or None")

    def to_payload(self) -> dict[str, object]:
        """Return the JWT claims set, in the order keys are written.

        ``status`` comes last and only when the claims have one, so keys without
        it are byte for byte what they were before the claim existed.
        """
        payload: dict[str, object] = {
            "iss": self.issuer,
            "sub": self.serial,
            "iat": self.issued_at,
            "prd": self.product_code,
            "ctr": self.contract_number,
            "sts": self.seats,
            "gen": self.generation,
            "fph": self.fingerprint_hash,
            "sup": self.support_end.isoformat(),
        }
        if self.status is not None:
            payload["status"] = self.status.to_claim()
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> LicenseClaims:
        """Read the claims from a decoded payload; extra claims are ignored.

        Raises `ValueError` for a missing claim, a wrong type or value, or an
        ``iss`` other than ``keysvc``; `StatusClaimValueError` (a `ValueError`) for
        a ``status`` claim that breaks a rule of `StatusReference.from_claim`. An
        absent ``status`` gives ``status=None``; ``"status": null`` is refused.
        """
        if not payload.keys() >= _CLAIM_NAME_SET:
            missing = [name for name in _CLAIM_NAMES if name not in payload]
            raise ValueError(f"missing claims: {', '.join(missing)}")
        if payload["iss"] != ISSUER:
            raise ValueError(f"iss must be {ISSUER!r}")
        # The generated __init__ of a frozen dataclass binds ten keyword arguments and then
        # sets each field through object.__setattr__ anyway; doing that here and running the
        # same __post_init__ checks takes about half a microsecond less per verified key.
        claims = object.__new__(cls)
        set_field = object.__setattr__
        set_field(claims, "serial", payload["sub"])
        set_field(claims, "issued_at", payload["iat"])
        set_field(claims, "product_code", payload["prd"])
        set_field(claims, "contract_number", payload["ctr"])
        set_field(claims, "seats", payload["sts"])
        set_field(claims, "generation", payload["gen"])
        set_field(claims, "fingerprint_hash", payload["fph"])
        set_field(claims, "support_end", _parse_date(payload["sup"]))
        set_field(claims, "issuer", payload["iss"])
        set_field(claims, "status", None)
        claims.__post_init__()
        # After the other claims, so a key broken twice is reported as LICENSE_KEY_BAD_CLAIMS.
        status = payload.get("status", _ABSENT)
        if status is not _ABSENT:
            set_field(claims, "status", StatusReference.from_claim(status))
        return claims
