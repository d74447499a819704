"""Business calendar and clock of keysvc's release scheduler.

`scheduler.calendar` is a pure core: business days in Japan, company closures,
and when a key request is due and released. `scheduler.clock` is where "now"
comes from. The release loop and the mail outbox build on both.
"""

from __future__ import annotations

from scheduler.calendar import (
    DEFAULT_CUTOFF,
    DEFAULT_OPENING,
    JST,
    YEAR_END_LABEL,
    BusinessCalendar,
    CalendarError,
    Closure,
    DateOutOfRange,
    InvalidBusinessHours,
    InvalidClosure,
    InvalidClosuresFile,
    NaiveDatetime,
    Reschedule,
    Schedule,
    parse_closures_toml,
    release_after_calendar_change,
)
from scheduler.clock import Clock, FixedClock, SystemClock

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_OPENING",
    "JST",
    "YEAR_END_LABEL",
    "BusinessCalendar",
    "CalendarError",
    "Clock",
    "Closure",
    "DateOutOfRange",
    "FixedClock",
    "InvalidBusinessHours",
    "InvalidClosure",
    "InvalidClosuresFile",
    "NaiveDatetime",
    "Reschedule",
    "Schedule",
    "SystemClock",
    "parse_closures_toml",
    "release_after_calendar_change",
]
