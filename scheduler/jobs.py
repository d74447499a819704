"""Everything that runs on the calendar's time, as jobs: each a batch run again and again.

The composition root (``keysvc.background``) lists the jobs — the release loop,
the e-mail outbox, the retention of remembered calls, SQLite's WAL checkpoint —
and `run_jobs` runs them side by side until stopped, each with `run_batches`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from scheduler.loop import run_batches

__all__ = ["Job", "run_jobs"]


@dataclass(frozen=True, slots=True)
class Job:
    """A named batch, run every `interval` seconds, at once again while it reports more."""

    name: str
    batch: Callable[[], bool]
    interval: float


async def run_jobs(
    jobs: Sequence[Job],
    stop: asyncio.Event,
    *,
    executor: Executor | None = None,
    outage: Callable[[Exception], bool] = lambda _error: False,
) -> None:
    """Runs every job until `stop` is set, then returns once each has finished the batch
    in hand. A failure `outage` recognises is logged once per outage (`run_batches`)."""
    await asyncio.gather(
        *(
            run_batches(
                job.batch,
                stop,
                interval=job.interval,
                executor=executor,
                name=job.name,
                outage=outage,
            )
            for job in jobs
        )
    )
