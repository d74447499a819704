"""A period is one contract year: start + 1 year - 1 day, 29 February included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from keysvc.domain import (
    JST,
    InvalidPeriod,
    Period,
    current_period,
    first_of_month,
    jst_date,
    year_end,
)
from keysvc.domain.errors import InvalidArgument


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2027, 1, 1), date(2027, 12, 31)),
        (date(2027, 3, 1), date(2028, 2, 29)),  # the year holds a 29 February
        (date(2028, 3, 1), date(2029, 2, 28)),
        (date(2027, 12, 1), date(2028, 11, 30)),
        (date(2026, 11, 22), date(2027, 11, 21)),  # not a 1st: still the day before a year on
    ],
)
def test_period_ends_the_day_before_the_same_date_a_year_later(start: date, end: date) -> None:
    assert Period.starting(start) == Period(start, end)


def test_period_from_29_february_ends_on_28_february_civil_code_143() -> None:
    period = Period.starting(date(2028, 2, 29))
    assert period.end == date(2029, 2, 28)
    assert period.next_start == date(2029, 3, 1)


def test_period_from_29_february_into_a_leap_year_four_years_on_is_still_one_year() -> None:
    assert year_end(date(2024, 2, 29)) == date(2025, 2, 28)


def test_period_contains_both_ends_and_nothing_outside() -> None:
    period = Period(date(2027, 1, 1), date(2027, 12, 31))
    assert period.contains(date(2027, 1, 1))
    assert period.contains(date(2027, 12, 31))
    assert not period.contains(date(2026, 12, 31))
    assert not period.contains(date(2028, 1, 1))


def test_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidPeriod) as caught:
        Period(date(2027, 1, 2), date(2027, 1, 1))
    assert caught.value.reason == "INVALID_PERIOD"
    assert caught.value.metadata["field"] == "period"


def test_period_of_one_day_is_allowed() -> None:
    assert Period(date(2027, 1, 1), date(2027, 1, 1)).contains(date(2027, 1, 1))


def test_period_refuses_a_datetime_for_a_date() -> None:
    with pytest.raises(InvalidArgument) as caught:
        Period(datetime(2027, 1, 1, tzinfo=UTC), date(2027, 12, 31))
    assert caught.value.metadata["field"] == "start"


def test_periods_that_overlap_are_refused() -> None:
    periods = [Period.starting(date(2027, 1, 1)), Period.starting(date(2027, 12, 31))]
    with pytest.raises(InvalidPeriod):
        current_period(date(2027, 6, 1), periods)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 22), 0, date(2026, 11, 1)),
        (date(2026, 11, 22), 2, date(2027, 1, 1)),
        (date(2027, 12, 31), 1, date(2028, 1, 1)),
        (date(2028, 2, 29), 1, date(2028, 3, 1)),
    ],
)
def test_first_of_month_moves_whole_months(day: date, months: int, expected: date) -> None:
    assert first_of_month(day, months) == expected


def test_jst_date_is_the_tokyo_calendar_day_whatever_the_instants_zone() -> None:
    assert jst_date(datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)) == date(2026, 11, 30)
    assert jst_date(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == date(2026, 12, 1)
    la = timezone(timedelta(hours=-8))
    assert jst_date(datetime(2026, 11, 30, 8, 0, tzinfo=la)) == date(2026, 12, 1)
    assert jst_date(datetime(2026, 12, 1, 0, 0, tzinfo=JST)) == date(2026, 12, 1)


def test_jst_date_refuses_a_naive_instant() -> None:
    with pytest.raises(InvalidArgument) as caught:
        jst_date(datetime(2026, 11, 30, 12, 0))  # naive on purpose
    assert caught.value.metadata["field"] == "accepted_at"
