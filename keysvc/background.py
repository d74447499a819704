"""The work `keysvc serve` and `keysvc scheduler` do besides answering RPCs."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from keysvc.bootstrap import Services
from keysvc.mail import run_sender
from keysvc.persistence.database import checkpoint_wal
from keysvc.persistence.failures import database_unavailable
from scheduler.loop import run_batches

# Same-day requests go out within this many seconds of acceptance.
RELEASE_INTERVAL_SECONDS = 2.0
# SQLite's WAL is copied into the database this often, off the requests' commits.
WAL_CHECKPOINT_INTERVAL_SECONDS = 1.0
# Remembered calls past their retention are forgotten this often.
IDEMPOTENCY_PURGE_INTERVAL_SECONDS = 3600.0


async def run_background_work(services: Services, stop: asyncio.Event) -> None:
    """Releases due requests, delivers queued e-mail, forgets remembered calls past their
    retention and (SQLite) checkpoints the WAL until `stop`, then finishes the batches
    in hand. Several processes may run it on one PostgreSQL database."""
    loops: list[Coroutine[Any, Any, None]] = [
        run_batches(
            services.scheduled_release.release_batch_and_report_more,
            stop,
            interval=RELEASE_INTERVAL_SECONDS,
            executor=services.executor,
            name="release",
            outage=database_unavailable,
        ),
        run_sender(
            services.outbox_sender,
            stop,
            executor=services.executor,
            on_report=services.metrics.record_mail_batch,
            outage=database_unavailable,
        ),
    ]
    if services.idempotency_retention is not None:
        loops.append(
            run_batches(
                services.idempotency_retention.purge_batch,
                stop,
                interval=IDEMPOTENCY_PURGE_INTERVAL_SECONDS,
                executor=services.executor,
                name="idempotency-retention",
                outage=database_unavailable,
            )
        )
    if services.engine.dialect.name == "sqlite":

        def checkpoint() -> bool:
            checkpoint_wal(services.engine)
            return False

        loops.append(
            run_batches(
                checkpoint,
                stop,
                interval=WAL_CHECKPOINT_INTERVAL_SECONDS,
                executor=services.executor,
                name="wal-checkpoint",
                outage=database_unavailable,
            )
        )
    await asyncio.gather(*loops)
