"""More than 3 re-issues within 365 days: the request is held (SPEC section 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keysvc.domain import (
    JST,
    REISSUE_HOLD_REASON,
    REISSUE_LIMIT,
    REISSUE_WINDOW,
    reissue_needs_hold,
)
from keysvc.domain.errors import InvalidArgument

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=JST)


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_limit_window_and_reason_are_the_specs() -> None:
    assert REISSUE_LIMIT == 3
    assert timedelta(days=365) == REISSUE_WINDOW
    assert REISSUE_HOLD_REASON == "REISSUE_LIMIT"


def test_first_reissue_is_not_held() -> None:
    assert not reissue_needs_hold([], NOW)


def test_three_reissues_within_365_days_are_not_held() -> None:
    assert not reissue_needs_hold(days_ago(300, 200), NOW)  # this one is the third


def test_fourth_reissue_within_365_days_is_held() -> None:
    assert reissue_needs_hold(days_ago(300, 200, 1), NOW)
    assert reissue_needs_hold(days_ago(0.001, 0.0005, 0), NOW)  # a burst


def test_window_slides_so_an_old_reissue_stops_counting() -> None:
    assert not reissue_needs_hold(days_ago(366, 200, 1), NOW)
    assert not reissue_needs_hold(days_ago(365.0001, 200, 1), NOW)


def test_reissue_exactly_365_days_before_still_counts() -> None:
    assert reissue_needs_hold(days_ago(365, 200, 1), NOW)


def test_reissues_after_the_acceptance_instant_do_not_count() -> None:
    assert not reissue_needs_hold([*days_ago(200, 1), NOW + timedelta(seconds=1)], NOW)


def test_window_counts_instants_not_zones() -> None:
    in_utc = [t.astimezone(UTC) for t in days_ago(300, 200, 1)]
    assert reissue_needs_hold(in_utc, NOW)


def test_any_iterable_of_instants_is_accepted() -> None:
    assert reissue_needs_hold(iter(days_ago(3, 2, 1)), NOW)


def test_naive_instants_are_invalid_arguments() -> None:
    naive = datetime(2027, 6, 1, 12, 0)  # naive on purpose
    with pytest.raises(InvalidArgument) as caught:
        reissue_needs_hold([], naive)
    assert caught.value.metadata["field"] == "accepted_at"
    with pytest.raises(InvalidArgument) as caught:
        reissue_needs_hold([naive], NOW)
    assert caught.value.metadata["field"] == "previous_reissue_times"
