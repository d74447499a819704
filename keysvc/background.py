"""The work `keysvc serve` and `keysvc scheduler` do besides answering RPCs: the jobs
the scheduler runs (`scheduler.jobs`), filled with keysvc's units of work."""

from __future__ import annotations

import asyncio

from keysvc.bootstrap import Services
from keysvc.domain.status_entries import PUBLICATION_INTERVAL
from keysvc.mail import run_sender
from keysvc.persistence.database import checkpoint_wal
from keysvc.service.database_access import database_unavailable
from scheduler.jobs import Job, run_jobs

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
    jobs = [
        Job("release", services.release_loop.next_batch, RELEASE_INTERVAL_SECONDS),
        Job(
            "status-lists",
            services.status_publisher.publish_batch,
            PUBLICATION_INTERVAL.total_seconds(),
        ),
    ]
    if services.idempotency_retention is not None:
        jobs.append(
            Job(
                "idempotency-retention",
                services.idempotency_retention.purge_batch,
                IDEMPOTENCY_PURGE_INTERVAL_SECONDS,
            )
        )
    if services.engine.dialect.name == "sqlite":

        def checkpoint() -> bool:
            checkpoint_wal(services.engine)
            return False

        jobs.append(Job("wal-checkpoint", checkpoint, WAL_CHECKPOINT_INTERVAL_SECONDS))
    await asyncio.gather(
        run_jobs(jobs, stop, executor=services.executor, outage=database_unavailable),
        run_sender(
            services.outbox_sender,
            stop,
            executor=services.executor,
            on_report=services.metrics.record_mail_batch,
            outage=database_unavailable,
        ),
    )
