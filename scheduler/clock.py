"""Where "now" comes from: a port, the real clock, and a fixed clock for tests.

The calendar never reads a clock; callers read one and pass the instant. A
`FixedClock` ships in the package (not in ``tests/``) so that tests of other
programs built on keysvc can drive time too::

    clock = FixedClock(datetime(2026, 11, 20, 7, 59, tzinfo=UTC))
    clock.advance(timedelta(minutes=1))
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from scheduler.calendar.business import as_utc

__all__ = ["Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current instant."""

    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...


class SystemClock:
    """The host's clock, in UTC (the host's time zone plays no part)."""

    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told otherwise; safe to share between threads.

    Raises `NaiveDatetime` for an instant without a time zone.
    """

    def __init__(self, instant: datetime) -> None:
        self._lock = threading.Lock()
        self._now = as_utc(instant)

    def now(self) -> datetime:
        """The instant the clock is set to, UTC-aware."""
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        """Set the clock to ``instant`` (any zone, aware), even backwards."""
        utc = as_utc(instant)
        with self._lock:
            self._now = utc

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (not negative) and return the new instant."""
        if delta < timedelta(0):
            raise ValueError(f"a clock only advances; use set() to go back (got {delta})")
        with self._lock:
            self._now += delta
            return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self.now().isoformat()})"
