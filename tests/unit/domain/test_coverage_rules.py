"""Coverage: from the purchase date to the end of the last period, gaps excluded."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from keysvc.domain import (
    JST,
    POLICIES,
    Coverage,
    IceNotOffered,
    Period,
    SupportExpired,
    add_licenses,
    coverage_on,
    current_period,
    ice_entitled,
    require_ice_entitlement,
    require_reissue_entitlement,
    support_end_for,
)
from keysvc.domain.errors import FailedPrecondition, InvalidArgument

WEBCONF = POLICIES["neo-webconf"]
BACKUP = POLICIES["neo-backup"]

# neo-webconf bought and accepted on 2026-11-22: first period 2027-01-01 ... 2027-12-31.
WEBCONF_PURCHASE = date(2026, 11, 22)
WEBCONF_PERIODS = [Period(date(2027, 1, 1), date(2027, 12, 31))]

# neo-backup: 2026-12-01 ... 2027-11-30, lapsed, renewed 2028-01-10 -> 2028-02-01 ... 2029-01-31.
BACKUP_PURCHASE = date(2026, 11, 22)
FIRST = Period(date(2026, 12, 1), date(2027, 11, 30))
AFTER_LAPSE = Period(date(2028, 2, 1), date(2029, 1, 31))
BACKUP_PERIODS = [FIRST, AFTER_LAPSE]


def test_contract_is_covered_from_the_purchase_date_before_the_first_period() -> None:
    coverage = coverage_on(WEBCONF_PURCHASE, WEBCONF_PURCHASE, WEBCONF_PERIODS)
    assert coverage == Coverage(
        day=WEBCONF_PURCHASE,
        covered=True,
        period=WEBCONF_PERIODS[0],
        coverage_start=WEBCONF_PURCHASE,
        covered_until=date(2027, 12, 31),
    )


def test_contract_is_not_covered_before_its_purchase_date() -> None:
    coverage = coverage_on(date(2026, 11, 21), WEBCONF_PURCHASE, WEBCONF_PERIODS)
    assert not coverage.covered
    assert coverage.covered_until is None
    assert coverage.last_covered_day is None


def test_contract_is_covered_on_the_last_day_of_its_last_period_and_not_after() -> None:
    assert coverage_on(date(2027, 12, 31), WEBCONF_PURCHASE, WEBCONF_PERIODS).covered
    after = coverage_on(date(2028, 1, 1), WEBCONF_PURCHASE, WEBCONF_PERIODS)
    assert not after.covered
    assert after.period == WEBCONF_PERIODS[0]
    assert after.last_covered_day == date(2027, 12, 31)


def test_contract_is_not_covered_in_a_gap_between_periods() -> None:
    for day in (date(2027, 12, 1), date(2028, 1, 10), date(2028, 1, 31)):
        coverage = coverage_on(day, BACKUP_PURCHASE, BACKUP_PERIODS)
        assert not coverage.covered
        assert coverage.period == FIRST  # the lapsed one
        assert coverage.last_covered_day == date(2027, 11, 30)
    assert coverage_on(date(2028, 2, 1), BACKUP_PURCHASE, BACKUP_PERIODS).covered


def test_coverage_runs_on_through_periods_renewed_on_time() -> None:
    renewed = [*WEBCONF_PERIODS, Period(date(2028, 1, 1), date(2028, 12, 31))]
    coverage = coverage_on(date(2027, 6, 1), WEBCONF_PURCHASE, renewed)
    assert coverage.period == renewed[0]
    assert coverage.covered_until == date(2028, 12, 31)


def test_coverage_stops_at_a_gap() -> None:
    coverage = coverage_on(date(2027, 6, 1), BACKUP_PURCHASE, BACKUP_PERIODS)
    assert coverage.covered_until == date(2027, 11, 30)


def test_coverage_start_is_the_earlier_of_purchase_and_first_period() -> None:
    # neo-backup accepted on a 1st: the period starts that day; a purchase recorded later
    # does not cut the period short.
    periods = [Period(date(2026, 11, 1), date(2027, 10, 31))]
    coverage = coverage_on(date(2026, 11, 1), date(2026, 11, 3), periods)
    assert coverage.covered
    assert coverage.coverage_start == date(2026, 11, 1)


def test_contract_without_periods_is_never_covered() -> None:
    coverage = coverage_on(date(2027, 1, 1), date(2026, 1, 1), [])
    assert not coverage.covered
    assert coverage.period is None


def test_periods_may_be_given_in_any_order() -> None:
    day = date(2028, 6, 1)
    assert coverage_on(day, BACKUP_PURCHASE, BACKUP_PERIODS[::-1]).period == AFTER_LAPSE


def test_current_period_before_the_first_one_is_the_first_one() -> None:
    assert current_period(date(2026, 11, 22), WEBCONF_PERIODS) == WEBCONF_PERIODS[0]
    assert current_period(date(2026, 1, 1), WEBCONF_PERIODS) == WEBCONF_PERIODS[0]
    assert current_period(date(2026, 1, 1), []) is None


def test_key_issued_before_the_first_period_carries_the_first_periods_end() -> None:
    assert support_end_for(date(2026, 11, 22), WEBCONF_PERIODS) == date(2027, 12, 31)


def test_key_issued_during_a_period_carries_that_periods_end_not_a_later_renewals() -> None:
    renewed = [*WEBCONF_PERIODS, Period(date(2028, 1, 1), date(2028, 12, 31))]
    assert support_end_for(date(2027, 12, 31), renewed) == date(2027, 12, 31)
    assert support_end_for(date(2028, 1, 1), renewed) == date(2028, 12, 31)


def test_support_end_needs_a_period() -> None:
    with pytest.raises(InvalidArgument) as caught:
        support_end_for(date(2027, 1, 1), [])
    assert caught.value.metadata["field"] == "periods"


def test_reissue_is_refused_when_not_covered_on_the_jst_acceptance_day() -> None:
    last_day_jst = datetime(2027, 12, 31, 23, 59, 59, tzinfo=JST)
    coverage = require_reissue_entitlement(last_day_jst, WEBCONF_PURCHASE, WEBCONF_PERIODS)
    assert coverage.covered
    next_day_jst = last_day_jst + timedelta(seconds=1)  # still 2027-12-31 in UTC
    with pytest.raises(SupportExpired) as caught:
        require_reissue_entitlement(next_day_jst, WEBCONF_PURCHASE, WEBCONF_PERIODS)
    assert isinstance(caught.value, FailedPrecondition)
    assert caught.value.reason == "SUPPORT_EXPIRED"
    assert caught.value.metadata == {
        "day": "2028-01-01",
        "service": "re-issue",
        "last_covered_day": "2027-12-31",
    }


def test_reissue_before_the_first_period_is_covered_by_the_purchase() -> None:
    accepted = datetime(2026, 12, 10, 10, 0, tzinfo=JST)
    assert require_reissue_entitlement(accepted, WEBCONF_PURCHASE, WEBCONF_PERIODS).covered


def test_reissue_in_a_lapse_gap_is_refused() -> None:
    with pytest.raises(SupportExpired):
        require_reissue_entitlement(
            datetime(2028, 1, 15, 10, 0, tzinfo=JST), BACKUP_PURCHASE, BACKUP_PERIODS
        )


def test_additional_licenses_during_coverage_add_seats() -> None:
    seats = add_licenses(
        10,
        5,
        bought_on=date(2027, 6, 15),
        purchase_date=WEBCONF_PURCHASE,
        periods=WEBCONF_PERIODS,
    )
    assert seats == 15


def test_additional_licenses_outside_coverage_are_refused_as_support_expired() -> None:
    with pytest.raises(SupportExpired) as caught:
        add_licenses(
            10,
            5,
            bought_on=date(2028, 1, 15),
            purchase_date=BACKUP_PURCHASE,
            periods=BACKUP_PERIODS,
        )
    assert caught.value.metadata["service"] == "adding licenses"


@pytest.mark.parametrize(("seats", "added", "field"), [(0, 1, "seats"), (1, 0, "additional_seats")])
def test_additional_licenses_need_positive_counts(seats: int, added: int, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        add_licenses(
            seats,
            added,
            bought_on=date(2027, 6, 15),
            purchase_date=WEBCONF_PURCHASE,
            periods=WEBCONF_PERIODS,
        )
    assert caught.value.metadata["field"] == field


def test_ice_is_entitled_to_covered_webconf_contracts_only() -> None:
    covered = coverage_on(date(2027, 6, 1), WEBCONF_PURCHASE, WEBCONF_PERIODS)
    expired = coverage_on(date(2028, 6, 1), WEBCONF_PURCHASE, WEBCONF_PERIODS)
    assert ice_entitled(WEBCONF, covered)
    assert not ice_entitled(WEBCONF, expired)
    assert not ice_entitled(BACKUP, covered)
    assert require_ice_entitlement(WEBCONF, covered) is covered
    with pytest.raises(SupportExpired):
        require_ice_entitlement(WEBCONF, expired)
    with pytest.raises(IceNotOffered) as caught:
        require_ice_entitlement(BACKUP, covered)
    assert caught.value.reason == "ICE_NOT_OFFERED"
