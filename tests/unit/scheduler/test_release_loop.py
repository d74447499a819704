"""The release loop over its port: batches until nothing more is due, one or several at once.

The port here is an in-memory queue of due requests, some of which the batch
holds instead of releasing; keysvc's own unit of work (one transaction per
batch) is tested over real databases in tests/integration/service/test_release_loop.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from scheduler.release_loop import ReleaseLoop

NOW = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    claimed: int
    released: int


class DueQueue:
    """Due requests by number; every `hold_every`-th one is held, not released."""

    def __init__(self, due: int, batch_size: int, hold_every: int = 0) -> None:
        self.batch_size = batch_size
        self._waiting = list(range(due))
        self._hold_every = hold_every
        self._lock = threading.Lock()
        self.taken: list[int] = []
        self.as_of: list[datetime | None] = []

    def release_batch(self, as_of: datetime | None = None) -> Outcome:
        with self._lock:
            batch = self._waiting[: self.batch_size]
            del self._waiting[: self.batch_size]
            self.taken.extend(batch)
            self.as_of.append(as_of)
        held = sum(1 for n in batch if self._hold_every and n % self._hold_every == 0)
        return Outcome(len(batch), len(batch) - held)


@pytest.mark.parametrize(("due", "more"), [(0, False), (3, False), (4, True), (9, True)])
def test_a_batch_reports_more_exactly_when_it_was_full(due, more):
    queue = DueQueue(due, batch_size=4)
    assert ReleaseLoop(queue).next_batch() is more
    assert queue.as_of == [None]  # due now


@pytest.mark.parametrize("due", [0, 1, 3, 4, 5, 8, 23])
@pytest.mark.parametrize("parallel_batches", [1, 3])
def test_release_all_due_takes_each_request_once_and_counts_the_released(due, parallel_batches):
    queue = DueQueue(due, batch_size=4, hold_every=5)
    released = ReleaseLoop(queue, parallel_batches=parallel_batches).release_all_due(NOW)
    assert sorted(queue.taken) == list(range(due))
    assert released == due - len([n for n in range(due) if n % 5 == 0])
    assert set(queue.as_of) <= {NOW}


def test_release_all_due_stops_after_the_first_batch_that_was_not_full():
    queue = DueQueue(8, batch_size=4)
    ReleaseLoop(queue).release_all_due(NOW)
    # Two full batches, then an empty one that says nothing more is due.
    assert len(queue.as_of) == 3


def test_parallel_batches_must_be_at_least_one():
    with pytest.raises(ValueError, match="parallel_batches"):
        ReleaseLoop(DueQueue(1, batch_size=1), parallel_batches=0)


def test_a_failing_batch_is_raised_after_the_other_threads_finish():
    class FailingOnce(DueQueue):
        def __init__(self) -> None:
            super().__init__(12, batch_size=2)
            self.failed = False

        def release_batch(self, as_of: datetime | None = None) -> Outcome:
            with self._lock:
                fail, self.failed = not self.failed, True
            if fail:
                raise RuntimeError("database gone")
            return super().release_batch(as_of)

    queue = FailingOnce()
    with pytest.raises(RuntimeError, match="database gone"):
        ReleaseLoop(queue, parallel_batches=2).release_all_due(NOW)
    assert sorted(queue.taken) == list(range(12))
