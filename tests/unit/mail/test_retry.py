"""Backoff: 30 s doubling, capped at an hour."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.mail import retry_delay


def test_delays_double_from_thirty_seconds_up_to_an_hour():
    delays = [retry_delay(n) for n in range(1, 10)]
    assert delays[:7] == [timedelta(seconds=30 * 2**i) for i in range(7)]
    assert delays[7:] == [timedelta(hours=1)] * 2


@given(st.integers(min_value=1, max_value=10**9))
def test_delay_never_exceeds_the_cap_and_never_shrinks(attempts):
    assert timedelta(seconds=30) <= retry_delay(attempts) <= timedelta(hours=1)
    assert retry_delay(attempts) <= retry_delay(attempts + 1)


def test_configured_delays():
    first, cap = timedelta(seconds=1), timedelta(seconds=5)
    assert [retry_delay(n, first=first, cap=cap).seconds for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_attempts_start_at_one():
    with pytest.raises(ValueError, match="at least 1"):
        retry_delay(0)
