"""Concurrent calls of one RPC, run together: one transaction for a whole batch.

Under load most of a mutating call's cost is per transaction and per statement
(BEGIN, a dozen queries, COMMIT), not per request. `CallBatcher` hands the
calls waiting at a moment to a worker thread as one batch, so that cost is paid
once for all of them. Nothing waits on a timer: a call that arrives when no
batch is running starts one at once, and calls arriving meanwhile make up the
next, so a lone call is as fast as before and a crowd shares the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Final, Generic, TypeVar

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
        self._waiting: list[tuple[CallT, asyncio.Future[ResultT]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def run(self, call: CallT) -> ResultT:
        """Runs `call` with whatever other calls are waiting; returns its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ResultT] = loop.create_future()
        self._waiting.append((call, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[tuple[CallT, asyncio.Future[ResultT]]] = []
        try:
            while self._waiting:
                # A call whose caller gave up while it waited (deadline, cancellation)
                # is not run at all, as a job cancelled before it started.
                batch = [(call, f) for call, f in self._waiting[: self._max_batch] if not f.done()]
                del self._waiting[: self._max_batch]
                if not batch:
                    continue
                try:
                    results = await loop.run_in_executor(
                        self._executor, self._run_batch, [call for call, _ in batch]
                    )
                except Exception as error:  # it belongs to every call of the batch
                    results = [error] * len(batch)
                _deliver(batch, results)
                batch = []
        finally:
            # Only when this task is cancelled (the server stopping) is anything left.
            self._draining = None
            for _, future in (*batch, *self._waiting):
                if not future.done():
                    future.cancel()
            self._waiting.clear()


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
