"""The background work of `keysvc serve`: SQLite's WAL is copied into the database
by it, not by the requests' commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from keysvc.background import WAL_CHECKPOINT_INTERVAL_SECONDS, run_background_work
from keysvc.bootstrap import build_services
from keysvc.config import Settings
from scheduler.clock import FixedClock


def test_the_background_work_checkpoints_what_the_commits_left_in_the_wal(tmp_path) -> None:
    services = build_services(
        Settings(data_dir=tmp_path, signing_passphrase="background test passphrase"),  # noqa: S106
        FixedClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
    )
    database = tmp_path / "keysvc.db"
    try:
        # About 3,000 pages: under wal_autocheckpoint, so no commit copies them.
        for _ in range(150):
            with services.engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (pad TEXT)")
                connection.exec_driver_sql(
                    "INSERT INTO filler SELECT hex(randomblob(400)) "
                    "FROM json_each(json_array(" + ",".join(["0"] * 100) + "))"
                )
        before = database.stat().st_size

        async def run_a_while() -> None:
            stop = asyncio.Event()
            work = asyncio.create_task(run_background_work(services, stop))
            await asyncio.sleep(WAL_CHECKPOINT_INTERVAL_SECONDS * 2)
            stop.set()
            await asyncio.wait_for(work, 30)

        asyncio.run(run_a_while())
        # The pages are in the database file now, not only in its WAL.
        assert database.stat().st_size > before + 8_000_000
    finally:
        services.close()
