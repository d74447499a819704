"""The release loop: due key requests released batch after batch, on the calendar's time.

`keysvc serve` and `keysvc scheduler` run `ReleaseLoop.next_batch` every few
seconds (`scheduler.jobs`), so a request accepted before the cutoff on a
business day goes out within seconds, and the morning's requests at the
opening. `ReleaseDue` (staff) runs `release_all_due`.

The loop knows nothing of keys, databases or e-mail: it drives a port,
`ReleaseBatches`, that the composition root fills with keysvc's unit of work
(``keysvc.service.scheduled_release.ScheduledRelease``). Each batch is one
transaction there: a crash loses nothing and doubles nothing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

__all__ = ["BatchOutcome", "ReleaseBatches", "ReleaseLoop"]


class BatchOutcome(Protocol):
    """What the loop reads of a batch: how many due requests it claimed and released."""

    @property
    def claimed(self) -> int:
        """Requests the batch took (released or held), at most the batch size."""
        ...

    @property
    def released(self) -> int:
        """Those of them released (the others were held with their reason)."""
        ...


class ReleaseBatches(Protocol):
    """The port the loop drives: release one batch of requests due at an instant."""

    @property
    def batch_size(self) -> int:
        """The most requests one batch claims."""
        ...

    def release_batch(self, as_of: datetime | None = None) -> BatchOutcome:
        """Releases, in one transaction, up to `batch_size` requests due at `as_of`
        (default now)."""
        ...


class ReleaseLoop:
    """Runs batches of a `ReleaseBatches` until nothing more is due."""

    def __init__(self, batches: ReleaseBatches, *, parallel_batches: int = 1) -> None:
        if parallel_batches < 1:
            raise ValueError(f"parallel_batches must be at least 1, got {parallel_batches}")
        self._batches = batches
        self._parallel_batches = parallel_batches

    def next_batch(self) -> bool:
        """One batch due now; True when it was full, so more may be due (for `run_batches`)."""
        return self._batches.release_batch().claimed >= self._batches.batch_size

    def release_all_due(self, as_of: datetime) -> int:
        """Releases every request due at `as_of`, a transaction per batch, so that a
        morning queue of 100,000 neither holds its locks nor its memory until the end;
        returns how many were released.

        With `parallel_batches` above one (PostgreSQL), that many threads each release
        batch after batch, claiming different requests (SKIP LOCKED), as replicas
        would: one signs while another's transaction waits for the database. Should
        one fail, the others finish their work, and the error is raised.
        """
        if self._parallel_batches == 1:
            return self._release_until_done(as_of)
        with ThreadPoolExecutor(
            self._parallel_batches, thread_name_prefix="keysvc-release"
        ) as threads:
            running = [
                threads.submit(self._release_until_done, as_of)
                for _ in range(self._parallel_batches)
            ]
        return sum(future.result() for future in running)

    def _release_until_done(self, as_of: datetime) -> int:
        released = 0
        while True:
            outcome = self._batches.release_batch(as_of)
            released += outcome.released
            if outcome.claimed < self._batches.batch_size:
                return released
