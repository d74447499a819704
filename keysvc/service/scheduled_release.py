"""The release loop's unit of work: release one batch of due requests.

`keysvc serve` runs it every few seconds (`scheduler.loop.run_batches`), so a
request accepted before the cutoff on a business day goes out within seconds,
and the morning's requests at the opening. Each batch is one transaction: a
crash loses nothing (a claimed request whose transaction did not commit is
still PENDING) and doubles nothing (one license per request, in the database).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from keysvc.service.release import DueRelease, MailIdentity, Releaser, release_due
from keysvc.signing_keys import SigningKeys
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
    ) -> None:
        self._engine = engine
        self._signing_keys = signing_keys
        self._mail = mail
        self._clock = clock
        self.batch_size = batch_size

    def release_batch(self, as_of: datetime | None = None) -> DueRelease:
        """Releases up to `batch_size` requests due at `as_of` (default now)."""
        now = self._clock.now()
        with self._engine.begin() as connection:
            releaser = Releaser(self._signing_keys.key_ring(connection), self._mail)
            outcome = release_due(connection, as_of or now, releaser, now, self.batch_size)
        if outcome.released:
            logger.info("released due key requests", extra={"released": outcome.released})
        return outcome

    def release_batch_and_report_more(self) -> bool:
        """One batch; True when it was full, so more may be due (for `run_batches`)."""
        return self.release_batch().claimed >= self.batch_size

    def release_all_due(self, as_of: datetime) -> int:
        """Releases every request due at `as_of`, a transaction per batch, so that a
        morning queue of 100,000 neither holds its locks nor its memory until the end;
        returns how many were released."""
        released = 0
        while True:
            outcome = self.release_batch(as_of)
            released += outcome.released
            if outcome.claimed < self.batch_size:
                return released
