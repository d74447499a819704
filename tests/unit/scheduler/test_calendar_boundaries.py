"""The calendar at its edges: the first and last supported days, a closure's first
and last day, chains of closures, odd time zones, and the fingerprint stored
schedules are compared with."""

from __future__ import annotations

import time as host_time
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pytest

from scheduler.calendar import BusinessCalendar, Closure
from scheduler.calendar.business import as_utc, release_after_calendar_change
from scheduler.calendar.closures import YEAR_END_LABEL
from scheduler.calendar.errors import (
    CalendarError,
    DateOutOfRange,
    InvalidBusinessHours,
    InvalidClosure,
    NaiveDatetime,
    NoBusinessDay,
)

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)  # a Thursday
OPEN_YEAR_END = BusinessCalendar(year_end_closure=False)


def test_the_first_and_last_supported_days_are_accepted_and_their_neighbours_are_not():
    calendar = BusinessCalendar()
    assert calendar.closure_label(LAST_DAY) == YEAR_END_LABEL
    assert OPEN_YEAR_END.is_business_day(LAST_DAY)
    assert calendar.closure_label(FIRST_DAY) == YEAR_END_LABEL  # also New Year's Day
    for outside in (FIRST_DAY - timedelta(days=1), LAST_DAY + timedelta(days=1)):
        with pytest.raises(DateOutOfRange):
            calendar.is_business_day(outside)


def test_without_the_year_end_closure_the_last_day_is_the_next_business_day_of_the_one_before():
    assert OPEN_YEAR_END.next_business_day(date(2099, 12, 30)) == LAST_DAY


def test_after_the_last_supported_day_no_business_day_is_known():
    with pytest.raises(DateOutOfRange):
        OPEN_YEAR_END.next_business_day(LAST_DAY)


def test_a_closure_over_the_last_days_leaves_no_business_day_rather_than_an_unknown_one():
    calendar = OPEN_YEAR_END.with_closures([Closure(LAST_DAY, LAST_DAY, "臨時休業")])
    with pytest.raises(NoBusinessDay):
        calendar.next_business_day(date(2099, 12, 30))


SUMMER = Closure(date(2026, 8, 10), date(2026, 8, 14), "夏期休暇")  # Monday to Friday


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2026, 8, 9), None),  # the Sunday before: a weekend, no closure
        (SUMMER.start, "夏期休暇"),
        (SUMMER.end, "夏期休暇"),
        (date(2026, 8, 17), None),  # the Monday after
    ],
)
def test_a_closure_labels_its_first_and_last_day_and_no_other(day, label):
    assert BusinessCalendar([SUMMER]).closure_label(day) == label


# Chained by weekends only, then a business day (Friday 2026-09-04) before the fourth.
CHAIN = [
    Closure(date(2026, 8, 17), date(2026, 8, 21), "第一"),
    Closure(date(2026, 8, 24), date(2026, 8, 28), "第二"),
    Closure(date(2026, 8, 31), date(2026, 9, 3), "第三"),
    Closure(date(2026, 9, 7), date(2026, 9, 8), "第四"),
]


@pytest.mark.parametrize("day", [date(2026, 8, 17), date(2026, 8, 25), date(2026, 9, 3)])
def test_a_chain_of_closures_runs_from_its_first_start_to_its_last_end_from_any_member(day):
    assert BusinessCalendar(CHAIN).closure_run(day) == (date(2026, 8, 17), date(2026, 9, 3))


def test_a_closure_after_a_business_day_is_a_run_of_its_own():
    assert BusinessCalendar(CHAIN).closure_run(date(2026, 9, 8)) == (
        date(2026, 9, 7),
        date(2026, 9, 8),
    )
    assert BusinessCalendar(CHAIN).closure_run(date(2026, 9, 4)) is None


