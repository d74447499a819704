"""Shared database fixtures: real SQLite files and real PostgreSQL databases.

- ``sqlite_url``: the URL of a SQLite file in the test's tmp_path, not created yet.
- ``postgres_url``: a brand-new, empty (unmigrated) PostgreSQL database for this
  test alone, dropped afterwards. For tests of migrations themselves.
- ``database_url``: parametrized ``sqlite`` / ``postgresql``: a migrated database
  holding nothing but the seeded products. SQLite: a copy of a file migrated once
  per run. PostgreSQL: one database per run, migrated once, emptied before each
  test (TRUNCATE, the seeded rows restored) — far cheaper than a database per test.
  Tests must not change its schema; those take ``postgres_url``.
- ``engine``: `create_database_engine(database_url)`, disposed afterwards.

PostgreSQL comes from ``KEYSVC_TEST_POSTGRES_URL`` (an administrative URL: the
fixtures create and drop databases ``keysvc_test_<hex>`` through it). When it is
unreachable the PostgreSQL tests are skipped — except under CI=true, where they
fail: CI must not pass without PostgreSQL. Tests using PostgreSQL carry the
``postgres`` marker, so ``pytest -m "not postgres"`` leaves them out.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.schema import audit_chain_head, products
from keysvc.persistence.schema_migrations import upgrade_database

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL_VARIABLE = "KEYSVC_TEST_POSTGRES_URL"
# Tables whose contents survive a reset: Alembic's bookkeeping.
_KEPT_TABLES = frozenset({"alembic_version"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test that asks for a PostgreSQL database as ``postgres``."""
    for item in items:
        if {"postgres_url", "module_postgres_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def _postgres_unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The administrative PostgreSQL URL (``KEYSVC_TEST_POSTGRES_URL``)."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_admin_engine(postgres_admin_url) -> Iterator[Engine]:
    """An AUTOCOMMIT engine for CREATE/DROP DATABASE; skips (fails on CI) without a server."""
    engine = create_engine(
        postgres_admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        shown = make_url(postgres_admin_url).render_as_string(hide_password=True)
        reason = str(error.orig or error).strip().splitlines()[0]
        _postgres_unavailable(
            f"PostgreSQL not reachable at {shown}: {reason}; set {POSTGRES_URL_VARIABLE}"
        )
    yield engine
    engine.dispose()


@contextmanager
def _scratch_database(admin_engine: Engine) -> Iterator[str]:
    """Creates database ``keysvc_test_<hex>``, yields its URL and drops it."""
    name = f"keysvc_test_{secrets.token_hex(6)}"
    with admin_engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as connection:
            # FORCE: a test that leaked a connection must not keep the database alive.
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_admin_engine) -> Iterator[str]:
    """A new, empty, unmigrated PostgreSQL database for this test only."""
    with _scratch_database(postgres_admin_engine) as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url(postgres_admin_engine) -> Iterator[str]:
    """A new, empty, unmigrated PostgreSQL database shared by one test module."""
    with _scratch_database(postgres_admin_engine) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """The URL of a SQLite database file in tmp_path (created on first connect)."""
    return sqlite_url_for(tmp_path)


def _migrated(url: str) -> None:
    engine = create_database_engine(url)
    try:
        upgrade_database(engine)
    finally:
        # Closing the last connection checkpoints SQLite's WAL into the main file.
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> str:
    """A SQLite file migrated once per run; tests get copies of it."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    _migrated(sqlite_url_for(directory))
    return str(directory / "keysvc.db")


class _PostgresRunDatabase:
    """The run's migrated PostgreSQL database, and how to empty it between tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = create_engine(url, poolclass=NullPool)
        with self._engine.connect() as connection:
            tables = connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).all()
            # What the migrations seeded (the products, the empty audit chain's head),
            # restored by every reset.
            self._seeded = {
                table: [dict(row) for row in connection.execute(select(table)).mappings()]
                for table in (products, audit_chain_head)
            }
        self._truncate = "TRUNCATE {} RESTART IDENTITY CASCADE".format(
            ", ".join(f'"{table}"' for table in sorted(set(tables) - _KEPT_TABLES))
        )

    def reset(self) -> None:
        with self._engine.begin() as connection:
            # A test that left a transaction open would make TRUNCATE wait forever.
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            connection.exec_driver_sql(self._truncate)
            for table, rows in self._seeded.items():
                connection.execute(insert(table), rows)

    def dispose(self) -> None:
        self._engine.dispose()


@pytest.fixture(scope="session")
def _postgres_run_database(postgres_admin_engine) -> Iterator[_PostgresRunDatabase]:
    with _scratch_database(postgres_admin_engine) as url:
        _migrated(url)
        database = _PostgresRunDatabase(url)
        yield database
        database.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request, tmp_path) -> str:
    """A migrated database holding only the seeded products, on each backend."""
    if request.param == "sqlite":
        # Copying the migrated file is the same database as migrating anew, and
        # costs a millisecond instead of fifty.
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), tmp_path / "keysvc.db")
        return sqlite_url_for(tmp_path)
    database = request.getfixturevalue("_postgres_run_database")
    # Emptied before the test rather than after: a failed test's rows stay
    # behind for inspection until the next test starts.
    database.reset()
    return database.url


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """The keysvc engine for `database_url`."""
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()
