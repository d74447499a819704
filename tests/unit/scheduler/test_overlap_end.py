"""The end of a re-issue's overlap: the opening of the N-th business day after the release."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.calendar import BusinessCalendar, Closure, NaiveDatetime

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("released", "count", "ends"),
    [
        # Monday 10:00: five business days on is the next Monday's opening.
        (jst(2026, 12, 7, 10), 5, jst(2026, 12, 14)),
        (jst(2026, 12, 7, 10), 1, jst(2026, 12, 8)),
        # Friday: the first business day after is Monday.
        (jst(2026, 12, 11, 16, 59), 1, jst(2026, 12, 14)),
        # Released on a Saturday (IssueKeyNow): counted from the Saturday's date.
        (jst(2026, 12, 12, 11), 1, jst(2026, 12, 14)),
        # Across the year-end closure (Dec 29 to Jan 3) and a weekend.
        (jst(2026, 12, 28, 10), 1, jst(2027, 1, 4)),
        (jst(2026, 12, 25, 10), 2, jst(2027, 1, 4)),
        # Across a public holiday: Monday 2027-01-11 is Coming of Age Day.
        (jst(2027, 1, 8, 10), 1, jst(2027, 1, 12)),
        # Released just before midnight JST: the Tokyo date counts, not UTC's.
        (jst(2026, 12, 7, 23, 59), 1, jst(2026, 12, 8)),
        (jst(2026, 12, 8, 0, 0), 1, jst(2026, 12, 9)),
    ],
)
def test_the_overlap_ends_at_the_opening_of_the_nth_business_day(released, count, ends):
    end = BusinessCalendar().opening_after_business_days(released, count)
    assert end == ends
    assert end.tzinfo is UTC


def test_no_overlap_ends_at_the_release_itself():
    released = jst(2026, 12, 7, 10, 30)
    assert BusinessCalendar().opening_after_business_days(released, 0) == released


def test_a_closure_pushes_the_end_back_and_the_opening_setting_is_used():
    calendar = BusinessCalendar(
        closures=[Closure(date(2026, 12, 8), date(2026, 12, 10), "棚卸し")], opening=time(10, 0)
    )
    end = calendar.opening_after_business_days(jst(2026, 12, 7, 10), 2)
    assert end == jst(2026, 12, 14, 10)


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="count"):
        BusinessCalendar().opening_after_business_days(jst(2026, 12, 7), -1)


def test_a_naive_instant_is_refused():
    with pytest.raises(NaiveDatetime):
        BusinessCalendar().opening_after_business_days(datetime(2026, 12, 7, 10), 1)


@given(
    released=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2040, 12, 1), timezones=st.just(UTC)
    ),
    count=st.integers(min_value=1, max_value=10),
)
def test_the_end_is_an_opening_on_a_business_day_with_exactly_count_business_days_passed(
    released, count
):
    calendar = BusinessCalendar()
    end = calendar.opening_after_business_days(released, count).astimezone(TOKYO)
    assert end.time() == time(9, 0)
    assert calendar.is_business_day(end.date())
    start = released.astimezone(TOKYO).date()
    between = [
        start + timedelta(days=n)
        for n in range(1, (end.date() - start).days + 1)
        if calendar.is_business_day(start + timedelta(days=n))
    ]
    assert len(between) == count
