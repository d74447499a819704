"""The work `keysvc serve` and `keysvc scheduler` do besides answering RPCs."""

from __future__ import annotations

import asyncio

from keysvc.bootstrap import Services
from scheduler.loop import run_batches
from scheduler.mail import run_sender

# Same-day requests go out within this many seconds of acceptance.
RELEASE_INTERVAL_SECONDS = 2.0


async def run_background_work(services: Services, stop: asyncio.Event) -> None:
    """Releases due requests and delivers queued e-mail until `stop`, then finishes
    the batches in hand. Several processes may run it on one PostgreSQL database."""
    await asyncio.gather(
        run_batches(
            services.scheduled_release.release_batch_and_report_more,
            stop,
            interval=RELEASE_INTERVAL_SECONDS,
            executor=services.executor,
            name="release",
        ),
        run_sender(services.outbox_sender, stop, executor=services.executor),
    )
