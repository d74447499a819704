"""The rules of each policy, held as data and interpreted by pure functions."""

from __future__ import annotations

from datetime import date

import pytest
from dateutil.relativedelta import relativedelta

from keysvc.domain import (
    POLICIES,
    FirstStart,
    LapsedRenewal,
    Period,
    RecontinuationNotAllowed,
    RecontinuationRequired,
    SupportPolicy,
    UnknownPolicy,
    first_period,
    first_period_start,
    lapsed_renewal_start,
    policy_for,
    recontinuation_threshold,
    renewal_period,
)
from keysvc.domain.errors import FailedPrecondition, NotFound

WEBCONF = POLICIES["neo-webconf"]
BACKUP = POLICIES["neo-backup"]
EXPIRED_2027_11_30 = Period(date(2026, 12, 1), date(2027, 11, 30))


def test_seeded_products_have_their_policies_by_code() -> None:
    assert set(POLICIES) == {"neo-webconf", "neo-backup"}
    assert policy_for("neo-webconf") is WEBCONF
    assert policy_for("neo-backup") is BACKUP
    assert all(name == policy.name for name, policy in POLICIES.items())


def test_policies_are_data_that_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        POLICIES["neo-other"] = WEBCONF  # type: ignore[index]
    assert (
        SupportPolicy(
            name="neo-webconf",
            first_period_start=FirstStart.MONTH_AFTER_NEXT_OR_NEXT_IF_FIRST,
            lapsed_renewal=LapsedRenewal.CONTINUOUS,
            recontinuation_after=None,
            ice_service=True,
        )
        == WEBCONF
    )
    assert BACKUP.recontinuation_after == relativedelta(years=1)
    assert not BACKUP.ice_service
    assert len({WEBCONF, BACKUP}) == 2  # hashable values


def test_unknown_policy_is_not_found() -> None:
    with pytest.raises(UnknownPolicy) as caught:
        policy_for("neo-unknown")
    assert isinstance(caught.value, NotFound)
    assert caught.value.reason == "UNKNOWN_POLICY"
    assert caught.value.metadata == {"resource": "policies/neo-unknown"}


@pytest.mark.parametrize(
    ("accepted", "webconf", "backup"),
    [
        (date(2026, 11, 1), date(2026, 12, 1), date(2026, 11, 1)),
        (date(2026, 11, 2), date(2027, 1, 1), date(2026, 12, 1)),
        (date(2026, 11, 30), date(2027, 1, 1), date(2026, 12, 1)),
        (date(2026, 12, 1), date(2027, 1, 1), date(2026, 12, 1)),
        (date(2026, 12, 31), date(2027, 2, 1), date(2027, 1, 1)),
        (date(2028, 2, 29), date(2028, 4, 1), date(2028, 3, 1)),
    ],
)
def test_first_period_start_rules_around_month_ends(
    accepted: date, webconf: date, backup: date
) -> None:
    assert first_period_start(FirstStart.MONTH_AFTER_NEXT_OR_NEXT_IF_FIRST, accepted) == webconf
    assert first_period_start(FirstStart.NEXT_MONTH_OR_SAME_IF_FIRST, accepted) == backup


def test_backup_first_period_may_start_on_a_1st_that_is_the_acceptance_day() -> None:
    assert first_period(BACKUP, date(2027, 3, 1)) == Period(date(2027, 3, 1), date(2028, 2, 29))


def test_lapsed_renewal_rules() -> None:
    end = date(2027, 11, 30)
    assert lapsed_renewal_start(LapsedRenewal.CONTINUOUS, end, date(2028, 5, 17)) == date(
        2027, 12, 1
    )
    assert lapsed_renewal_start(
        LapsedRenewal.NEXT_MONTH_OR_SAME_IF_FIRST, end, date(2028, 5, 17)
    ) == date(2028, 6, 1)
    assert lapsed_renewal_start(
        LapsedRenewal.NEXT_MONTH_OR_SAME_IF_FIRST, end, date(2028, 5, 1)
    ) == date(2028, 5, 1)


def test_webconf_late_renewal_is_back_dated_to_the_day_after_expiry() -> None:
    renewal = renewal_period(WEBCONF, EXPIRED_2027_11_30, date(2028, 3, 10))
    assert renewal == Period(date(2027, 12, 1), date(2028, 11, 30))


def test_webconf_renewal_years_late_is_still_back_dated_and_never_needs_recontinuation() -> None:
    renewal = renewal_period(WEBCONF, EXPIRED_2027_11_30, date(2030, 6, 1))
    assert renewal == Period(date(2027, 12, 1), date(2028, 11, 30))
    assert recontinuation_threshold(WEBCONF, EXPIRED_2027_11_30.end) is None


