"""The release loop's unit of work: release one batch of due requests.

`keysvc serve` runs it every few seconds (`scheduler.loop.run_batches`), so a
request accepted before the cutoff on a business day goes out within seconds,
and the morning's requests at the opening. Each batch is one transaction: a
crash loses nothing (a claimed request whose transaction did not commit is
still PENDING) and doubles nothing (one license per request, in the database).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Engine

from keysvc.service.release import DueRelease, MailIdentity, Releaser, release_due
from keysvc.service.signing_keys import SigningKeys
from scheduler.clock import Clock

logger = logging.getLogger(__name__)


class ScheduledRelease:
    """Releases what is due, a batch per transaction."""

    def __init__(
        self,
        engine: Engine,
        signing_keys: SigningKeys,
        mail: MailIdentity,
        clock: Clock,
        batch_size: int,
        *,
        parallel_batches: int = 1,
        on_batch: Callable[[DueRelease, float], None] | None = None,
    ) -> None:
        """`on_batch` hears of each committed batch that claimed requests: what it did,
        in how many seconds."""
        if parallel_batches < 1:
            raise ValueError(f"parallel_batches must be at least 1, got {parallel_batches}")
        self._engine = engine
        self._signing_keys = signing_keys
        self._mail = mail
        self._clock = clock
        self.batch_size = batch_size
        self._parallel_batches = parallel_batches
        self._on_batch = on_batch

    def release_batch(self, as_of: datetime | None = None) -> DueRelease:
        """Releases up to `batch_size` requests due at `as_of` (default now)."""
        now = self._clock.now()
        started = time.perf_counter()
        with self._engine.begin() as connection:
            releaser = Releaser(self._signing_keys.key_ring(connection), self._mail)
            outcome = release_due(connection, as_of or now, releaser, now, self.batch_size)
        if self._on_batch is not None and outcome.claimed:
            self._on_batch(outcome, time.perf_counter() - started)
        if outcome.released:
            logger.info("released due key requests", extra={"released": outcome.released})
        return outcome

    def release_batch_and_report_more(self) -> bool:
        """One batch; True when it was full, so more may be due (for `run_batches`)."""
        return self.release_batch().claimed >= self.batch_size

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
            outcome = self.release_batch(as_of)
            released += outcome.released
            if outcome.claimed < self.batch_size:
                return released
