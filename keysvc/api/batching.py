"""Concurrent calls of one RPC, run together: one transaction for a whole batch.

Under load most of a mutating call's cost is per transaction and per statement
(BEGIN, a dozen queries, COMMIT), not per request. `CallBatcher` hands the
calls waiting at a moment to a worker thread as one batch, so that cost is paid
once for all of them. Nothing waits on a timer: a call that arrives when no
batch is running starts one at once, and calls arriving meanwhile make up the
next, so a lone call is as fast as before and a crowd shares the work.

The worker thread runs batch after batch while calls are waiting, handing each
batch's answers back to the event loop as it goes: the next batch does not
wait for the event loop to take the answers and start it, which under load
took a sixth of the time between batches. (A second worker running batches
side by side was slower on PostgreSQL too: benchmarks.md, B1.)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, Final, Generic, TypeVar

CallT = TypeVar("CallT")
ResultT = TypeVar("ResultT")

# Bounds a transaction's size (and the IN lists of its queries); at 16 calls in flight
# batches are far smaller.
DEFAULT_MAX_BATCH: Final = 64


class CallBatcher(Generic[CallT, ResultT]):
    """Runs calls in batches, one batch at a time, in `executor`.

    `run_batch` answers every call of a batch, in order, with its result or the
    exception to raise for it.
    """

    def __init__(
        self,
        executor: Executor,
        run_batch: Callable[[list[CallT]], Sequence[ResultT | Exception]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._executor = executor
        self._run_batch = run_batch
        self._max_batch = max_batch
        # Shared by the event loop (which adds calls) and the worker (which takes them).
        self._lock = threading.Lock()
        self._waiting: list[tuple[CallT, asyncio.Future[ResultT]]] = []
        self._working = False

    async def run(self, call: CallT) -> ResultT:
        """Runs `call` with whatever other calls are waiting; returns its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ResultT] = loop.create_future()
        with self._lock:
            self._waiting.append((call, future))
            start = not self._working
            self._working = True
        if start:
            # At the loop's next turn, so that calls arriving together start together.
            loop.call_soon(self._start, loop)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._executor.submit(self._work, loop)
        except RuntimeError as error:  # the executor is shut down: the server is stopping
            with self._lock:
                waiting, self._waiting = self._waiting, []
                self._working = False
            _deliver(waiting, [error] * len(waiting))

    def _work(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the worker thread: runs batches until no call is waiting."""
        try:
            while True:
                with self._lock:
                    taken = self._waiting[: self._max_batch]
                    del self._waiting[: self._max_batch]
                    if not taken:
                        self._working = False
                        return
                if not self._run_batch_of(loop, taken):
                    # The event loop is closed: nobody is waiting any more.
                    self._give_up(loop)
                    return
        except BaseException:
            self._give_up(loop)
            raise

    def _run_batch_of(
        self, loop: asyncio.AbstractEventLoop, taken: list[tuple[CallT, asyncio.Future[ResultT]]]
    ) -> bool:
        """Runs one batch and hands its answers to the event loop; False if it is closed."""
        # A call whose caller gave up while it waited (deadline, cancellation)
        # is not run at all, as a job cancelled before it started.
        batch = [(call, future) for call, future in taken if not future.cancelled()]
        if not batch:
            return True
        results: Sequence[ResultT | Exception]
        try:
            results = self._run_batch([call for call, _ in batch])
        except Exception as error:  # it belongs to every call of the batch
            results = [error] * len(batch)
        except BaseException:
            with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
                loop.call_soon_threadsafe(_cancel, batch)
            raise
        try:
            loop.call_soon_threadsafe(_deliver, batch, results)
        except RuntimeError:
            return False
        return True

    def _give_up(self, loop: asyncio.AbstractEventLoop) -> None:
        """The worker stops: the waiting calls are cancelled, and a new worker may start."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
            self._working = False
        with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
            loop.call_soon_threadsafe(_cancel, waiting)


def _cancel(calls: list[tuple[Any, asyncio.Future[Any]]]) -> None:
    for _, future in calls:
        future.cancel()


def _deliver(
    batch: list[tuple[CallT, asyncio.Future[ResultT]]], results: Sequence[ResultT | Exception]
) -> None:
    """Hands each call its result; a batch function that broke its promise fails them all."""
    if len(results) != len(batch):
        mismatch = RuntimeError(f"a batch of {len(batch)} calls got {len(results)} results")
        results = [mismatch] * len(batch)
    for (_, future), result in zip(batch, results, strict=True):
        if future.done():  # the caller went away while the batch ran
            continue
        if isinstance(result, StopIteration):
            # A future refuses StopIteration (it would end the awaiting coroutine).
            future.set_exception(RuntimeError(f"StopIteration: {result}"))
        elif isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)
