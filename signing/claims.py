"""The claims a license key carries, and their JSON payload form."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ISSUER", "LicenseClaims"]

ISSUER = "keysvc"

# Integers stay within what every JOSE library reads exactly, JavaScript's included.
_MAX_SAFE_INTEGER = 2**53 - 1
# Unpadded base64url of 32 bytes: 43 characters, the last with its 2 unused bits zero.
_FINGERPRINT_HASH = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The JSON claim names, in the order keys are written and missing ones are named.
_CLAIM_NAMES = ("iss", "sub", "iat", "prd", "ctr", "sts", "gen", "fph", "sup")
_CLAIM_NAME_SET = frozenset(_CLAIM_NAMES)


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

    def to_payload(self) -> dict[str, str | int]:
        """Return the JWT claims set, in the order keys are written."""
        return {
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

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> LicenseClaims:
        """Read the claims from a decoded payload; extra claims are ignored.

        Raises `ValueError` for a missing claim, a wrong type or value, or an
        ``iss`` other than ``keysvc``.
        """
        if not payload.keys() >= _CLAIM_NAME_SET:
            missing = [name for name in _CLAIM_NAMES if name not in payload]
            raise ValueError(f"missing claims: {', '.join(missing)}")
        if payload["iss"] != ISSUER:
            raise ValueError(f"iss must be {ISSUER!r}")
        # The generated __init__ of a frozen dataclass binds nine keyword arguments and then
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
        claims.__post_init__()
        return claims
