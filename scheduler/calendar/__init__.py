"""The business calendar of keysvc: a pure core (no I/O, no clock, no environment).

Business days in Japan (JST), company closures, and the release schedule of
key requests; see ``docs/business-calendar.md``::

    calendar = BusinessCalendar(parse_closures_toml(text))
    plan = calendar.schedule(accepted_at)        # due_date, release_time, same_day
    later = release_after_calendar_change(accepted_at, plan.due_date, calendar.with_closures(new))
"""

from __future__ import annotations

from scheduler.calendar._jp import FIRST_SUPPORTED_DAY, HOLIDAY_LANGUAGES, JST, LAST_SUPPORTED_DAY
from scheduler.calendar.business import (
    DEFAULT_CUTOFF,
    DEFAULT_OPENING,
    BusinessCalendar,
    Reschedule,
    Schedule,
    as_utc,
    release_after_calendar_change,
)
from scheduler.calendar.closures import (
    MAX_CLOSURE_DAYS,
    MAX_LABEL_LENGTH,
    YEAR_END_LABEL,
    Closure,
    parse_closures_toml,
)
from scheduler.calendar.errors import (
    CalendarError,
    DateOutOfRange,
    InvalidBusinessHours,
    InvalidClosure,
    InvalidClosuresFile,
    NaiveDatetime,
    NoBusinessDay,
)

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_OPENING",
    "FIRST_SUPPORTED_DAY",
    "HOLIDAY_LANGUAGES",
    "JST",
    "LAST_SUPPORTED_DAY",
    "MAX_CLOSURE_DAYS",
    "MAX_LABEL_LENGTH",
    "YEAR_END_LABEL",
    "BusinessCalendar",
    "CalendarError",
    "Closure",
    "DateOutOfRange",
    "InvalidBusinessHours",
    "InvalidClosure",
    "InvalidClosuresFile",
    "NaiveDatetime",
    "NoBusinessDay",
    "Reschedule",
    "Schedule",
    "as_utc",
    "parse_closures_toml",
    "release_after_calendar_change",
]
