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
    outage: Callable[[Exception], bool] = lambda _error: False,
) -> None:
    """Runs ``batch`` in a worker thread, again and again, until ``stop`` is set.

    ``batch`` returns True when more work may be waiting (it did a full batch):
    the next one then starts at once, otherwise after ``interval`` seconds.
    Setting ``stop`` ends the loop once the current batch is done; cancelling
    the task also waits for the batch, which cannot be interrupted halfway, and
    then re-raises. A batch that raises is logged and the loop goes on.

    A failure that ``outage`` recognises (the database unreachable) is logged
    once, without a traceback, when the outage begins, and its end once more;
    any other failure is a bug and is logged with its traceback every time.
    """
    loop = asyncio.get_running_loop()
    in_outage = False
    while not stop.is_set():
        future = loop.run_in_executor(executor, batch)
        try:
            more = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The thread runs on regardless; let it finish recording what it did.
            with contextlib.suppress(Exception):
                await future
            raise
        except Exception as error:
            if not outage(error):
                logger.exception("%s batch failed; retrying after the interval", name)
            elif not in_outage:
                logger.warning(
                    "%s batch failed: the database is unavailable; retrying every %s s",
                    name,
                    interval,
                    extra={"error": type(error).__name__},
                )
            in_outage = outage(error)
            more = False
        else:
            if in_outage:
                logger.warning("%s batches run again", name)
            in_outage = False
        if more:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
