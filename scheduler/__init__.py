"""keysvc's scheduler: the business calendar, the clock, and the work run on their time.

- `scheduler.calendar` is a pure core: business days in Japan, company
  closures, and when a key request is due and released.
- `scheduler.clock` is where "now" comes from.
- `scheduler.release_loop` releases due requests, batch after batch, through
  the `ReleaseBatches` port that keysvc fills.
- `scheduler.jobs` runs every job on its interval (`scheduler.loop.run_batches`).

It never imports keysvc (import-linter): keysvc's composition root fills the
ports with its units of work.
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