class _NoOffset(tzinfo):
    """A time zone that knows no offset: the instant is as good as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_an_instant_whose_zone_gives_no_offset_is_refused_as_naive():
    with pytest.raises(NaiveDatetime):
        as_utc(datetime(2026, 11, 20, 12, 0, tzinfo=_NoOffset()))


@pytest.fixture
def host_in_los_angeles(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    host_time.tzset()
    yield
    monkeypatch.undo()
    host_time.tzset()


def test_a_reschedule_is_the_same_whatever_the_host_s_time_zone(host_in_los_angeles):
    accepted = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)  # Friday 16:30 JST: due that day
    calendar = BusinessCalendar([Closure(date(2026, 11, 20), date(2026, 11, 20), "臨時休業")])
    moved = release_after_calendar_change(accepted, date(2026, 11, 20), calendar)
    assert moved.release_time == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # Tue 09:00 JST
    assert moved.at_risk
    kept = release_after_calendar_change(accepted, date(2026, 11, 20), BusinessCalendar())
    assert (kept.release_time, kept.at_risk) == (accepted, False)


def test_with_closures_keeps_every_other_setting():
    calendar = BusinessCalendar(year_end_closure=False, holiday_language="ja")
    replaced = calendar.with_closures([SUMMER])
    assert (replaced.holiday_language, replaced.year_end_closure) == ("ja", False)
    assert (replaced.cutoff, replaced.opening) == (calendar.cutoff, calendar.opening)
    assert replaced.closures == (SUMMER,)


def test_the_default_calendar_s_fingerprint_is_pinned():
    # Stored schedules are compared with it at every start: a change reschedules
    # every waiting request, so it must change only when the schedule does.
    assert BusinessCalendar().schedule_fingerprint() == (
        "a0df3bbb0491dda99a9ae09c215509eba1528a7ecb7570f623494bf26deeee30"
    )
    assert OPEN_YEAR_END.schedule_fingerprint() != BusinessCalendar().schedule_fingerprint()


def test_the_fingerprint_of_a_calendar_with_two_closures_is_pinned():
    calendar = BusinessCalendar(
        [
            Closure(date(2026, 8, 10), date(2026, 8, 14), "夏期休暇"),
            Closure(date(2026, 12, 21), date(2026, 12, 22), "臨時休業"),
        ]
    )
    assert calendar.schedule_fingerprint() == (
        "219f8bfa9af22e357339cab300f37059212d1e0e226758d569e66775674fc530"
    )


def test_two_chained_closures_run_together_from_the_first():
    calendar = BusinessCalendar(CHAIN[:2])
    assert calendar.closure_run(date(2026, 8, 17)) == (date(2026, 8, 17), date(2026, 8, 28))


def test_a_day_of_the_year_end_before_a_later_closure_is_labelled_year_end():
    calendar = BusinessCalendar([Closure(date(2027, 1, 12), date(2027, 1, 13), "臨時休業")])
    assert calendar.closure_label(date(2026, 12, 30)) == YEAR_END_LABEL


def test_a_release_moved_to_the_day_after_its_due_date_is_at_risk_in_any_host_zone(
    host_in_los_angeles,
):
    # Friday 18:00 JST: due Tuesday the 24th (Monday is a holiday); a closure on the
    # 24th moves the release to Wednesday 09:00 JST, still the 24th in Los Angeles.
    accepted = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    calendar = BusinessCalendar([Closure(date(2026, 11, 24), date(2026, 11, 24), "臨時休業")])
    moved = release_after_calendar_change(accepted, date(2026, 11, 24), calendar)
    assert moved.release_time == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert moved.at_risk


def test_what_the_calendar_says_when_it_cannot_schedule():
    with pytest.raises(DateOutOfRange) as unknown:
        OPEN_YEAR_END.next_business_day(LAST_DAY)
    assert (
        str(unknown.value) == "no business day known after 2099-12-31: the calendar ends 2099-12-31"
    )
    closed = OPEN_YEAR_END.with_closures([Closure(LAST_DAY, LAST_DAY, "臨時休業")])
    with pytest.raises(NoBusinessDay) as none:
        closed.next_business_day(date(2099, 12, 30))
    assert str(none.value) == (
        "the closures leave no business day after 2099-12-30 up to 2099-12-31"
    )


def test_what_as_utc_says_of_a_date_and_of_a_naive_instant():
    with pytest.raises(TypeError, match=r"^expected a datetime, not date$"):
        as_utc(date(2026, 11, 20))
    with pytest.raises(NaiveDatetime) as naive:
        as_utc(datetime(2026, 11, 20, 12, 0))
    assert str(naive.value) == "instant 2026-11-20T12:00:00 has no time zone"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime(2026, 11, 20, 12, 0, tzinfo=UTC), "expected a date, not datetime"),
        ("2026-11-20", "expected a date, not str"),
    ],
)
def test_a_day_that_is_not_a_calendar_date_says_what_it_is(value, message):
    with pytest.raises(TypeError) as caught:
        BusinessCalendar().is_business_day(value)
    assert str(caught.value) == message


def test_a_day_outside_the_supported_years_says_which_years():
    with pytest.raises(DateOutOfRange) as caught:
        BusinessCalendar().is_business_day(LAST_DAY + timedelta(days=1))
    assert str(caught.value) == "2100-01-01 is outside 2000-2099"


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (
            {"cutoff": "17:00"},
            InvalidBusinessHours,
            "cutoff must be a time without a time zone (JST)",
        ),
        (
            {"opening": time(9, 0, tzinfo=UTC)},
            InvalidBusinessHours,
            "opening must be a time without a time zone (JST)",
        ),
        (
            {"opening": time(17, 0), "cutoff": time(9, 0)},
            InvalidBusinessHours,
            "opening 17:00:00 must be before cutoff 09:00:00",
        ),
        (
            {"holiday_language": "fr"},
            CalendarError,
            "holiday_language must be one of ('en_US', 'ja')",
        ),
        ({"closures": ["2026-08-10"]}, InvalidClosure, "expected a Closure, not str"),
    ],
)
def test_a_calendar_refused_says_which_setting_and_why(settings, error, message):
    with pytest.raises(error) as caught:
        BusinessCalendar(**settings)
    assert str(caught.value) == message
