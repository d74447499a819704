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
        missing = [
            name
            for name in ("iss", "sub", "iat", "prd", "ctr", "sts", "gen", "fph", "sup")
            if name not in payload
        ]
        if missing:
            raise ValueError(f"missing claims: {', '.join(missing)}")
        if payload["iss"] != ISSUER:
            raise ValueError(f"iss must be {ISSUER!r}")
        return cls(
            serial=payload["sub"],
            issued_at=payload["iat"],
            product_code=payload["prd"],
            contract_number=payload["ctr"],
            seats=payload["sts"],
            generation=payload["gen"],
            fingerprint_hash=payload["fph"],
            support_end=_parse_date(payload["sup"]),
            issuer=payload["iss"],
        )
