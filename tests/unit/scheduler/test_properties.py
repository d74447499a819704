"""Properties that hold for every instant and every calendar (hypothesis)."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from scheduler.calendar import (
    JST,
    BusinessCalendar,
    CalendarError,
    Closure,
    parse_closures_toml,
    release_after_calendar_change,
)

ZONES = [
    UTC,
    JST,
    ZoneInfo("America/Los_Angeles"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Pacific/Kiritimati"),
    timezone(timedelta(hours=-12)),
]

instants = st.datetimes(
    min_value=datetime(2000, 1, 2),
    max_value=datetime(2098, 12, 1),
    timezones=st.sampled_from(ZONES),
)


@st.composite
def closures(draw: st.DrawFn) -> Closure:
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 6, 30)))
    length = draw(st.one_of(st.integers(1, 10), st.integers(1, 366)))
    return Closure(start, start + timedelta(days=length - 1), draw(st.sampled_from(["夏期", "x"])))


calendars = st.builds(
    BusinessCalendar,
    st.lists(closures(), max_size=6),
    year_end_closure=st.booleans(),
)


@given(instants, calendars)
def test_release_is_never_before_acceptance(accept: datetime, calendar: BusinessCalendar) -> None:
    assert calendar.schedule(accept).release_time >= accept


@given(instants, calendars)
def test_release_is_on_a_business_day_at_opening_unless_same_day(
    accept: datetime, calendar: BusinessCalendar
) -> None:
    plan = calendar.schedule(accept)
    release = plan.release_time.astimezone(JST)
    assert calendar.is_business_day(release.date())
    assert plan.same_day or release.time() == calendar.opening
    assert plan.same_day or plan.release_time > accept


@given(instants, calendars)
def test_due_date_is_the_jst_date_of_the_release(
    accept: datetime, calendar: BusinessCalendar
) -> None:
    plan = calendar.schedule(accept)
    assert plan.due_date == plan.release_time.astimezone(JST).date()


@given(instants, calendars)
# 02:00 on 2024-03-10 does not exist in Los Angeles (the DST gap).
@example(datetime(2024, 3, 10, 2, 0, tzinfo=ZoneInfo("America/Los_Angeles")), BusinessCalendar())
def test_same_day_exactly_when_released_at_acceptance(
    accept: datetime, calendar: BusinessCalendar
) -> None:
    plan = calendar.schedule(accept)
    assert plan.same_day == (plan.release_time == plan.accepted_at)
    assert plan.same_day == (plan.due_date == accept.astimezone(JST).date())
    # Compare in UTC: PEP 495 makes instants in a DST gap unequal to any other zone's.
    assert plan.accepted_at == accept.astimezone(UTC)
    assert plan.accepted_at.tzinfo is UTC
    assert plan.release_time.tzinfo is UTC


@given(instants, calendars)
def test_no_business_day_is_skipped_before_the_due_date(
    accept: datetime, calendar: BusinessCalendar
) -> None:
    plan = calendar.schedule(accept)
    day = accept.astimezone(JST).date() + timedelta(days=1)
    while day < plan.due_date:
        assert not calendar.is_business_day(day)
        day += timedelta(days=1)


@given(instants, calendars, st.sampled_from(ZONES))
def test_the_zone_an_instant_is_given_in_changes_nothing(
    accept: datetime, calendar: BusinessCalendar, zone
) -> None:
    assert calendar.schedule(accept) == calendar.schedule(accept.astimezone(zone))


@given(instants, calendars, closures())
def test_adding_a_closure_only_delays_and_flags_risk_exactly_when_late(
    accept: datetime, calendar: BusinessCalendar, added: Closure
) -> None:
    before = calendar.schedule(accept)
    after = release_after_calendar_change(
        accept, before.due_date, calendar.with_closures([*calendar.closures, added])
    )
    assert after.due_date == before.due_date
    assert after.release_time >= before.release_time
    assert after.at_risk == (after.release_time.astimezone(JST).date() > before.due_date)


@given(st.text())
def test_parsing_any_text_raises_only_calendar_errors(text: str) -> None:
    with contextlib.suppress(CalendarError):
        parse_closures_toml(text)


toml_values = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f'"{d.isoformat()}"'),
    st.text(max_size=12).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.integers().map(str),
    st.just("2026-08-12T09:00:00"),
    st.just("[]"),
)


@given(
    st.lists(
        st.dictionaries(st.sampled_from(["start", "end", "label", "other"]), toml_values),
        max_size=3,
    )
)
def test_parsing_closure_shaped_documents_raises_only_calendar_errors(tables) -> None:
    text = "\n".join(
        "[[closures]]\n" + "\n".join(f"{key} = {value}" for key, value in table.items())
        for table in tables
    )
    try:
        result = parse_closures_toml(text)
    except CalendarError:
        return
    assert len(result) == len(tables)
