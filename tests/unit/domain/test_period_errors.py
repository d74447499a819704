"""What each refusal of the support-period rules says: its field, its message and
its metadata, as clients read them in the ErrorInfo and people in the message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from keysvc.domain.errors import InvalidArgument
from keysvc.domain.periods import (
    Coverage,
    Period,
    add_licenses,
    coverage_on,
    current_period,
    first_of_month,
    jst_date,
    support_end_for,
    year_end,
)
from keysvc.domain.reissue import reissue_needs_hold
from keysvc.domain.support_errors import InvalidPeriod, SupportExpired

FIRST = Period.starting(date(2026, 12, 1))  # … 2027-11-30
PURCHASE = date(2026, 11, 2)
NOT_A_DATE = datetime(2027, 1, 1, 9, 0)


def _refusal(call) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: coverage_on(NOT_A_DATE, PURCHASE, [FIRST]), "day"),
        (lambda: coverage_on(date(2027, 1, 1), NOT_A_DATE, [FIRST]), "purchase_date"),
        (lambda: current_period(NOT_A_DATE, [FIRST]), "day"),
        (lambda: year_end(NOT_A_DATE), "start"),
        (lambda: Period(NOT_A_DATE, date(2027, 1, 1)), "start"),
        (lambda: Period(date(2027, 1, 1), NOT_A_DATE), "end"),
    ],
)
def test_a_datetime_where_a_calendar_date_belongs_is_refused_naming_the_field(call, field):
    refusal = _refusal(call)
    assert refusal.metadata == {"field": field}
    assert refusal.message == f"{field} must be a calendar date, not datetime"


def test_a_contract_without_seats_is_refused_with_its_message():
    refusal = _refusal(
        lambda: add_licenses(
            0, 1, bought_on=date(2027, 1, 5), purchase_date=PURCHASE, periods=[FIRST]
        )
    )
    assert (refusal.field, refusal.message) == ("seats", "a contract has at least one seat")


def test_adding_no_license_is_refused_with_its_message():
    refusal = _refusal(
        lambda: add_licenses(
            5, 0, bought_on=date(2027, 1, 5), purchase_date=PURCHASE, periods=[FIRST]
        )
    )
    assert (refusal.field, refusal.message) == (
        "additional_seats",
        "at least one license must be added",
    )


def test_a_period_ending_before_it_starts_says_both_days():
    with pytest.raises(InvalidPeriod) as caught:
        Period(date(2027, 1, 2), date(2027, 1, 1))
    assert caught.value.message == "a period cannot end (2027-01-01) before it starts (2027-01-02)"


def test_overlapping_periods_say_which():
    overlapping = Period(FIRST.end, FIRST.end + timedelta(days=30))
    with pytest.raises(InvalidPeriod) as caught:
        current_period(date(2027, 1, 1), [overlapping, FIRST])
    assert caught.value.message == (
        "periods 2026-12-01…2027-11-30 and 2027-11-30…2027-12-30 overlap"
    )


def test_a_key_for_a_contract_without_periods_is_refused_with_its_message():
    refusal = _refusal(lambda: support_end_for(date(2027, 1, 1), []))
    assert (refusal.field, refusal.message) == (
        "periods",
        "a contract has at least one support period",
    )


def test_a_contract_without_periods_is_covered_by_nothing_from_its_purchase():
    day = date(2027, 1, 1)
    assert coverage_on(day, PURCHASE, []) == Coverage(day, False, None, PURCHASE, None)


def test_coverage_after_the_last_period_keeps_its_start_and_period():
    day = FIRST.end + timedelta(days=1)
    assert coverage_on(day, PURCHASE, [FIRST]) == Coverage(day, False, FIRST, PURCHASE, None)


def test_support_that_ended_names_its_last_day():
    day = FIRST.end + timedelta(days=1)
    with pytest.raises(SupportExpired) as caught:
        coverage_on(day, PURCHASE, [FIRST]).require("adding licenses")
    assert caught.value.message == "adding licenses needs support, which ended on 2027-11-30"
    assert caught.value.metadata == {
        "day": "2027-12-01",
        "service": "adding licenses",
        "last_covered_day": "2027-11-30",
    }


def test_support_that_has_not_started_says_so():
    day = PURCHASE - timedelta(days=1)
    with pytest.raises(SupportExpired) as caught:
        coverage_on(day, PURCHASE, [FIRST]).require("a re-issue")
    assert caught.value.message == "a re-issue needs support, which has not started on 2026-11-01"
    assert caught.value.metadata == {"day": "2026-11-01", "service": "a re-issue"}


def test_the_first_of_the_month_without_a_move_is_of_the_same_month():
    assert first_of_month(date(2026, 11, 22)) == date(2026, 11, 1)


def test_a_naive_instant_says_it_needs_a_time_zone():
    refusal = _refusal(lambda: jst_date(datetime(2026, 11, 22, 12, 0), field="accept_time"))
    assert refusal.message == "accept_time must carry a time zone"


def test_a_naive_earlier_reissue_says_it_needs_a_time_zone():
    accepted = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    refusal = _refusal(lambda: reissue_needs_hold([datetime(2026, 5, 1, 12, 0)], accepted))
    assert refusal.field == "previous_reissue_times"
    assert refusal.message == "previous_reissue_times must be instants with a time zone"
