"""Admission control: exactly `limit` calls in flight are admitted, the next is refused."""

from __future__ import annotations

import pytest

from keysvc.api.admission import Admission


@pytest.mark.parametrize("limit", [1, 2, 64])
def test_exactly_the_limit_is_admitted_and_the_next_call_refused(limit):
    admission = Admission(limit)
    assert all(admission.try_enter() for _ in range(limit))
    assert admission.in_flight == limit
    assert not admission.try_enter()
    assert admission.in_flight == limit  # a refused call is not counted


def test_a_call_that_leaves_makes_room_for_one_more():
    admission = Admission(2)
    admission.try_enter()
    admission.try_enter()
    admission.leave()
    assert admission.try_enter()
    assert not admission.try_enter()


def test_a_limit_below_one_would_refuse_everything_and_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        Admission(0)
