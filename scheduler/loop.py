"""The shape of every background loop: batches in a worker thread until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor

logger = logging.getLogger(__name__)


async def run_batches(
    batch: Callable[[], bool],
    stop: asyncio.Event,
    *,
    interval: float,
    executor: Executor | None = None,
    name: str,
) -> None:
    """Runs ``batch`` in a worker thread, again and again, until ``stop`` is set.

    ``batch`` returns True when more work may be waiting (it did a full batch):
    the next one then starts at once, otherwise after ``interval`` seconds.
    Setting ``stop`` ends the loop once the current batch is done; cancelling
    the task also waits for the batch, which cannot be interrupted halfway, and
    then re-raises. A batch that raises (database down) is logged and the loop
    goes on.
    """
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        future = loop.run_in_executor(executor, batch)
        try:
            more = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The thread runs on regardless; let it finish recording what it did.
            with contextlib.suppress(Exception):
                await future
            raise
        except Exception:
            logger.exception("%s batch failed; retrying after the interval", name)
            more = False
        if more:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
