"""CallBatcher: concurrent calls share a batch, a lone call runs at once, and every
call gets its own answer."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from keysvc.api.batching import CallBatcher


class Recorder:
    """A batch function that doubles numbers, refuses negative ones, and remembers
    the batches it ran; `gate` holds the first batch until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, calls: list[int]) -> list[int | Exception]:
        self.gate.wait(10)
        self.batches.append(calls)
        return [ValueError(f"refused {call}") if call < 0 else call * 2 for call in calls]


@pytest.fixture
def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


def test_a_lone_call_runs_at_once_in_a_batch_of_its_own(executor) -> None:
    recorder = Recorder()
    batcher = CallBatcher(executor, recorder)
    assert asyncio.run(batcher.run(21)) == 42
    assert recorder.batches == [[21]]


def test_calls_arriving_while_a_batch_runs_make_up_the_next_one(executor) -> None:
    recorder = Recorder()
    batcher = CallBatcher(executor, recorder)

    async def scenario() -> list[int]:
        recorder.gate.clear()
        first = asyncio.ensure_future(batcher.run(1))
        await asyncio.sleep(0.05)  # the first batch is running, held at the gate
        later = [asyncio.ensure_future(batcher.run(n)) for n in range(2, 6)]
        await asyncio.sleep(0.05)
        recorder.gate.set()
        return await asyncio.gather(first, *later)

    assert asyncio.run(scenario()) == [2, 4, 6, 8, 10]
    assert recorder.batches == [[1], [2, 3, 4, 5]]


def test_a_batch_never_exceeds_its_bound(executor) -> None:
    recorder = Recorder()
    batcher = CallBatcher(executor, recorder, max_batch=3)

    async def scenario() -> list[int]:
        return await asyncio.gather(*(batcher.run(n) for n in range(7)))

    assert asyncio.run(scenario()) == [n * 2 for n in range(7)]
    assert [len(batch) for batch in recorder.batches] == [3, 3, 1]


def test_each_call_gets_its_own_error(executor) -> None:
    batcher = CallBatcher(executor, Recorder())

    async def scenario() -> list[int | BaseException]:
        return await asyncio.gather(*(batcher.run(n) for n in (1, -2, 3)), return_exceptions=True)

    fine, refused, other = asyncio.run(scenario())
    assert (fine, other) == (2, 6)
    assert isinstance(refused, ValueError)
    assert str(refused) == "refused -2"


def test_a_failing_batch_function_fails_every_call_of_the_batch_and_the_next_runs(
    executor,
) -> None:
    failures = [RuntimeError("database gone")]

    def flaky(calls: list[int]) -> list[int | Exception]:
        if failures:
            raise failures.pop()
        return [call * 2 for call in calls]

    batcher = CallBatcher(executor, flaky)

    async def scenario() -> tuple[list[int | BaseException], int]:
        first = await asyncio.gather(batcher.run(1), batcher.run(2), return_exceptions=True)
        return first, await batcher.run(3)

    first, later = asyncio.run(scenario())
    assert all(isinstance(result, RuntimeError) for result in first)
    assert later == 6


def test_a_caller_that_gives_up_does_not_disturb_the_others(executor) -> None:
    recorder = Recorder()
    batcher = CallBatcher(executor, recorder)

    async def scenario() -> int:
        recorder.gate.clear()
        impatient = asyncio.ensure_future(batcher.run(1))
        patient = asyncio.ensure_future(batcher.run(2))
        await asyncio.sleep(0.05)
        impatient.cancel()
        recorder.gate.set()
        return await patient

    assert asyncio.run(scenario()) == 4
    assert recorder.batches == [[1, 2]]  # the cancelled call had joined the batch already


def test_a_call_given_up_before_its_batch_starts_is_not_run(executor) -> None:
    recorder = Recorder()
    batcher = CallBatcher(executor, recorder)

    async def scenario() -> int:
        recorder.gate.clear()
        running = asyncio.ensure_future(batcher.run(1))
        await asyncio.sleep(0.05)  # the first batch holds at the gate
        given_up = asyncio.ensure_future(batcher.run(2))
        kept = asyncio.ensure_future(batcher.run(3))
        await asyncio.sleep(0.05)
        given_up.cancel()
        recorder.gate.set()
        await running
        return await kept

    assert asyncio.run(scenario()) == 6
    assert recorder.batches == [[1], [3]]


def test_results_a_future_cannot_carry_still_reach_their_callers(executor) -> None:
    def odd(calls: list[int]) -> list[int | Exception]:
        return [StopIteration("no active key") if call == 1 else call for call in calls]

    batcher = CallBatcher(executor, odd)

    async def scenario() -> list[int | BaseException]:
        return await asyncio.gather(batcher.run(1), batcher.run(2), return_exceptions=True)

    stopped, fine = asyncio.run(scenario())
    assert isinstance(stopped, RuntimeError)
    assert "no active key" in str(stopped)
    assert fine == 2


def test_a_batch_function_answering_the_wrong_number_of_calls_fails_them_and_goes_on(
    executor,
) -> None:
    answers = [[]]

    def short(calls: list[int]) -> list[int | Exception]:
        return answers.pop() if answers else list(calls)

    batcher = CallBatcher(executor, short)

    async def scenario() -> tuple[BaseException | int, int]:
        (first,) = await asyncio.gather(batcher.run(1), return_exceptions=True)
        return first, await batcher.run(2)

    first, later = asyncio.run(scenario())
    assert isinstance(first, RuntimeError)
    assert later == 2


def test_calls_waiting_when_the_executor_is_shut_down_fail_with_its_error() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    batcher = CallBatcher(pool, Recorder())

    async def scenario() -> BaseException | int:
        (result,) = await asyncio.gather(batcher.run(1), return_exceptions=True)
        return result

    assert isinstance(asyncio.run(scenario()), RuntimeError)


def test_the_next_batch_starts_without_waiting_for_the_event_loop(executor) -> None:
    recorder = Recorder()
    batcher = CallBatcher(executor, recorder)

    async def scenario() -> tuple[int, list[int]]:
        recorder.gate.clear()
        first = asyncio.ensure_future(batcher.run(1))
        await asyncio.sleep(0.05)  # the first batch holds at the gate
        later = [asyncio.ensure_future(batcher.run(n)) for n in (2, 3)]
        await asyncio.sleep(0.05)
        recorder.gate.set()
        time.sleep(0.3)  # the event loop is busy: it can neither take answers nor start work
        batches_meanwhile = len(recorder.batches)
        return batches_meanwhile, await asyncio.gather(first, *later)

    assert asyncio.run(scenario()) == (2, [2, 4, 6])
    assert recorder.batches == [[1], [2, 3]]
