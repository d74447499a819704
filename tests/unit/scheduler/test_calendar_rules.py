"""The rules where the terms are silent, and the calendar's input checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.calendar import (
    JST,
    BusinessCalendar,
    CalendarError,
    DateOutOfRange,
    InvalidBusinessHours,
    InvalidClosure,
    NaiveDatetime,
)

CALENDAR = BusinessCalendar()


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def test_request_before_opening_on_a_business_day_is_released_at_once() -> None:
    accept = jst(2026, 11, 24, 8, 0)  # Tuesday, before 09:00
    plan = CALENDAR.schedule(accept)
    assert (plan.due_date, plan.release_time, plan.same_day) == (date(2026, 11, 24), accept, True)


def test_request_at_exactly_1700_is_after_the_cutoff() -> None:
    plan = CALENDAR.schedule(jst(2026, 11, 24, 17, 0, 0, 0))
    assert not plan.same_day
    assert plan.due_date == date(2026, 11, 25)
    assert CALENDAR.schedule(jst(2026, 11, 24, 16, 59, 59, 999_999)).same_day


def test_request_on_a_weekend_morning_is_due_the_next_business_day() -> None:
    plan = CALENDAR.schedule(jst(2026, 11, 21, 8, 0))  # Saturday
    assert (plan.due_date, plan.release_time) == (date(2026, 11, 24), jst(2026, 11, 24, 9, 0))


def test_the_day_is_the_jst_date_whatever_zone_the_instant_is_given_in() -> None:
    # Thursday 2026-11-19 23:30 in Los Angeles is Friday 16:30 in Tokyo: same day.
    accept = datetime(2026, 11, 19, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    plan = CALENDAR.schedule(accept)
    assert (plan.due_date, plan.same_day) == (date(2026, 11, 20), True)
    assert plan.accepted_at == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert plan.accepted_at.tzinfo is UTC
    assert plan.release_time.tzinfo is UTC
    # Friday 2026-11-20 08:30 UTC is 17:30 JST: after the cutoff.
    assert CALENDAR.schedule(datetime(2026, 11, 20, 8, 30, tzinfo=UTC)).due_date == date(
        2026, 11, 24
    )


def test_cutoff_and_opening_are_configurable() -> None:
    calendar = BusinessCalendar(cutoff=time(15, 30), opening=time(10, 0))
    assert calendar.schedule(jst(2026, 11, 24, 15, 29)).same_day
    plan = calendar.schedule(jst(2026, 11, 24, 15, 30))
    assert plan.release_time == jst(2026, 11, 25, 10, 0)


@pytest.mark.parametrize(
    ("opening", "cutoff"),
    [
        (time(17), time(9)),
        (time(9), time(9)),
        (time(9, tzinfo=UTC), time(17)),
        (time(9), time(17, tzinfo=timezone(timedelta(hours=9)))),
        ("09:00", time(17)),
    ],
)
def test_opening_must_be_a_naive_time_before_the_cutoff(opening, cutoff) -> None:
    with pytest.raises(InvalidBusinessHours) as caught:
        BusinessCalendar(opening=opening, cutoff=cutoff)
    assert caught.value.reason == "INVALID_BUSINESS_HOURS"


def test_naive_instants_are_refused() -> None:
    with pytest.raises(NaiveDatetime) as caught:
        CALENDAR.schedule(datetime(2026, 11, 20, 12, 0))
    assert caught.value.reason == "NAIVE_DATETIME"
    assert isinstance(caught.value, ValueError)


def test_a_date_is_not_an_instant() -> None:
    with pytest.raises(TypeError):
        CALENDAR.schedule(date(2026, 11, 20))  # type: ignore[arg-type]


def test_days_outside_the_supported_years_are_refused() -> None:
    for day in (date(1999, 12, 31), date(2100, 1, 1)):
        with pytest.raises(DateOutOfRange) as caught:
            CALENDAR.is_business_day(day)
        assert caught.value.reason == "DATE_OUT_OF_RANGE"
    with pytest.raises(DateOutOfRange):
        CALENDAR.next_business_day(date(2099, 12, 28))  # the year-end closure runs into 2100
    with pytest.raises(DateOutOfRange):
        CALENDAR.schedule(datetime(1999, 12, 31, 14, 59, tzinfo=UTC))
    assert CALENDAR.schedule(datetime(1999, 12, 31, 15, 0, tzinfo=UTC)).due_date == date(2000, 1, 4)


def test_only_closures_make_a_calendar() -> None:
    with pytest.raises(InvalidClosure):
        BusinessCalendar([("2026-08-12", "2026-08-14", "x")])  # type: ignore[list-item]


def test_holiday_names_come_in_the_chosen_language_not_the_hosts() -> None:
    assert BusinessCalendar(holiday_language="ja").non_business_reason(date(2026, 9, 22)) == (
        "国民の休日"
    )
    assert CALENDAR.non_business_reason(date(2026, 9, 22)) == "National Holiday"
    with pytest.raises(CalendarError):
        BusinessCalendar(holiday_language="fr")


def test_non_business_reason_names_weekends_and_says_none_for_business_days() -> None:
    assert CALENDAR.non_business_reason(date(2026, 11, 21)) == "Saturday"
    assert CALENDAR.non_business_reason(date(2026, 11, 22)) == "Sunday"
    assert CALENDAR.non_business_reason(date(2026, 11, 23)) == "Labor Thanksgiving Day"
    assert CALENDAR.non_business_reason(date(2026, 11, 24)) is None


def test_next_business_day_is_strictly_after_even_from_a_business_day() -> None:
    assert CALENDAR.next_business_day(date(2026, 11, 24)) == date(2026, 11, 25)
    assert CALENDAR.next_business_day(date(2026, 11, 20)) == date(2026, 11, 24)


def test_datetimes_are_not_days() -> None:
    with pytest.raises(TypeError):
        CALENDAR.is_business_day(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
