"""The worked examples of SPEC section 3, with the default calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scheduler.calendar import JST, BusinessCalendar

CALENDAR = BusinessCalendar()


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def test_friday_1659_59_is_released_at_once_and_due_the_same_day() -> None:
    accept = jst(2026, 11, 20, 16, 59, 59)
    plan = CALENDAR.schedule(accept)
    assert plan.same_day
    assert plan.due_date == date(2026, 11, 20)
    assert plan.release_time == accept
    assert plan.accepted_at == accept.astimezone(UTC)


def test_friday_1700_skips_labour_thanksgiving_monday_to_tuesday_opening() -> None:
    plan = CALENDAR.schedule(jst(2026, 11, 20, 17, 0, 0))
    assert CALENDAR.non_business_reason(date(2026, 11, 23)) == "Labor Thanksgiving Day"
    assert not plan.same_day
    assert plan.due_date == date(2026, 11, 24)
    assert plan.release_time == jst(2026, 11, 24, 9, 0)


def test_friday_1730_before_golden_week_skips_the_may_6_substitute_holiday() -> None:
    plan = CALENDAR.schedule(jst(2026, 5, 1, 17, 30))
    assert [CALENDAR.is_business_day(date(2026, 5, d)) for d in (4, 5, 6)] == [False] * 3
    assert plan.due_date == date(2026, 5, 7)
    assert plan.release_time == jst(2026, 5, 7, 9, 0)


def test_friday_1800_before_silver_week_skips_the_citizens_holiday() -> None:
    plan = CALENDAR.schedule(jst(2026, 9, 18, 18, 0))
    assert [CALENDAR.is_business_day(date(2026, 9, d)) for d in (21, 22, 23)] == [False] * 3
    assert plan.due_date == date(2026, 9, 24)
    assert plan.release_time == jst(2026, 9, 24, 9, 0)


def test_monday_dec_28_1730_waits_for_the_end_of_the_year_end_closure() -> None:
    plan = CALENDAR.schedule(jst(2026, 12, 28, 17, 30))
    assert plan.due_date == date(2027, 1, 4)
    assert plan.release_time == jst(2027, 1, 4, 9, 0)
    assert plan.release_time == datetime(2027, 1, 4, 0, 0, tzinfo=UTC)
