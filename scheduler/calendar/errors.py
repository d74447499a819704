"""Errors raised by `scheduler.calendar`.

Every error is a `ValueError` (bad input, never a failure of the calendar) and
carries a stable ``reason``: the UPPER_SNAKE string a server puts in its
``google.rpc.ErrorInfo``. Reasons never change once published; messages may.

The hierarchy::

    CalendarError                   CALENDAR_ERROR          (a ValueError)
    ├── InvalidClosure              INVALID_CLOSURE
    │   └── InvalidClosuresFile     INVALID_CLOSURES_FILE
    ├── InvalidBusinessHours        INVALID_BUSINESS_HOURS
    ├── NaiveDatetime               NAIVE_DATETIME
    └── DateOutOfRange              DATE_OUT_OF_RANGE
        └── NoBusinessDay           NO_BUSINESS_DAY
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CalendarError",
    "DateOutOfRange",
    "InvalidBusinessHours",
    "InvalidClosure",
    "InvalidClosuresFile",
    "NaiveDatetime",
    "NoBusinessDay",
]


class CalendarError(ValueError):
    """Base class of every error this package raises."""

    reason: ClassVar[str] = "CALENDAR_ERROR"


class InvalidClosure(CalendarError):
    """A closure is malformed: end before start, empty label, too long, or out of range."""

    reason: ClassVar[str] = "INVALID_CLOSURE"


class InvalidClosuresFile(InvalidClosure):
    """A closures TOML document is not TOML, or not shaped as ``[[closures]]`` tables."""

    reason: ClassVar[str] = "INVALID_CLOSURES_FILE"


class InvalidBusinessHours(CalendarError):
    """Opening and cutoff are not two naive times with opening strictly before cutoff."""

    reason: ClassVar[str] = "INVALID_BUSINESS_HOURS"


class NaiveDatetime(CalendarError):
    """An instant has no time zone, so it does not name one moment."""

    reason: ClassVar[str] = "NAIVE_DATETIME"


class DateOutOfRange(CalendarError):
    """A day lies outside the years the calendar knows (2000-2099), or the next
    business day after it would."""

    reason: ClassVar[str] = "DATE_OUT_OF_RANGE"


class NoBusinessDay(DateOutOfRange):
    """Configured closures leave no business day after a day, up to the last supported day.

    Without those closures a business day would be known: the closures, not the
    day asked about, are why there is no answer.
    """

    reason: ClassVar[str] = "NO_BUSINESS_DAY"
