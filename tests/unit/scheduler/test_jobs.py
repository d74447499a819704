"""run_jobs: every job runs side by side until stopped, each at its own pace."""

from __future__ import annotations

import asyncio
import threading

from scheduler.jobs import Job, run_jobs


def test_each_job_runs_until_stop_and_full_batches_run_back_to_back():
    counts = {"busy": 0, "idle": 0}
    lock = threading.Lock()

    def busy() -> bool:
        with lock:
            counts["busy"] += 1
            return counts["busy"] < 5  # four full batches, then nothing more

    def idle() -> bool:
        with lock:
            counts["idle"] += 1
        return False

    async def main() -> None:
        stop = asyncio.Event()
        # Intervals longer than the test: only the first batch of each, and the
        # back-to-back ones after full batches, can run before stop.
        task = asyncio.create_task(
            run_jobs([Job("busy", busy, 60.0), Job("idle", idle, 60.0)], stop)
        )
        for _ in range(500):
            if counts["busy"] >= 5 and counts["idle"] >= 1:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert counts == {"busy": 5, "idle": 1}


def test_an_outage_is_passed_to_every_job():
    seen: list[str] = []

    def failing() -> bool:
        raise ConnectionError("gone")

    def outage(error: Exception) -> bool:
        seen.append(type(error).__name__)
        return True

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_jobs([Job("failing", failing, 60.0)], stop, outage=outage))
        for _ in range(500):
            if seen:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert seen
    assert set(seen) == {"ConnectionError"}
