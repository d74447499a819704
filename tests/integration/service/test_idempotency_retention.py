"""Remembered calls are forgotten after their retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, insert, select

from keysvc.background import run_background_work
from keysvc.bootstrap import Services, build_services
from keysvc.config import Settings
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.idempotency_repository import purge_records
from keysvc.persistence.schema import closures, idempotency_records
from keysvc.service.mutations import Mutation, MutationRunner
from keysvc.service.retention import IdempotencyRetention
from keysvc.v1 import admin_service_pb2, resources_pb2
from scheduler.clock import FixedClock

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
METHOD = "/keysvc.v1.AdminService/AddClosure"
ADMIN = Principal("0123456789abcdef", Role.ADMIN)


def remember(engine, created_at: datetime, count: int = 1) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(idempotency_records),
            [
                {
                    "client_id": "0123456789abcdef",
                    "method": METHOD,
                    "request_id": str(uuid.uuid4()),
                    "request_hash": bytes(32),
                    "response": b"",
                    "created_at": created_at,
                }
                for _ in range(count)
            ],
        )


def remembered(engine) -> list[datetime]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(idempotency_records.c.created_at)).scalars().all())


def test_only_calls_made_before_the_instant_are_forgotten(engine) -> None:
    remember(engine, NOW - timedelta(days=91), count=3)
    remember(engine, NOW - timedelta(days=90))
    remember(engine, NOW)
    with engine.begin() as connection:
        assert purge_records(connection, NOW - timedelta(days=90), limit=10) == 3
    assert remembered(engine) == [NOW - timedelta(days=90), NOW]


def test_a_purge_takes_at_most_its_limit(engine) -> None:
    remember(engine, NOW - timedelta(days=100), count=5)
    with engine.begin() as connection:
        assert purge_records(connection, NOW, limit=2) == 2
        assert purge_records(connection, NOW, limit=2) == 2
        assert purge_records(connection, NOW, limit=2) == 1
        assert purge_records(connection, NOW, limit=2) == 0
    with engine.begin() as connection, pytest.raises(ValueError, match="at least 1"):
        purge_records(connection, NOW, limit=0)


def test_the_retention_reports_a_full_batch_so_the_loop_goes_on(engine) -> None:
    remember(engine, NOW - timedelta(days=31), count=3)
    retention = IdempotencyRetention(engine, FixedClock(NOW), days=30, batch_size=2)
    assert retention.purge_batch() is True
    assert retention.purge_batch() is False
    assert remembered(engine) == []
    with pytest.raises(ValueError, match="days must be at least 1"):
        IdempotencyRetention(engine, FixedClock(NOW), days=0)


def _add_closure(label: str):
    def action(connection: Connection) -> tuple[resources_pb2.Closure, str]:
        closure_id = uuid.uuid4().hex
        connection.execute(
            insert(closures).values(
                id=closure_id,
                start_date=date(2026, 8, 13),
                end_date=date(2026, 8, 16),
                label=label,
                created_at=NOW,
            )
        )
        return resources_pb2.Closure(id=closure_id, label=label), f"closures/{closure_id}"

    return action


def test_a_repeat_after_the_retention_is_a_new_call(engine) -> None:
    clock = FixedClock(NOW)
    runner = MutationRunner(engine, clock)
    request = admin_service_pb2.AddClosureRequest(
        start_date="2026-08-13", end_date="2026-08-16", label="夏期休暇", request_id="repeat-1"
    )

    def call() -> resources_pb2.Closure:
        mutation = Mutation(ADMIN, METHOD, request, request.request_id, "closures")
        return runner.run(mutation, resources_pb2.Closure, _add_closure(request.label))

    first = call()
    assert call() == first  # within the retention: the same answer
    clock.advance(timedelta(days=91))
    assert IdempotencyRetention(engine, clock, days=90).purge_batch() is False
    assert call().id != first.id
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(closures)).scalar_one() == 2


@contextmanager
def services_keeping(tmp_path, days: int) -> Iterator[Services]:
    """The service's parts on an embedded database, remembering calls `days` days."""
    settings = Settings(
        data_dir=tmp_path,
        signing_passphrase="retention test passphrase",  # noqa: S106
        idempotency_retention_days=days,
    )
    services = build_services(settings, FixedClock(NOW))
    try:
        yield services
    finally:
        services.close()


def test_the_background_work_forgets_what_is_past_the_retention(tmp_path) -> None:
    with services_keeping(tmp_path, 30) as services:
        remember(services.engine, NOW - timedelta(days=31), count=2)
        remember(services.engine, NOW - timedelta(days=29))

        async def run_a_moment() -> None:
            stop = asyncio.Event()
            work = asyncio.create_task(run_background_work(services, stop))
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.wait_for(work, 30)

        asyncio.run(run_a_moment())
        assert remembered(services.engine) == [NOW - timedelta(days=29)]


def test_zero_days_keeps_remembered_calls_forever(tmp_path) -> None:
    with services_keeping(tmp_path, 0) as services:
        assert services.idempotency_retention is None
