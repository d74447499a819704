"""The per-peer failure limiter, on a clock the tests move."""

from __future__ import annotations

import pytest

from keysvc.api.failure_limiter import FailureLimiter

A, B = "192.0.2.1", "192.0.2.2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock: Clock, **settings: float) -> FailureLimiter:
    values = {"limit": 3, "window": 60.0, "block": 300.0, "report_interval": 10.0} | settings
    return FailureLimiter(monotonic=clock, **values)  # type: ignore[arg-type]


def test_the_limit_th_failure_blocks_and_those_before_it_do_not(clock: Clock) -> None:
    limits = limiter(clock)
    assert [limits.failed(A).blocked_for for _ in range(2)] == [0.0, 0.0]
    assert limits.retry_after(A) is None
    assert not limits.anyone_blocked
    assert limits.failed(A).blocked_for == 300.0
    assert limits.retry_after(A) == 300.0
    assert limits.anyone_blocked


def test_a_failure_leaves_the_window_exactly_window_seconds_later(clock: Clock) -> None:
    limits = limiter(clock)
    limits.failed(A)
    clock.now += 30
    limits.failed(A)
    clock.now += 30  # the first failure is 60 s old: out of the window
    third = limits.failed(A)
    assert (third.failures_in_window, third.blocked_for) == (2, 0.0)
    clock.now += 29.999  # the second is 59.999 s old: still in
    assert limits.failed(A).blocked_for == 300.0


def test_a_block_lasts_exactly_block_seconds_then_counting_starts_afresh(clock: Clock) -> None:
    limits = limiter(clock)
    for _ in range(3):
        limits.failed(A)
    clock.now += 299.5
    assert limits.retry_after(A) == pytest.approx(0.5)
    clock.now += 0.5
    assert limits.retry_after(A) is None
    assert not limits.anyone_blocked
    assert [limits.failed(A).blocked_for for _ in range(3)] == [0.0, 0.0, 300.0]


def test_calls_refused_while_blocked_do_not_prolong_the_block(clock: Clock) -> None:
    limits = limiter(clock)
    for _ in range(3):
        limits.failed(A)
    for _ in range(100):
        clock.now += 2
        assert limits.retry_after(A) is not None
        limits.refused(A)
    clock.now += 100
    assert limits.retry_after(A) is None


def test_peers_are_counted_apart(clock: Clock) -> None:
    limits = limiter(clock)
    for _ in range(3):
        limits.failed(A)
    assert limits.retry_after(B) is None
    assert limits.failed(B).failures_in_window == 1
    assert limits.blocked_peers() == 1


def test_memory_is_bounded_and_the_least_recent_failure_is_forgotten_first(
    clock: Clock,
) -> None:
    limits = limiter(clock, max_peers=2)
    limits.failed(A)
    limits.failed(A)
    limits.failed(B)
    limits.failed(A)  # A failed most recently: B is older
    limits.failed("192.0.2.3")  # one too many: B is forgotten
    assert limits.failed(B).failures_in_window == 1
    assert len(limits._peers) == 2


def test_blocks_are_bounded_too_and_the_one_ending_first_goes_first(clock: Clock) -> None:
    limits = limiter(clock, limit=1, max_peers=2)
    for peer in (A, B, "192.0.2.3"):
        clock.now += 1
        limits.failed(peer)
    assert limits.retry_after(A) is None
    assert limits.retry_after(B) is not None
    assert limits.blocked_peers() == 2


def test_ended_blocks_are_forgotten_when_another_peer_calls(clock: Clock) -> None:
    limits = limiter(clock, limit=1)
    limits.failed(A)
    clock.now += 300
    assert limits.blocked_peers() == 0
    assert limits.retry_after(B) is None
    assert not limits.anyone_blocked


def test_failures_are_reported_once_per_interval_with_their_count(clock: Clock) -> None:
    limits = limiter(clock, limit=1000)
    assert limits.failed(A).report == 1  # the first at once
    reports = []
    for _ in range(20):
        clock.now += 1
        reports.append(limits.failed(A).report)
    # One line 10 s after the first, with the 10 failures since; then the next 10 s.
    assert reports == [0] * 9 + [10] + [0] * 9 + [10]
    assert limits.failed(B).report == 1


def test_the_blocking_failure_is_reported_at_once_and_refusals_once_per_interval(
    clock: Clock,
) -> None:
    limits = limiter(clock)
    assert [limits.failed(A).report for _ in range(3)] == [1, 0, 2]
    assert limits.refused(A) == 0
    clock.now += 10
    assert limits.refused(A) == 2


def test_a_limit_of_0_never_blocks_but_still_reports(clock: Clock) -> None:
    limits = limiter(clock, limit=0)
    outcomes = [limits.failed(A) for _ in range(1000)]
    assert not any(outcome.blocked_for for outcome in outcomes)
    assert outcomes[0].report == 1
    assert limits.retry_after(A) is None


@pytest.mark.parametrize(
    "settings", [{"limit": -1}, {"window": 0.0}, {"block": -1.0}, {"max_peers": 0}]
)
def test_nonsense_settings_are_refused(clock: Clock, settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        limiter(clock, **settings)