def test_renewal_accepted_on_the_last_day_of_the_period_is_on_time() -> None:
    assert renewal_period(BACKUP, EXPIRED_2027_11_30, date(2027, 11, 30)).start == date(2027, 12, 1)


def test_backup_renewal_the_day_after_expiry_starts_the_next_month() -> None:
    assert renewal_period(BACKUP, EXPIRED_2027_11_30, date(2027, 12, 1)).start == date(2027, 12, 1)
    assert renewal_period(BACKUP, EXPIRED_2027_11_30, date(2027, 12, 2)).start == date(2028, 1, 1)


def test_renewal_accepted_before_the_previous_period_starts_still_follows_it() -> None:
    first = first_period(WEBCONF, date(2026, 11, 22))  # 2027-01-01 ...
    assert renewal_period(WEBCONF, first, date(2026, 12, 5)).start == date(2028, 1, 1)


def test_backup_plain_renewal_the_day_before_the_anniversary_of_expiry_is_accepted() -> None:
    renewal = renewal_period(BACKUP, EXPIRED_2027_11_30, date(2028, 11, 29))
    assert renewal == Period(date(2028, 12, 1), date(2029, 11, 30))


def test_backup_plain_renewal_on_the_anniversary_of_expiry_requires_recontinuation() -> None:
    assert recontinuation_threshold(BACKUP, date(2027, 11, 30)) == date(2028, 11, 30)
    with pytest.raises(RecontinuationRequired) as caught:
        renewal_period(BACKUP, EXPIRED_2027_11_30, date(2028, 11, 30))
    assert isinstance(caught.value, FailedPrecondition)


def test_backup_recontinuation_on_the_anniversary_starts_like_a_late_renewal() -> None:
    renewal = renewal_period(BACKUP, EXPIRED_2027_11_30, date(2028, 11, 30), recontinuation=True)
    assert renewal == Period(date(2028, 12, 1), date(2029, 11, 30))


def test_backup_recontinuation_accepted_on_a_1st_starts_that_day() -> None:
    renewal = renewal_period(BACKUP, EXPIRED_2027_11_30, date(2029, 4, 1), recontinuation=True)
    assert renewal == Period(date(2029, 4, 1), date(2030, 3, 31))


def test_recontinuation_threshold_from_a_29_february_expiry_is_28_february() -> None:
    expired = Period(date(2027, 3, 1), date(2028, 2, 29))
    assert recontinuation_threshold(BACKUP, expired.end) == date(2029, 2, 28)
    renewal_period(BACKUP, expired, date(2029, 2, 27))
    with pytest.raises(RecontinuationRequired):
        renewal_period(BACKUP, expired, date(2029, 2, 28))


def test_recontinuation_threshold_from_28_february_is_28_february_even_in_a_leap_year() -> None:
    expired = Period(date(2026, 3, 1), date(2027, 2, 28))
    assert recontinuation_threshold(BACKUP, expired.end) == date(2028, 2, 28)


def test_recontinuation_before_it_is_needed_is_not_allowed() -> None:
    with pytest.raises(RecontinuationNotAllowed) as caught:
        renewal_period(BACKUP, EXPIRED_2027_11_30, date(2028, 11, 29), recontinuation=True)
    assert caught.value.reason == "RECONTINUATION_NOT_ALLOWED"
    assert caught.value.metadata["cause"] == "NOT_NEEDED"
    assert caught.value.metadata["required_from"] == "2028-11-30"


def test_recontinuation_for_a_policy_without_one_is_not_allowed() -> None:
    with pytest.raises(RecontinuationNotAllowed) as caught:
        renewal_period(WEBCONF, EXPIRED_2027_11_30, date(2030, 1, 1), recontinuation=True)
    assert caught.value.metadata["cause"] == "NOT_OFFERED"


def test_a_policy_is_free_to_combine_rules() -> None:
    custom = SupportPolicy(
        name="custom",
        first_period_start=FirstStart.NEXT_MONTH_OR_SAME_IF_FIRST,
        lapsed_renewal=LapsedRenewal.CONTINUOUS,
        recontinuation_after=relativedelta(months=6),
        ice_service=False,
    )
    renewal_period(custom, EXPIRED_2027_11_30, date(2028, 5, 29))
    with pytest.raises(RecontinuationRequired):
        renewal_period(custom, EXPIRED_2027_11_30, date(2028, 5, 30))
    recontinued = renewal_period(custom, EXPIRED_2027_11_30, date(2028, 5, 30), recontinuation=True)
    assert recontinued.start == date(2027, 12, 1)
