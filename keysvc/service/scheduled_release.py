"""The release loop's unit of work: release one batch of due requests.

`keysvc serve` runs it every few seconds (`scheduler.loop.run_batches`), so a
request accepted before the cutoff on a business day goes out within seconds,
and the morning's requests at the opening. Each batch is one transaction: a
crash loses nothing (a claimed request whose transaction did not commit is
still PENDING) and doubles nothing (one license per request, in the database).
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from keysvc.service.release import MailIdentity, Releaser, release_due
from keysvc.signing_keys import SigningKeys
from scheduler.clock import Clock

logger = logging.getLogger(__name__)


class ScheduledRelease:
    """Releases what is due now, a batch per call."""

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

    def release_batch(self) -> int:
        """Releases up to `batch_size` requests due now; returns how many."""
        now = self._clock.now()
        with self._engine.begin() as connection:
            releaser = Releaser(self._signing_keys.key_ring(connection), self._mail)
            released = release_due(connection, now, releaser, now, self.batch_size)
        if released:
            logger.info("released due key requests", extra={"released": released})
        return released

    def release_batch_and_report_more(self) -> bool:
        """One batch; True when it was full, so more may be due (for `run_batches`)."""
        return self.release_batch() >= self.batch_size
