"""The release loop's unit of work: release one batch of due requests.

`scheduler.release_loop.ReleaseLoop` drives it (it fills the loop's
`ReleaseBatches` port). Each batch is one transaction: a crash loses nothing (a
claimed request whose transaction did not commit is still PENDING) and doubles
nothing (one license per request, in the database).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from keysvc.service.release import DueRelease, MailIdentity, Releaser, release_due
from keysvc.service.signing_keys import SigningKeys
from scheduler.calendar import BusinessCalendar
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
        calendar: BusinessCalendar,
        on_batch: Callable[[DueRelease, float], None] | None = None,
        status_base_url: str | None = None,
    ) -> None:
        """`on_batch` hears of each committed batch that claimed requests: what it did,
        in how many seconds."""
        self._engine = engine
        self._signing_keys = signing_keys
        self._mail = mail
        self._clock = clock
        self._calendar = calendar
        self.batch_size = batch_size
        self._on_batch = on_batch
        self._status_base_url = status_base_url

    def release_batch(self, as_of: datetime | None = None) -> DueRelease:
        """Releases up to `batch_size` requests due at `as_of` (default now)."""
        now = self._clock.now()
        started = time.perf_counter()
        with self._engine.begin() as connection:
            releaser = Releaser(
                self._signing_keys.key_ring(connection),
                self._mail,
                self._calendar,
                self._status_base_url,
            )
            outcome = release_due(connection, as_of or now, releaser, now, self.batch_size)
        if self._on_batch is not None and outcome.claimed:
            self._on_batch(outcome, time.perf_counter() - started)
        if outcome.released:
            logger.info("released due key requests", extra={"released": outcome.released})
        return outcome
