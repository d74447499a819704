"""SQLite admits one writer at a time, and writers wait their turn.

Many threads run short read-then-write transactions at once, the pattern that
fails at once with "database is locked" when transactions begin DEFERRED.
Nothing may reach the caller, every row must be there, and the audit chain the
writers appended to must be intact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from keysvc.domain.audit_chain import verify_chain
from keysvc.persistence.audit_repository import (
    NewAuditEvent,
    add_events,
    chained_events,
    read_chain_head,
)
from keysvc.persistence.database import create_database_engine
from keysvc.persistence.schema import audit_events
from keysvc.persistence.schema_migrations import upgrade_database

from .rows import NOW

WRITERS = 8
TRANSACTIONS = 40


@pytest.fixture
def sqlite_file_url(sqlite_url):
    engine = create_database_engine(sqlite_url)
    upgrade_database(engine)
    engine.dispose()
    return sqlite_url


def _writer(engine, name: str) -> None:
    for number in range(TRANSACTIONS):
        with engine.begin() as connection:
            # Read, then write in the same transaction.
            seen = connection.scalar(select(func.count()).select_from(audit_events))
            add_events(
                connection,
                [NewAuditEvent(NOW, name, "site", "Test", f"{name}/{number}", f"after {seen}")],
            )


def _reader(engine, done: threading.Event) -> None:
    reader = engine.execution_options(sqlite_begin="DEFERRED")
    while not done.is_set():
        with reader.connect() as connection:
            connection.scalar(select(func.count()).select_from(audit_events))


def _run_all(jobs: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def _rows(url: str) -> int:
    """The events written, once their chain is checked."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            check = verify_chain(read_chain_head(connection), chained_events(connection))
    finally:
        engine.dispose()
    assert check.broken is None
    return check.events


def test_concurrent_writers_and_readers_on_one_engine(sqlite_file_url):
    engine = create_database_engine(sqlite_file_url)
    done = threading.Event()
    try:
        readers = [lambda: _reader(engine, done) for _ in range(2)]
        writers = [lambda name=f"w{n}": _writer(engine, name) for n in range(WRITERS)]

        def writers_then_stop() -> None:
            try:
                assert _run_all(writers) == []
            finally:
                done.set()

        errors = _run_all([writers_then_stop, *readers])
    finally:
        engine.dispose()
    assert errors == []
    assert _rows(sqlite_file_url) == WRITERS * TRANSACTIONS


def test_concurrent_writers_on_two_engines(sqlite_file_url):
    # Two engines with their own pools: as two processes on one file would be.
    engines = [create_database_engine(sqlite_file_url) for _ in range(2)]
    try:
        errors = _run_all(
            [
                lambda engine=engine, name=f"e{e}w{n}": _writer(engine, name)
                for e, engine in enumerate(engines)
                for n in range(WRITERS // 2)
            ]
        )
    finally:
        for engine in engines:
            engine.dispose()
    assert errors == []
    assert _rows(sqlite_file_url) == WRITERS * TRANSACTIONS
