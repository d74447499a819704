"""The SQLAlchemy engine: SQLite by default, PostgreSQL when configured.

SQLite is the embedded default (one file under the data folder); PostgreSQL is
chosen by giving a ``postgresql+psycopg://user@host/db`` URL in
``KEYSVC_DATABASE_URL``. Only these two are specialised here; any other URL is
handed to SQLAlchemy unchanged.

On SQLite every new connection gets the same pragmas (WAL, foreign keys,
a 30 s busy timeout, ``synchronous=NORMAL``) and transactions are started by us
rather than by the ``sqlite3`` module, as ``BEGIN IMMEDIATE`` unless a reader
opts out::

    with read_transaction(engine) as conn:
        ...  # a read-only transaction that takes no write lock

Within one process, writers queue for a lock before ``BEGIN IMMEDIATE`` and
hand it on the moment their transaction ends (`_WriterQueue`), instead of
meeting in SQLite's busy handler, which polls with sleeps of up to 100 ms.

See docs/persistence.md for why.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_WAL_AUTOCHECKPOINT_PAGES",
    "WalCheckpoint",
    "checkpoint_wal",
    "create_database_engine",
    "read_transaction",
    "sqlite_url_for",
]

SQLITE_FILE_NAME: Final = "keysvc.db"

# How long a writer waits for another writer's lock before SQLite gives up with
# "database is locked". Write transactions here are short (milliseconds), so 30 s
# only ever runs out when something is badly wrong.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000

# A commit that finds the WAL this long (pages of 4 KiB: 40 MB) copies it into the
# database itself. Normally `checkpoint_wal`, run every second by the background
# work, has done so long before, outside any request's transaction; SQLite's own
# default (1,000 pages) made every seventh batch of submissions pay for it.
SQLITE_WAL_AUTOCHECKPOINT_PAGES: Final = 10_000

# The execution option read when a transaction begins on SQLite.
SQLITE_BEGIN_OPTION: Final = "sqlite_begin"


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for reading only: on SQLite it takes no write lock (BEGIN DEFERRED),
    so readers never queue behind writers."""
    with (
        engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}) as connection,
        connection.begin(),
    ):
        yield connection


@contextmanager
def snapshot_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose statements all see one snapshot of the database:
    REPEATABLE READ on PostgreSQL (its default, READ COMMITTED, takes a snapshot per
    statement); SQLite's deferred read transaction is one snapshot already."""
    options: dict[str, str] = {SQLITE_BEGIN_OPTION: "DEFERRED"}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


_SQLITE_BEGIN_MODES: Final = frozenset({"IMMEDIATE", "DEFERRED", "EXCLUSIVE"})

# PostgreSQL pool: the server runs a handful of worker threads plus the
# scheduler; more connections than that would only wait on each other.
_POSTGRES_POOL_SIZE: Final = 5
_POSTGRES_MAX_OVERFLOW: Final = 5
# libpq's connection parameters, so that a server that went away is noticed in
# seconds rather than when TCP gives up (minutes): a connection attempt waits 5 s
# at most; a lost peer is found by keepalives within a minute when idle, and
# within 30 s when a statement's bytes go unacknowledged (docs/operations.md).
_POSTGRES_CONNECT_DEFAULTS: Final[dict[str, int]] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def sqlite_url_for(data_dir: Path) -> str:
    """Returns the URL of the embedded SQLite database in `data_dir`.

    The path is made absolute so the URL means the same file whatever the
    working directory is later.

    >>> sqlite_url_for(Path("/data"))
    'sqlite+pysqlite:////data/keysvc.db'
    """
    return f"sqlite+pysqlite:///{data_dir.resolve() / SQLITE_FILE_NAME}"


