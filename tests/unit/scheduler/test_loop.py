"""The background loop: an outage is logged once, a bug every time."""

from __future__ import annotations

import asyncio
import logging

from scheduler.loop import run_batches


class Outage(Exception):
    pass


def test_an_outage_is_logged_when_it_begins_and_ends_and_a_bug_every_time(caplog) -> None:
    outcomes: list[Exception | None] = [
        Outage(),
        Outage(),
        Outage(),
        None,
        ValueError(),
        ValueError(),
    ]
    stop = asyncio.Event()

    def batch() -> bool:
        outcome = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if outcome is not None:
            raise outcome
        return False

    async def main() -> None:
        await run_batches(
            batch,
            stop,
            interval=0.001,
            name="release",
            outage=lambda error: isinstance(error, Outage),
        )

    with caplog.at_level(logging.WARNING, logger="scheduler.loop"):
        asyncio.run(main())
    messages = [
        (record.levelno, record.getMessage(), record.exc_info is not None)
        for record in caplog.records
    ]
    assert messages == [
        (
            logging.WARNING,
            "release batch failed: the database is unavailable; retrying every 0.001 s",
            False,
        ),
        (logging.WARNING, "release batches run again", False),
        (logging.ERROR, "release batch failed; retrying after the interval", True),
        (logging.ERROR, "release batch failed; retrying after the interval", True),
    ]
