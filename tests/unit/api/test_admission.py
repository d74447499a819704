"""Admission control: exactly `limit` calls in flight are admitted, the next is refused."""

from __future__ import annotations

import pytest

from keysvc.api.admission import BASE_RETRY_AFTER, MAX_RETRY_AFTER, Admission


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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_rare_refusal_asks_for_a_short_wait():
    assert Admission(10, Clock()).retry_after() == pytest.approx(BASE_RETRY_AFTER * 1.1)


def test_the_wait_grows_with_the_refusals_of_the_past_second_up_to_its_maximum():
    clock = Clock()
    admission = Admission(10, clock)
    waits = [admission.retry_after() for _ in range(30)]
    assert waits == sorted(waits)
    assert waits[-1] == pytest.approx(BASE_RETRY_AFTER * 4)  # 30 refusals, limit 10
    clock.now += 1  # the next second remembers the last one's 30
    assert admission.retry_after() == pytest.approx(BASE_RETRY_AFTER * 4)
    assert [admission.retry_after() for _ in range(10_000)][-1] == MAX_RETRY_AFTER


def test_after_a_quiet_second_the_wait_is_short_again():
    clock = Clock()
    admission = Admission(10, clock)
    for _ in range(100):
        admission.retry_after()
    clock.now += 2
    assert admission.retry_after() == pytest.approx(BASE_RETRY_AFTER * 1.1)
