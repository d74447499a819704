"""Closures: the yearly year-end closure, configured closures, their TOML form,
their validation, and what a closure added later does to a pending request."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from scheduler.calendar import (
    JST,
    YEAR_END_LABEL,
    BusinessCalendar,
    CalendarError,
    Closure,
    InvalidClosure,
    InvalidClosuresFile,
    parse_closures_toml,
    release_after_calendar_change,
)

SUMMER_TOML = """
# 夏期休暇 2026
[[closures]]
start = 2026-08-12
end = 2026-08-14
label = "夏期休暇"

[[closures]]
start = "2026-10-30"
end = "2026-10-30"
label = "  System maintenance  "
"""


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


@pytest.mark.parametrize("year", [2000, 2013, 2026, 2098])
def test_dec_29_to_jan_3_is_closed_every_year(year: int) -> None:
    calendar = BusinessCalendar()
    closed = [date(year, 12, d) for d in (29, 30, 31)] + [date(year + 1, 1, d) for d in (1, 2, 3)]
    assert [calendar.closure_label(day) for day in closed] == [YEAR_END_LABEL] * 6
    assert not any(calendar.is_business_day(day) for day in closed)
    assert calendar.closure_label(date(year, 12, 28)) is None
    assert calendar.closure_label(date(year + 1, 1, 4)) is None


def test_the_year_end_closure_can_be_turned_off() -> None:
    calendar = BusinessCalendar(year_end_closure=False)
    assert calendar.is_business_day(date(2026, 12, 29))  # a Tuesday
    assert calendar.next_business_day(date(2026, 12, 28)) == date(2026, 12, 29)


def test_year_end_closure_is_reported_after_the_new_years_day_holiday() -> None:
    calendar = BusinessCalendar()
    assert calendar.non_business_reason(date(2027, 1, 1)) == "New Year's Day"
    assert calendar.non_business_reason(date(2027, 1, 2)) == YEAR_END_LABEL  # a Saturday
    assert calendar.non_business_reason(date(2027, 1, 4)) is None


def test_summer_closure_from_toml_pushes_requests_past_it() -> None:
    closures = parse_closures_toml(SUMMER_TOML)
    assert closures == [
        Closure(date(2026, 8, 12), date(2026, 8, 14), "夏期休暇"),
        Closure(date(2026, 10, 30), date(2026, 10, 30), "System maintenance"),
    ]
    calendar = BusinessCalendar(closures)
    assert calendar.non_business_reason(date(2026, 8, 13)) == "夏期休暇"
    # Tue Aug 11 is Mountain Day, Aug 12-14 closed, then the weekend.
    plan = calendar.schedule(jst(2026, 8, 10, 17, 0))
    assert (plan.due_date, plan.release_time) == (date(2026, 8, 17), jst(2026, 8, 17, 9, 0))
    assert calendar.schedule(jst(2026, 10, 29, 18, 0)).due_date == date(2026, 11, 2)


def test_an_empty_closures_file_means_no_closures() -> None:
    assert parse_closures_toml("") == []
    assert parse_closures_toml("# nothing yet\n") == []


@pytest.mark.parametrize(
    ("start", "end", "label", "message"),
    [
        (date(2026, 8, 14), date(2026, 8, 12), "x", "before start"),
        (date(2026, 8, 12), date(2026, 8, 14), "", "non-empty"),
        (date(2026, 8, 12), date(2026, 8, 14), "   ", "non-empty"),
        (date(2026, 8, 12), date(2026, 8, 14), "a\nb", "control characters"),
        (date(2026, 8, 12), date(2026, 8, 14), "x" * 201, "longer than"),
        (date(2028, 1, 1), date(2029, 1, 1), "x", "367 days"),
        (date(1999, 12, 31), date(2000, 1, 2), "x", "outside"),
        (date(2099, 12, 31), date(2100, 1, 1), "x", "outside"),
        (datetime(2026, 8, 12, 0, 0), date(2026, 8, 14), "x", "must be a date"),
        ("2026-08-12", date(2026, 8, 14), "x", "must be a date"),
    ],
)
def test_absurd_closures_are_refused_with_invalid_closure(start, end, label, message) -> None:
    with pytest.raises(InvalidClosure, match=message) as caught:
        Closure(start, end, label)
    assert caught.value.reason == "INVALID_CLOSURE"
    assert isinstance(caught.value, ValueError)


def test_a_closure_of_exactly_366_days_is_accepted() -> None:
    closure = Closure(date(2028, 1, 1), date(2028, 12, 31), "leap year")
    assert closure.days == 366
    assert closure.contains(date(2028, 1, 1))
    assert closure.contains(date(2028, 12, 31))
    assert not closure.contains(date(2029, 1, 1))


@pytest.mark.parametrize(
    ("text", "reason", "message"),
    [
        ("[[closures]\nstart=", "INVALID_CLOSURES_FILE", "not valid TOML"),
        ("closure = []", "INVALID_CLOSURES_FILE", "unknown top-level keys"),
        ("closures = 3", "INVALID_CLOSURES_FILE", "array of tables"),
        ("closures = [1]", "INVALID_CLOSURES_FILE", r"closures\[0\] must be a table"),
        (
            '[[closures]]\nstart = 2026-08-12\nlabel = "x"',
            "INVALID_CLOSURES_FILE",
            r"missing keys \['end'\]",
        ),
        (
            '[[closures]]\nstart = 2026-08-12\nend = 2026-08-12\nlabel = "x"\nlabal = "y"',
            "INVALID_CLOSURES_FILE",
            r"unknown keys \['labal'\]",
        ),
        (
            '[[closures]]\nstart = 2026-08-12\nend = 2026-08-12\nlabel = "x"\n'
            '[[closures]]\nstart = 2026-08-14\nend = 2026-08-12\nlabel = "y"',
            "INVALID_CLOSURE",
            r"closures\[1\]: end 2026-08-12 is before start 2026-08-14",
        ),
        (
            '[[closures]]\nstart = 2026-08-12T09:00:00\nend = 2026-08-12\nlabel = "x"',
            "INVALID_CLOSURE",
            "without a time",
        ),
        (
            '[[closures]]\nstart = "20260812"\nend = 2026-08-12\nlabel = "x"',
            "INVALID_CLOSURE",
            "must be a date such as",
        ),
        (
            '[[closures]]\nstart = "2026-02-30"\nend = 2026-08-12\nlabel = "x"',
            "INVALID_CLOSURE",
            "must be a date such as",
        ),
        (
            "[[closures]]\nstart = 2026-08-12\nend = 2026-08-12\nlabel = 7",
            "INVALID_CLOSURE",
            "label must be a string",
        ),
    ],
)
def test_bad_closures_files_are_refused_with_a_clear_reason(text, reason, message) -> None:
    with pytest.raises(CalendarError, match=message) as caught:
        parse_closures_toml(text)
    assert caught.value.reason == reason
    assert isinstance(caught.value, InvalidClosure)
    assert isinstance(caught.value, InvalidClosuresFile) == (reason == "INVALID_CLOSURES_FILE")


def test_a_closure_added_later_moves_the_release_and_flags_the_promise_at_risk() -> None:
    accepted = jst(2026, 8, 7, 18, 0)  # Friday after the cutoff
    before = BusinessCalendar().schedule(accepted)
    assert (before.due_date, before.release_time) == (date(2026, 8, 10), jst(2026, 8, 10, 9, 0))

    closed = BusinessCalendar().with_closures(
        [Closure(date(2026, 8, 10), date(2026, 8, 14), "夏期休暇")]
    )
    moved = release_after_calendar_change(accepted, before.due_date, closed)
    assert moved.due_date == date(2026, 8, 10)  # the promise does not change
    assert moved.release_time == jst(2026, 8, 17, 9, 0)
    assert moved.at_risk


def test_a_closure_elsewhere_leaves_a_pending_request_as_it_was() -> None:
    accepted = jst(2026, 8, 7, 18, 0)
    before = BusinessCalendar().schedule(accepted)
    calendar = BusinessCalendar([Closure(date(2026, 9, 1), date(2026, 9, 4), "other")])
    after = release_after_calendar_change(accepted, before.due_date, calendar)
    assert (after.release_time, after.at_risk) == (before.release_time, False)


def test_removing_a_closure_brings_the_release_forward_without_risk() -> None:
    summer = Closure(date(2026, 8, 10), date(2026, 8, 14), "夏期休暇")
    accepted = jst(2026, 8, 7, 18, 0)
    before = BusinessCalendar([summer]).schedule(accepted)
    assert before.due_date == date(2026, 8, 17)
    after = release_after_calendar_change(accepted, before.due_date, BusinessCalendar())
    assert (after.due_date, after.release_time, after.at_risk) == (
        date(2026, 8, 17),
        jst(2026, 8, 10, 9, 0),
        False,
    )


def test_a_closure_over_a_same_day_request_puts_it_at_risk() -> None:
    accepted = jst(2026, 8, 7, 10, 0)  # Friday morning: due and released at once
    before = BusinessCalendar().schedule(accepted)
    assert before.same_day
    closed = BusinessCalendar([Closure(date(2026, 8, 7), date(2026, 8, 7), "停電")])
    after = release_after_calendar_change(accepted, before.due_date, closed)
    assert after.release_time == jst(2026, 8, 10, 9, 0)
    assert after.at_risk


def test_overlapping_and_adjacent_closures_are_skipped_as_one() -> None:
    calendar = BusinessCalendar(
        [
            Closure(date(2026, 6, 1), date(2026, 6, 10), "a"),
            Closure(date(2026, 6, 5), date(2026, 6, 12), "b"),
            Closure(date(2026, 6, 13), date(2026, 6, 20), "c"),
        ]
    )
    assert calendar.next_business_day(date(2026, 5, 29)) == date(2026, 6, 22)
    assert calendar.non_business_reason(date(2026, 6, 6)) == "a"
    assert calendar.non_business_reason(date(2026, 6, 11)) == "b"


def test_with_closures_replaces_the_closures_and_keeps_the_rest() -> None:
    summer = Closure(date(2026, 8, 12), date(2026, 8, 14), "夏期休暇")
    base = BusinessCalendar(
        [Closure(date(2026, 5, 1), date(2026, 5, 1), "old")],
        cutoff=time(16, 30),
        opening=time(8, 30),
        year_end_closure=False,
    )
    changed = base.with_closures([summer])
    assert changed.closures == (summer,)
    assert base.closures == (Closure(date(2026, 5, 1), date(2026, 5, 1), "old"),)
    assert (changed.cutoff, changed.opening, changed.year_end_closure) == (
        base.cutoff,
        base.opening,
        base.year_end_closure,
    )
    same = BusinessCalendar(
        [summer], cutoff=time(16, 30), opening=time(8, 30), year_end_closure=False
    )
    assert changed == same
    assert hash(changed) == hash(same)
    assert changed != BusinessCalendar([summer])
