"""run_sender: the outbox loop in a worker thread, stopped cleanly."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from keysvc.mail import OutboxSender, run_sender
from keysvc.mail.testing import CapturingTransport
from scheduler.clock import FixedClock

from .conftest import NOW, wait_until


def run_until(sender, condition, *, interval=0.05, timeout=10.0) -> None:
    """Runs the loop until ``condition`` holds, then sets stop and waits for the loop to end."""

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sender(sender, stop, interval=interval))
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout)

    asyncio.run(main())


def test_loop_delivers_queued_mail_until_stopped(engine, outbox):
    transport = CapturingTransport()
    sender = OutboxSender(engine, transport, FixedClock(NOW))
    outbox.queue("kr1")
    run_until(sender, lambda: len(transport.delivered) == 1)
    assert [mail.message_id for mail in transport.delivered] == ["<keysvc.kr1@keysvc.example.jp>"]


def test_full_batches_follow_each_other_without_waiting(engine, outbox):
    outbox.queue_many(10)
    transport = CapturingTransport()
    sender = OutboxSender(engine, transport, FixedClock(NOW), batch_size=2)
    started = time.monotonic()
    # An interval far longer than the test: only back-to-back batches can finish in time.
    run_until(sender, lambda: len(transport.delivered) == 10, interval=30.0, timeout=60.0)
    assert len(transport.delivered) == 10
    assert time.monotonic() - started < 20


def test_a_failing_batch_is_logged_and_the_loop_goes_on(engine, outbox, caplog):
    outbox.queue("kr1")
    transport = CapturingTransport()
    sender = OutboxSender(engine, transport, FixedClock(NOW))
    calls = 0
    original = sender.send_batch

    def flaky():
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database down")
        return original()

    sender.send_batch = flaky  # type: ignore[method-assign]
    run_until(sender, lambda: len(transport.delivered) == 1)
    assert len(transport.delivered) == 1
    assert "outbox batch failed" in caplog.text


def test_stop_lets_the_current_batch_finish(engine, outbox):
    outbox.queue_many(3)
    entered, release = threading.Event(), threading.Event()

    class Slow(CapturingTransport):
        def deliver(self, mail) -> None:
            entered.set()
            release.wait(10)
            super().deliver(mail)

    transport = Slow()
    sender = OutboxSender(engine, transport, FixedClock(NOW))

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sender(sender, stop, interval=0.05))
        await asyncio.to_thread(entered.wait, 10)
        stop.set()
        await asyncio.sleep(0.1)
        assert not task.done()  # still inside the batch
        release.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert len(transport.delivered) == 3


def test_cancelling_waits_for_the_batch_then_cancels(engine, outbox):
    outbox.queue("kr1")
    entered, release = threading.Event(), threading.Event()

    class Slow(CapturingTransport):
        def deliver(self, mail) -> None:
            entered.set()
            release.wait(10)
            super().deliver(mail)

    transport = Slow()
    sender = OutboxSender(engine, transport, FixedClock(NOW))

    async def main() -> None:
        task = asyncio.create_task(run_sender(sender, asyncio.Event(), interval=0.05))
        await asyncio.to_thread(entered.wait, 10)
        task.cancel()
        await asyncio.sleep(0.1)
        assert not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert wait_until(lambda: len(transport.delivered) == 1)
