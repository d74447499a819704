"""Forgetting remembered calls once no client can still repeat them.

Every mutating call with a ``request_id`` leaves a record of its answer
(AIP-155, docs/api-conventions.md). Kept forever they would grow with every
call of the service's life; kept `days` they cover every retry a client makes
— seconds for `keysvc.client`, the next business day for `keysvc-migrate` —
with months to spare. `keysvc serve` and `keysvc scheduler` purge once an hour.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from sqlalchemy import Engine

from keysvc.persistence.idempotency_repository import purge_records
from scheduler.clock import Clock

logger = logging.getLogger(__name__)

# Rows deleted per transaction: short enough not to hold SQLite's one writer for long.
PURGE_BATCH_SIZE: Final = 1_000


class IdempotencyRetention:
    """Forgets remembered calls older than `days`, a batch per transaction."""

    def __init__(
        self, engine: Engine, clock: Clock, days: int, *, batch_size: int = PURGE_BATCH_SIZE
    ) -> None:
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self._engine = engine
        self._clock = clock
        self.days = days
        self._batch_size = batch_size

    def purge_batch(self) -> bool:
        """Forgets one batch; True when it was full, so more may be waiting (for
        `scheduler.loop.run_batches`)."""
        created_before = self._clock.now() - timedelta(days=self.days)
        with self._engine.begin() as connection:
            purged = purge_records(connection, created_before, self._batch_size)
        if purged:
            logger.info(
                "forgot remembered calls past their retention",
                extra={"purged": purged, "retention_days": self.days},
            )
        return purged >= self._batch_size
