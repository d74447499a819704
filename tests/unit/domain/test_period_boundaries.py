"""Support periods at their edges, and the ErrorInfo metadata clients read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

import pytest

from keysvc.domain.errors import InvalidArgument
from keysvc.domain.periods import (
    Period,
    add_licenses,
    current_period,
    jst_date,
)
from keysvc.domain.support_errors import InvalidPeriod

FIRST = Period.starting(date(2026, 12, 1))  # … 2027-11-30
SECOND = Period.starting(FIRST.next_start)  # 2027-12-01 … 2028-11-30


def test_adding_exactly_one_license_adds_one_seat():
    assert (
        add_licenses(
            25, 1, bought_on=date(2027, 1, 5), purchase_date=date(2026, 11, 2), periods=[FIRST]
        )
        == 26
    )


def test_adding_no_license_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument) as caught:
        add_licenses(
            25, 0, bought_on=date(2027, 1, 5), purchase_date=date(2026, 11, 2), periods=[FIRST]
        )
    assert caught.value.metadata == {"field": "additional_seats"}


def test_the_day_after_the_last_of_two_periods_belongs_to_the_last():
    day_after = SECOND.end + timedelta(days=1)
    assert current_period(day_after, [SECOND, FIRST]) == SECOND
    assert current_period(SECOND.end, [FIRST, SECOND]) == SECOND
    assert current_period(FIRST.end, [FIRST, SECOND]) == FIRST


def test_a_period_ending_before_it_starts_names_both_days_in_its_metadata():
    with pytest.raises(InvalidPeriod) as caught:
        Period(date(2027, 1, 2), date(2027, 1, 1))
    assert caught.value.metadata == {"field": "period", "start": "2027-01-02", "end": "2027-01-01"}
    assert caught.value.reason == "INVALID_PERIOD"


def test_a_one_day_period_is_accepted():
    assert Period(date(2027, 1, 1), date(2027, 1, 1)).contains(date(2027, 1, 1))


def test_overlapping_periods_name_the_periods_field():
    overlapping = Period(FIRST.end, FIRST.end + timedelta(days=30))
    with pytest.raises(InvalidPeriod) as caught:
        current_period(date(2027, 1, 1), [FIRST, overlapping])
    assert caught.value.metadata == {"field": "periods"}


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_an_instant_whose_zone_gives_no_offset_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument) as caught:
        jst_date(datetime(2026, 11, 22, 12, 0, tzinfo=_NoOffset()), field="accept_time")
    assert caught.value.metadata == {"field": "accept_time"}
