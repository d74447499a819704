"""The worked examples of SPEC section 4, one test each."""

from __future__ import annotations

from datetime import date

import pytest

from keysvc.domain import (
    POLICIES,
    Period,
    RecontinuationRequired,
    first_period,
    renewal_period,
)

WEBCONF = POLICIES["neo-webconf"]
BACKUP = POLICIES["neo-backup"]


def test_webconf_accepted_mid_month_starts_the_first_of_the_month_after_next() -> None:
    assert first_period(WEBCONF, date(2026, 11, 22)) == Period(date(2027, 1, 1), date(2027, 12, 31))


def test_webconf_accepted_on_the_first_starts_the_first_of_the_next_month() -> None:
    assert first_period(WEBCONF, date(2026, 11, 1)) == Period(date(2026, 12, 1), date(2027, 11, 30))


def test_webconf_renewal_starts_the_day_after_the_previous_period() -> None:
    first = first_period(WEBCONF, date(2026, 11, 22))
    renewal = renewal_period(WEBCONF, first, date(2027, 12, 10))
    assert renewal == Period(date(2028, 1, 1), date(2028, 12, 31))


def test_backup_accepted_mid_month_starts_the_first_of_the_next_month() -> None:
    assert first_period(BACKUP, date(2026, 11, 22)) == Period(date(2026, 12, 1), date(2027, 11, 30))


def test_backup_accepted_on_the_first_starts_that_day() -> None:
    assert first_period(BACKUP, date(2026, 11, 1)) == Period(date(2026, 11, 1), date(2027, 10, 31))


def test_backup_renewal_within_the_period_starts_the_day_after_it() -> None:
    first = Period(date(2026, 12, 1), date(2027, 11, 30))
    renewal = renewal_period(BACKUP, first, date(2027, 11, 15))
    assert renewal == Period(date(2027, 12, 1), date(2028, 11, 30))


def test_backup_renewal_after_expiry_starts_the_first_of_the_month_after_acceptance() -> None:
    expired = Period(date(2026, 12, 1), date(2027, 11, 30))
    renewal = renewal_period(BACKUP, expired, date(2028, 1, 10))
    assert renewal == Period(date(2028, 2, 1), date(2029, 1, 31))


def test_backup_renewal_a_year_after_expiry_requires_recontinuation() -> None:
    expired = Period(date(2026, 12, 1), date(2027, 11, 30))
    with pytest.raises(RecontinuationRequired) as caught:
        renewal_period(BACKUP, expired, date(2028, 11, 30))
    assert caught.value.reason == "RECONTINUATION_REQUIRED"
    assert caught.value.metadata == {"previous_end": "2027-11-30", "required_from": "2028-11-30"}
