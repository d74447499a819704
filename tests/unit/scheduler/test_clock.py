"""The clock port and the clocks shipped with the package."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler import Clock, FixedClock, NaiveDatetime, SystemClock


def test_system_clock_tells_utc_aware_now() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_both_clocks_satisfy_the_clock_port() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FixedClock(datetime(2026, 11, 20, tzinfo=UTC)), Clock)


def test_fixed_clock_stands_still_until_advanced_or_set() -> None:
    clock = FixedClock(datetime(2026, 11, 20, 16, 59, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert clock.now() == datetime(2026, 11, 20, 7, 59, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.advance(timedelta(minutes=1)) == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert clock.now() == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_fixed_clock_refuses_naive_instants_and_going_backwards_by_advance() -> None:
    with pytest.raises(NaiveDatetime):
        FixedClock(datetime(2026, 11, 20))
    clock = FixedClock(datetime(2026, 11, 20, tzinfo=UTC))
    with pytest.raises(NaiveDatetime):
        clock.set(datetime(2026, 11, 21))
    with pytest.raises(ValueError, match="only advances"):
        clock.advance(timedelta(seconds=-1))


def test_fixed_clock_advances_are_not_lost_between_threads() -> None:
    clock = FixedClock(datetime(2026, 11, 20, tzinfo=UTC))

    def tick() -> None:
        for _ in range(1000):
            clock.advance(timedelta(microseconds=1))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == datetime(2026, 11, 20, tzinfo=UTC) + timedelta(microseconds=4000)
