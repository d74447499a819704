"""Properties of periods, renewals, coverage and the re-issue limit (hypothesis)."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from hypothesis import assume, example, given
from hypothesis import strategies as st

from keysvc.domain import (
    POLICIES,
    REISSUE_LIMIT,
    REISSUE_WINDOW,
    Period,
    RecontinuationRequired,
    SupportPolicy,
    coverage_on,
    first_period,
    recontinuation_threshold,
    reissue_needs_hold,
    renewal_period,
    support_end_for,
    year_end,
)

ONE_DAY = timedelta(days=1)
policies = st.sampled_from(list(POLICIES.values()))


@st.composite
def month_ends(draw: st.DrawFn) -> date:
    year = draw(st.integers(2000, 2090))
    month = draw(st.integers(1, 12))
    return date(year, month, calendar.monthrange(year, month)[1])


leap_days = st.integers(2000, 2088).filter(calendar.isleap).map(lambda y: date(y, 2, 29))
# Any day, with month ends, 1sts and 29 February drawn far more often than by chance.
days = st.one_of(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    month_ends(),
    leap_days,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)).map(
        lambda d: d.replace(day=1)
    ),
)


def is_month_end(day: date) -> bool:
    return (day + ONE_DAY).day == 1


@given(days)
@example(date(2028, 2, 29))
@example(date(2027, 3, 1))
def test_a_period_is_exactly_one_year_less_a_day(start: date) -> None:
    period = Period.starting(start)
    if (start.month, start.day) == (2, 29):
        # No 29 February next year: the year ends on 28 February (民法 143 条 2 項).
        assert period.end == date(start.year + 1, 2, 28)
    else:
        assert period.end == start + relativedelta(years=1) - ONE_DAY
    assert (period.end - period.start).days + 1 in (365, 366)
    assert period.start < period.end


@given(days)
def test_consecutive_years_tile_the_calendar(start: date) -> None:
    period = Period.starting(start)
    following = Period.starting(period.next_start)
    assert following.start == period.end + ONE_DAY
    assert year_end(following.start) == following.end


@given(policies, days)
def test_first_period_never_starts_before_acceptance(policy: SupportPolicy, accepted: date) -> None:
    period = first_period(policy, accepted)
    assert period.start >= accepted
    assert period.start - accepted < timedelta(days=62)
    if policy.name == "neo-webconf":
        assert period.start > accepted


@given(policies, days)
def test_policy_periods_run_from_a_1st_to_a_month_end(
    policy: SupportPolicy, accepted: date
) -> None:
    period = first_period(policy, accepted)
    assert period.start.day == 1
    assert is_month_end(period.end)
    assert (period.start.month - period.end.month) % 12 == 1


@st.composite
def renewal_histories(
    draw: st.DrawFn, *, on_time: bool
) -> tuple[SupportPolicy, date, list[Period]]:
    """A policy, a purchase date and the periods of up to five renewals."""
    policy = draw(policies)
    accepted = draw(days.filter(lambda d: d.year <= 2080))
    periods = [first_period(policy, accepted)]
    for _ in range(draw(st.integers(0, 5))):
        last = periods[-1]
        if on_time:
            # Any day from the purchase to the last day of the current period.
            offset = draw(st.integers(0, (last.end - accepted).days))
            renewal_day = accepted + timedelta(days=offset)
        else:
            renewal_day = last.end + timedelta(days=draw(st.integers(-400, 364)))
        periods.append(renewal_period(policy, last, renewal_day))
    return policy, accepted, periods


@given(renewal_histories(on_time=False))
def test_periods_never_overlap_and_follow_each_other(
    history: tuple[SupportPolicy, date, list[Period]],
) -> None:
    _, _, periods = history
    for earlier, later in itertools.pairwise(periods):
        assert later.start > earlier.end
        assert later.start.day == 1


@given(renewal_histories(on_time=True), st.data())
def test_coverage_is_continuous_while_renewals_are_on_time(
    history: tuple[SupportPolicy, date, list[Period]], data: st.DataObject
) -> None:
    _, purchased, periods = history
    for earlier, later in itertools.pairwise(periods):
        assert later.start == earlier.end + ONE_DAY
    assert coverage_on(purchased, purchased, periods).covered_until == periods[-1].end
    day = data.draw(st.dates(min_value=purchased, max_value=periods[-1].end))
    coverage = coverage_on(day, purchased, periods)
    assert coverage.covered
    assert coverage.covered_until == periods[-1].end
    assert coverage.period is not None
    assert support_end_for(day, periods) == coverage.period.end >= day
    assert not coverage_on(periods[-1].end + ONE_DAY, purchased, periods).covered
    assert not coverage_on(purchased - ONE_DAY, purchased, periods).covered


@given(renewal_histories(on_time=False), st.data())
def test_a_day_is_covered_exactly_when_a_period_or_the_pre_period_holds_it(
    history: tuple[SupportPolicy, date, list[Period]], data: st.DataObject
) -> None:
    _, purchased, periods = history
    day = data.draw(
        st.dates(min_value=purchased - timedelta(days=40), max_value=periods[-1].end + ONE_DAY)
    )
    expected = purchased <= day < periods[0].start or any(p.contains(day) for p in periods)
    assert coverage_on(day, purchased, periods).covered == expected


@given(days, st.integers(-30, 800))
def test_backup_plain_renewal_is_refused_exactly_from_a_year_after_expiry(
    start: date, lapse: int
) -> None:
    backup = POLICIES["neo-backup"]
    previous = Period.starting(start.replace(day=1))
    accepted = previous.end + timedelta(days=lapse)
    threshold = previous.end + relativedelta(years=1)
    assert recontinuation_threshold(backup, previous.end) == threshold
    try:
        renewal = renewal_period(backup, previous, accepted)
    except RecontinuationRequired:
        assert accepted >= threshold
        renewal = renewal_period(backup, previous, accepted, recontinuation=True)
    else:
        assert accepted < threshold
    assert renewal.start > previous.end
    assert renewal.start >= min(accepted, previous.end + ONE_DAY)


@given(days, st.integers(-30, 4000))
def test_webconf_renewal_always_starts_the_day_after_the_previous_end(
    start: date, lapse: int
) -> None:
    previous = Period.starting(start.replace(day=1))
    accepted = previous.end + timedelta(days=lapse)
    renewal = renewal_period(POLICIES["neo-webconf"], previous, accepted)
    assert renewal.start == previous.end + ONE_DAY


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@given(st.lists(instants, max_size=40))
def test_requests_that_pass_never_exceed_the_limit_in_any_window(
    arrivals: list[datetime],
) -> None:
    passed: list[datetime] = []
    for arrival in sorted(arrivals):
        if not reissue_needs_hold(passed, arrival):
            passed.append(arrival)
    for anchor in passed:
        in_window = [t for t in passed if anchor - REISSUE_WINDOW <= t <= anchor]
        assert len(in_window) <= REISSUE_LIMIT


@given(st.lists(instants, max_size=10), instants, instants)
def test_a_reissue_outside_the_window_never_changes_the_decision(
    previous: list[datetime], accepted: datetime, extra: datetime
) -> None:
    assume(not accepted - REISSUE_WINDOW <= extra <= accepted)
    assert reissue_needs_hold([*previous, extra], accepted) == reissue_needs_hold(
        previous, accepted
    )