def create_database_engine(url: str) -> Engine:
    """Creates the engine for `url`, with keysvc's settings for its backend.

    - SQLite file: a connection pool whose every connection has ``journal_mode=WAL``,
      ``foreign_keys=ON``, ``busy_timeout=30000`` and ``synchronous=NORMAL``;
      transactions begin with ``BEGIN IMMEDIATE``, or with the mode named by the
      ``sqlite_begin`` execution option (``"DEFERRED"`` for read-only work).
    - SQLite in memory (``sqlite://``): the same, on one shared connection
      (`StaticPool`), for unit tests; it is not safe for concurrent use.
    - PostgreSQL: a small pool with ``pool_pre_ping`` so that connections the
      server dropped (restart, idle timeout) are replaced rather than failing
      the next request, and libpq's connect timeout, keepalives and TCP user
      timeout, so that an unreachable server is noticed in seconds.
    - Anything else: SQLAlchemy's defaults.

    Creating the engine does not connect; the first use does.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _create_sqlite_engine(parsed)
    if backend == "postgresql":
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=_POSTGRES_POOL_SIZE,
            max_overflow=_POSTGRES_MAX_OVERFLOW,
            # Parameters the URL gives itself win over these defaults.
            connect_args={
                name: value
                for name, value in _POSTGRES_CONNECT_DEFAULTS.items()
                if name not in parsed.query
            },
        )
    return create_engine(parsed)


@dataclass(frozen=True, slots=True)
class WalCheckpoint:
    """What a checkpoint found: WAL frames in all, and how many are in the database now."""

    frames: int
    checkpointed: int


def checkpoint_wal(engine: Engine) -> WalCheckpoint | None:
    """Copies what it can of a SQLite file database's WAL into the database, without
    waiting for or holding up anyone (``PRAGMA wal_checkpoint(PASSIVE)``); None for
    any other database.

    Readers and writers go on meanwhile; frames a reader still needs are left for
    the next checkpoint. The background work runs it every second, so that no
    request's commit has to (`SQLITE_WAL_AUTOCHECKPOINT_PAGES`).
    """
    if engine.dialect.name != "sqlite" or _is_sqlite_memory(engine.url):
        return None
    # The driver's connection, outside any transaction: a checkpoint cannot run in one,
    # and it needs no write lock.
    connection = engine.raw_connection()
    try:
        driver: sqlite3.Connection = connection.driver_connection  # type: ignore[assignment]
        _busy, frames, checkpointed = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return WalCheckpoint(frames=max(frames, 0), checkpointed=max(checkpointed, 0))


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


class _WriterQueue:
    """One writer at a time within this process, handed on without delay.

    SQLite admits one writer; when several threads ask at once, all but one
    wait in SQLite's busy handler, which sleeps 1, 2, 5, … up to 100 ms
    between tries: at 16 concurrent calls that cost more than the work. Here a
    writer takes this lock before ``BEGIN IMMEDIATE`` and gives it back right
    after its ``COMMIT`` or ``ROLLBACK``, so the next one starts at once. Other
    processes on the same file still meet in the busy handler.
    """

    _HOLDS: Final = "keysvc_holds_writer_lock"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, connection: Connection, mode: str) -> None:
        """Takes the lock, then begins the transaction (as SQLite would, within busy_timeout)."""
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise OperationalError(
                f"BEGIN {mode}", {}, sqlite3.OperationalError("database is locked")
            )
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            self._lock.release()
            raise
        connection.info[self._HOLDS] = True

    def end(self, connection: Connection, statement: str) -> None:
        """Ends the transaction on the driver's connection itself, then hands the lock on.

        SQLAlchemy's commit and rollback events come before its own COMMIT; with
        the transaction already ended here, that one finds nothing to do.
        """
        if connection.invalidated:
            return  # the pool's invalidate event has handed the turn on already
        if connection.info.pop(self._HOLDS, False):
            try:
                dbapi_connection: Any = connection.connection.dbapi_connection
                dbapi_connection.execute(statement)
            finally:
                self._lock.release()

    def release_if_held(self, record: ConnectionPoolEntry) -> None:
        """A connection leaving use (returned, reset, invalidated) never keeps the lock."""
        if record.info.pop(self._HOLDS, False):
            self._lock.release()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database file in WAL mode, waiting out another connection doing the same.

    WAL: readers never block the writer nor the writer the readers. The mode
    is persistent in the file, so once set every later connection only reads
    it. Switching needs an exclusive lock, and two connections switching a
    fresh file at once (two servers or migrations starting together) can
    each hold the shared lock the other must lose: SQLite then answers one of
    them "database is locked" at once, without its busy handler, so the wait
    is ours.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _create_sqlite_engine(url: URL) -> Engine:
    in_memory = _is_sqlite_memory(url)
    if in_memory:
        # One connection shared by all threads: each new connection to
        # ``sqlite://`` would otherwise be a new, empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url)

    def on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Stop the sqlite3 module from issuing BEGIN itself (it would begin
        # DEFERRED, and only before DML); the "begin" listener below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock that another
            # connection may hold for a moment when a fresh file is first opened.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                _switch_to_wal(cursor)
            # With WAL, NORMAL is still consistent after a crash; a power loss
            # may only lose the last commits. FULL would fsync on every commit.
            cursor.execute("PRAGMA synchronous = NORMAL")
            # Checkpoints are the background work's (`checkpoint_wal`), off the commits
            # of the requests; this is only the bound should that work stop.
            cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, waiting up to
        # busy_timeout for it. A DEFERRED transaction that reads and then writes
        # must upgrade its lock; if another writer committed meanwhile SQLite
        # fails at once with SQLITE_BUSY, without honouring busy_timeout, and
        # "database is locked" would reach the client.
        mode = str(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE"))
        mode = mode.upper()
        if mode not in _SQLITE_BEGIN_MODES:
            raise ValueError(
                f"{SQLITE_BEGIN_OPTION}={mode!r}: expected one of {sorted(_SQLITE_BEGIN_MODES)}"
            )
        if mode == "DEFERRED":
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            writers.begin(connection, mode)

    writers = _WriterQueue()
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", lambda connection: writers.end(connection, "COMMIT"))
    event.listen(engine, "rollback", lambda connection: writers.end(connection, "ROLLBACK"))
    for pool_event in ("checkin", "reset", "invalidate", "close"):
        event.listen(
            engine.pool, pool_event, lambda *args: writers.release_if_held(_record_of(args))
        )
    return engine


def _record_of(args: tuple[Any, ...]) -> ConnectionPoolEntry:
    # Pool events pass (dbapi_connection, connection_record, ...).
    record: ConnectionPoolEntry = args[1]
    return record
