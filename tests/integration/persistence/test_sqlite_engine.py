"""The SQLite engine: pragmas on every connection, and who begins transactions how."""

from __future__ import annotations

import multiprocessing
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from keysvc.persistence.database import (
    SQLITE_WAL_AUTOCHECKPOINT_PAGES,
    WalCheckpoint,
    checkpoint_wal,
    create_database_engine,
    sqlite_url_for,
)
from keysvc.persistence.schema import products
from keysvc.persistence.schema_migrations import upgrade_database

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 30000,
    "synchronous": 1,
    "wal_autocheckpoint": SQLITE_WAL_AUTOCHECKPOINT_PAGES,
}


@pytest.fixture
def sqlite_engine(sqlite_url):
    engine = create_database_engine(sqlite_url)
    yield engine
    engine.dispose()


def _pragmas(connection) -> dict[str, object]:
    return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS}


def test_sqlite_url_names_keysvc_db_by_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sqlite_url_for(Path("var")) == f"sqlite+pysqlite:///{tmp_path.resolve()}/var/keysvc.db"


def test_pragmas_are_set_on_every_pooled_connection(sqlite_engine):
    with ExitStack() as stack:
        # Hold them all at once, so the pool has to open a new one each time;
        # DEFERRED, or each would wait for the others' write lock.
        reader = sqlite_engine.execution_options(sqlite_begin="DEFERRED")
        connections = [stack.enter_context(reader.connect()) for _ in range(6)]
        assert len({id(c.connection.dbapi_connection) for c in connections}) == 6
        assert all(_pragmas(connection) == PRAGMAS for connection in connections)


def _begins(engine) -> list[str]:
    statements: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )
    return statements


def test_transactions_begin_immediate_unless_a_reader_asks_for_deferred(sqlite_engine):
    upgrade_database(sqlite_engine)
    statements = _begins(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(select(func.count()).select_from(products))
    with sqlite_engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        connection.execute(select(func.count()).select_from(products))
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]


def test_a_deferred_reader_is_not_blocked_by_an_open_write_transaction(sqlite_engine):
    upgrade_database(sqlite_engine)
    with sqlite_engine.begin() as writer:
        writer.execute(products.delete())
        reader_engine = sqlite_engine.execution_options(sqlite_begin="DEFERRED")
        with reader_engine.connect() as reader:
            # WAL: the reader sees the last commit, not the writer's work.
            assert reader.scalar(select(func.count()).select_from(products)) == 2


def test_unknown_begin_mode_is_refused(sqlite_engine):
    with (
        pytest.raises(ValueError, match="sqlite_begin"),
        sqlite_engine.connect().execution_options(sqlite_begin="EVENTUALLY") as connection,
    ):
        connection.exec_driver_sql("SELECT 1")


def test_in_memory_database_is_one_database_shared_by_threads():
    engine = create_database_engine("sqlite://")
    try:
        upgrade_database(engine)
        counts: list[int] = []

        def count() -> None:
            with engine.connect() as connection:
                counts.append(connection.scalar(select(func.count()).select_from(products)))

        thread = threading.Thread(target=count)
        thread.start()
        thread.join()
        assert counts == [2]
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def _in_thread(work, timeout: float = 10.0) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the writer never got its turn"
    return errors


def test_a_writer_waits_for_the_one_before_and_starts_when_it_commits(sqlite_engine):
    upgrade_database(sqlite_engine)
    order: list[str] = []
    first_began = threading.Event()

    def second_writer() -> None:
        first_began.wait(5)
        with sqlite_engine.begin() as connection:
            order.append("second began")
            connection.execute(products.delete().where(products.c.code == "neo-backup"))

    thread = threading.Thread(target=second_writer)
    thread.start()
    with sqlite_engine.begin() as connection:
        first_began.set()
        thread.join(0.3)  # the second writer is queued, not running
        order.append("first commits")
        connection.execute(products.delete().where(products.c.code == "neo-webconf"))
    thread.join(10)
    assert order == ["first commits", "second began"]
    with sqlite_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(products)) == 0


def test_a_failed_or_rolled_back_writer_hands_the_turn_on(sqlite_engine):
    upgrade_database(sqlite_engine)

    class Failure(Exception):
        pass

    with pytest.raises(Failure), sqlite_engine.begin():
        raise Failure
    connection = sqlite_engine.connect()
    transaction = connection.begin()
    connection.execute(products.delete())
    connection.invalidate()  # a broken connection must not keep the turn either
    transaction.rollback()
    connection.close()

    def write() -> None:
        with sqlite_engine.begin() as other:
            other.execute(products.delete().where(products.c.code == "neo-backup"))

    assert _in_thread(write) == []


def test_commits_leave_the_wal_to_the_checkpoint_which_copies_all_of_it(sqlite_engine):
    upgrade_database(sqlite_engine)
    # About 3,000 pages, three times SQLite's own default of 1,000 at which a commit
    # would copy the WAL into the database (and start it over) by itself.
    for _ in range(150):
        with sqlite_engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (n INTEGER, pad TEXT)")
            connection.exec_driver_sql(
                "INSERT INTO filler SELECT value, hex(randomblob(400)) "
                "FROM json_each(json_array(" + ",".join(["0"] * 100) + "))"
            )
    result = checkpoint_wal(sqlite_engine)
    assert result is not None
    assert result.frames > 2_000
    assert result.checkpointed == result.frames  # nobody was reading
    again = checkpoint_wal(sqlite_engine)
    assert again is not None
    assert again.checkpointed == again.frames


def test_only_a_sqlite_file_has_a_wal_to_checkpoint(postgres_url) -> None:
    engine = create_database_engine(postgres_url)
    memory = create_database_engine("sqlite://")
    try:
        assert checkpoint_wal(engine) is None
        assert checkpoint_wal(memory) is None
    finally:
        engine.dispose()
        memory.dispose()


def test_a_checkpoint_neither_waits_for_nor_blocks_a_writer(sqlite_engine):
    upgrade_database(sqlite_engine)
    with sqlite_engine.begin() as writer:
        writer.execute(products.delete())
        # The writer holds the write lock; the checkpoint still runs, and returns.
        assert isinstance(checkpoint_wal(sqlite_engine), WalCheckpoint)
    with sqlite_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(products)) == 0


def _connect_when_all_are_ready(url: str, ready, outcomes) -> None:
    engine = create_database_engine(url)
    ready.wait()
    try:
        with engine.connect() as connection:
            outcomes.put(connection.exec_driver_sql("PRAGMA journal_mode").scalar_one())
    except Exception as error:  # the parent asserts on it
        outcomes.put(repr(error))
    finally:
        engine.dispose()


def test_processes_opening_a_fresh_file_together_all_switch_it_to_wal(tmp_path):
    # Servers or migrations starting together each open the new file and ask for
    # WAL; SQLite used to refuse one of them "database is locked" at once. The
    # race is narrow, so many fresh files, four processes each (without the wait
    # in _switch_to_wal, 6 to 13 of these 60 rounds failed).
    context = multiprocessing.get_context("fork")
    failures = []
    for round_number in range(60):
        folder = tmp_path / str(round_number)
        folder.mkdir()
        url = sqlite_url_for(folder)
        ready = context.Barrier(4)
        outcomes = context.Queue()
        processes = [
            context.Process(target=_connect_when_all_are_ready, args=(url, ready, outcomes))
            for _ in range(4)
        ]
        for process in processes:
            process.start()
        answers = [outcomes.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        failures += [answer for answer in answers if answer != "wal"]
    assert failures == []
