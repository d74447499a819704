"""The rules where the terms are silent, and the calendar's input checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.calendar import (
    JST,
    BusinessCalendar,
    CalendarError,
    Closure,
    DateOutOfRange,
    InvalidBusinessHours,
    InvalidClosure,
    NaiveDatetime,
    NoBusinessDay,
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
    with pytest.raises(DateOutOfRange) as late:
        CALENDAR.next_business_day(date(2099, 12, 28))  # the year-end closure runs into 2100
    assert late.type is DateOutOfRange  # no closure is to blame: not NoBusinessDay
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


def test_the_last_schedulable_instant_is_the_last_cutoff_before_the_year_end_of_2099() -> None:
    # Monday 2099-12-28 is the last business day the holiday data covers.
    assert CALENDAR.schedule(jst(2099, 12, 28, 16, 59, 59)).same_day
    for accept in (jst(2099, 12, 28, 17, 0), datetime(2099, 12, 31, 15, 0, tzinfo=UTC)):
        with pytest.raises(DateOutOfRange) as caught:
            CALENDAR.schedule(accept)
        assert caught.type is DateOutOfRange


def test_closures_leaving_no_business_day_up_to_2099_raise_no_business_day() -> None:
    calendar = BusinessCalendar([Closure(date(2099, 6, 1), date(2099, 12, 28), "長期休業")])
    with pytest.raises(NoBusinessDay) as caught:
        calendar.schedule(jst(2099, 5, 29, 18, 0))  # Friday evening, before the closure
    assert caught.value.reason == "NO_BUSINESS_DAY"
    assert isinstance(caught.value, DateOutOfRange)
    assert calendar.schedule(jst(2099, 5, 29, 16, 0)).same_day  # before it, still answered


def test_adjacent_year_long_closures_leave_no_business_day() -> None:
    closures = [
        Closure(date(2098, 1, 5), date(2099, 1, 5), "一"),
        Closure(date(2099, 1, 6), date(2099, 12, 31), "二"),
    ]
    with pytest.raises(NoBusinessDay):
        BusinessCalendar(closures).next_business_day(date(2098, 1, 2))


def test_a_closure_run_chains_closures_with_no_business_day_between_them() -> None:
    calendar = BusinessCalendar(
        [
            Closure(date(2026, 8, 10), date(2026, 8, 14), "夏期休暇"),  # Mon-Fri
            Closure(date(2026, 8, 17), date(2026, 8, 18), "延長"),  # after the weekend
            Closure(date(2026, 8, 20), date(2026, 8, 21), "別件"),  # Wed 19th is open
            Closure(date(2026, 12, 21), date(2026, 12, 28), "年末"),  # into the year-end
            Closure(date(2027, 1, 4), date(2027, 1, 8), "年始"),
        ]
    )
    assert calendar.closure_run(date(2026, 8, 10)) == (date(2026, 8, 10), date(2026, 8, 18))
    assert calendar.closure_run(date(2026, 8, 18)) == (date(2026, 8, 10), date(2026, 8, 18))
    assert calendar.closure_run(date(2026, 8, 20)) == (date(2026, 8, 20), date(2026, 8, 21))
    assert calendar.closure_run(date(2027, 1, 8)) == (date(2026, 12, 21), date(2027, 1, 8))
    assert calendar.closure_run(date(2026, 8, 19)) is None
    assert calendar.closure_run(date(2026, 12, 30)) is None  # the year-end rule alone


def test_without_the_year_end_rule_it_does_not_chain_closures() -> None:
    closures = [
        Closure(date(2026, 12, 21), date(2026, 12, 28), "年末"),
        Closure(date(2027, 1, 4), date(2027, 1, 8), "年始"),
    ]
    calendar = BusinessCalendar(closures, year_end_closure=False)
    assert calendar.closure_run(date(2027, 1, 4)) == (date(2027, 1, 4), date(2027, 1, 8))
