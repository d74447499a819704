"""Checks of request fields, each failure naming its field (INVALID_ARGUMENT)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.domain.errors import InvalidArgument

# Calendar dates the service deals in; anything else is a typo (the calendar covers these too).
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2099, 12, 31)
_CONTRACT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,63}")


def required_text(field: str, value: str, *, max_length: int = 200) -> str:
    """Non-empty text without control characters, at most `max_length` characters."""
    text = value.strip()
    if not text:
        raise InvalidArgument(field, f"{field} is required")
    if len(text) > max_length or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidArgument(
            field, f"{field} must be at most {max_length} characters, without control characters"
        )
    return text


def optional_date(field: str, value: str) -> date | None:
    """An ISO calendar date ``YYYY-MM-DD`` between 2000 and 2099, or None when empty."""
    return required_date(field, value) if value else None


def required_date(field: str, value: str) -> date:
    """An ISO calendar date ``YYYY-MM-DD`` between 2000 and 2099."""
    if not value:
        raise InvalidArgument(field, f"{field} is required (YYYY-MM-DD)")
    try:
        if len(value) != 10:
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, f"{field} must be a date YYYY-MM-DD") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InvalidArgument(field, f"{field} must be between 2000-01-01 and 2099-12-31")
    return day


def count(field: str, value: int, *, maximum: int = 1_000_000) -> int:
    """A positive whole number up to `maximum`."""
    if not 1 <= value <= maximum:
        raise InvalidArgument(field, f"{field} must be between 1 and {maximum}")
    return value


def contract_number(field: str, value: str, *, required: bool = True) -> str:
    """A support service number such as ``SS-2026-000123`` (letters, digits, hyphens)."""
    if not value and not required:
        return ""
    if not _CONTRACT_NUMBER.fullmatch(value):
        raise InvalidArgument(
            field, f"{field} must be 3-64 letters, digits and hyphens, e.g. SS-2026-000123"
        )
    return value


def instant(field: str, value: Timestamp) -> datetime:
    """A valid Timestamp between 2000 and 2099 as an aware UTC datetime."""
    try:
        moment = value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument(field, f"{field} is not a valid timestamp") from None
    if not FIRST_DATE <= moment.date() <= LAST_DATE:
        raise InvalidArgument(field, f"{field} must be between 2000 and 2099")
    return moment


def update_mask(field: str, paths: Sequence[str], updatable: Collection[str]) -> frozenset[str]:
    """The paths of an AIP-134 update mask, each one of `updatable`; at least one.

    A path outside `updatable` is refused with reason ``FIELD_NOT_UPDATABLE``,
    listing what may be updated rather than quoting the path (a caller's value is
    never repeated).
    """
    if not paths:
        raise InvalidArgument(field, f"{field} must name the fields to update")
    named = frozenset(paths)
    if not named <= frozenset(updatable):
        raise InvalidArgument(
            field,
            f"{field} may name only {', '.join(sorted(updatable))}",
            reason="FIELD_NOT_UPDATABLE",
        )
    return named
