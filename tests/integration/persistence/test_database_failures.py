"""An unreachable or failing database is told apart from a bug of ours, on real drivers."""

from __future__ import annotations

import socket
import sqlite3

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from keysvc.persistence.database import create_database_engine
from keysvc.persistence.failures import database_unavailable
from tests.faults.tcp_proxy import TcpProxy


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raised(action) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the class is what is examined
        action()
    return caught.value


def test_a_refused_postgresql_connection_is_unavailable(postgres_admin_url):
    url = make_url(postgres_admin_url).set(host="127.0.0.1", port=_closed_port())
    engine = create_database_engine(url.render_as_string(hide_password=False))
    try:
        error = _raised(lambda: engine.connect().close())
    finally:
        engine.dispose()
    assert database_unavailable(error)


def test_the_driver_s_own_refused_connection_is_unavailable(postgres_admin_url):
    url = make_url(postgres_admin_url)
    error = _raised(
        lambda: psycopg.connect(
            host="127.0.0.1", port=_closed_port(), user=url.username, dbname=url.database
        )
    )
    assert isinstance(error, psycopg.OperationalError)
    assert database_unavailable(error)


def test_a_connection_reset_in_the_middle_of_a_transaction_is_unavailable(postgres_url):
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        engine = create_database_engine(
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        )
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                proxy.reset()
                error = _raised(lambda: connection.execute(text("SELECT 1")))
            # The pool recovers by itself: the next checkout connects anew.
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 2")).scalar() == 2
        finally:
            engine.dispose()
    assert isinstance(error, DBAPIError)
    assert database_unavailable(error)


def test_a_postgresql_statement_error_or_constraint_is_a_bug_not_an_outage(postgres_url):
    engine = create_database_engine(postgres_url)
    try:
        with engine.connect() as connection:
            syntax = _raised(lambda: connection.execute(text("SELEC 1")))
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            duplicate = _raised(lambda: connection.execute(text("INSERT INTO t VALUES (1)")))
    finally:
        engine.dispose()
    assert isinstance(duplicate, IntegrityError)
    assert not database_unavailable(syntax)
    assert not database_unavailable(duplicate)


def test_a_sqlite_database_locked_past_the_busy_timeout_is_unavailable(tmp_path):
    path = tmp_path / "db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
        raw = _raised(lambda: waiter.execute("BEGIN IMMEDIATE"))
        waiter.close()
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        with engine.connect() as connection:
            wrapped = _raised(lambda: connection.exec_driver_sql("BEGIN IMMEDIATE"))
        engine.dispose()
    finally:
        holder.close()
    assert database_unavailable(raw)
    assert database_unavailable(wrapped)


def test_a_sqlite_statement_error_is_a_bug_not_an_outage(tmp_path):
    connection = sqlite3.connect(tmp_path / "db")
    try:
        missing = _raised(lambda: connection.execute("SELECT * FROM nowhere"))
        syntax = _raised(lambda: connection.execute("SELEC 1"))
    finally:
        connection.close()
    assert not database_unavailable(missing)
    assert not database_unavailable(syntax)


def test_an_outage_is_found_behind_the_exceptions_that_wrap_it():
    wrapper = RuntimeError("a batch failed")
    wrapper.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    assert database_unavailable(wrapper)
    bug = RuntimeError("a bug")
    bug.__context__ = ValueError("while handling another bug")
    assert not database_unavailable(bug)
