"""DriverStatement and DriverInsert over real SQLite and PostgreSQL: what they store
and read is what Core stores and reads, inside the caller's transaction, and their
errors are SQLAlchemy's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, func, insert, literal_column, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from keysvc.persistence.database import create_database_engine
from keysvc.persistence.driver_statement import DriverInsert, DriverStatement
from keysvc.persistence.schema import audit_events, closures, idempotency_records
from keysvc.persistence.schema_migrations import upgrade_database

JST = timezone(timedelta(hours=9))
CLOSURE_COLUMNS = ("id", "start_date", "end_date", "label", "created_at")
INSERT_CLOSURES = DriverInsert(closures, CLOSURE_COLUMNS)
SELECT_CLOSURES = DriverStatement(
    select(*(closures.c[name] for name in CLOSURE_COLUMNS))
    .where(closures.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(closures.c.id),
    lists=("ids",),
)
# A constant list (a literal IN) and a plain parameter, besides the caller's list.
SELECT_LABELLED = DriverStatement(
    select(closures.c.id)
    .where(
        closures.c.id.in_(bindparam("ids", expanding=True)),
        closures.c.label.in_(("夏期休暇", "年末年始")),
        closures.c.created_at >= bindparam("since"),
    )
    .order_by(closures.c.id),
    lists=("ids",),
)
RELABEL = DriverStatement(
    update(closures)
    .where(closures.c.id == bindparam("closure_id"))
    .values(label=bindparam("label"))
)
INSERT_RECORDS = DriverInsert(
    idempotency_records,
    ("client_id", "method", "request_id", "request_hash", "response", "created_at"),
)


def _closure(number: int, created_at: datetime) -> dict[str, object]:
    return {
        "id": f"C-{number:04d}",
        "start_date": date(2026, 8, 13),
        "end_date": date(2026, 8, 16),
        "label": "夏期休暇" if number % 2 else "年末年始",
        "created_at": created_at + timedelta(microseconds=number),
    }


def test_rows_inserted_on_the_driver_read_back_through_core_as_written(engine) -> None:
    written = [_closure(n, datetime(2026, 8, 1, 9, 30, 15, 123456, tzinfo=JST)) for n in range(3)]
    with engine.begin() as connection:
        INSERT_CLOSURES.run(connection, written)
    with engine.connect() as connection:
        rows = connection.execute(select(closures).order_by(closures.c.id)).mappings().all()
    assert [dict(row) for row in rows] == written
    assert all(row["created_at"].tzinfo is UTC for row in rows)


def test_rows_written_through_core_read_on_the_driver_as_core_reads_them(engine) -> None:
    written = [_closure(n, datetime(2026, 8, 1, 0, 0, tzinfo=UTC)) for n in range(5)]
    with engine.begin() as connection:
        connection.execute(insert(closures), written)
    with engine.connect() as connection:
        core = connection.execute(
            select(*(closures.c[name] for name in CLOSURE_COLUMNS)).order_by(closures.c.id)
        ).all()
        driver = SELECT_CLOSURES.rows(connection, {"ids": [row["id"] for row in written]})
    assert driver == [tuple(row) for row in core]
    assert driver[0] == tuple(written[0].values())


def test_in_lists_of_every_size_and_the_statements_own_constants(engine) -> None:
    since = datetime(2026, 8, 1, tzinfo=UTC)
    written = [_closure(n, since) for n in range(12)]
    with engine.begin() as connection:
        INSERT_CLOSURES.run(connection, written)
        connection.execute(
            update(closures).where(closures.c.id == "C-0003").values(label="設備点検")
        )
    ids = [row["id"] for row in written]
    with engine.connect() as connection:
        for size in (1, 2, 5, 12):
            found = SELECT_LABELLED.rows(connection, {"ids": ids[:size], "since": since})
            assert [closure_id for (closure_id,) in found] == [
                closure_id for closure_id in ids[:size] if closure_id != "C-0003"
            ]
        later = since + timedelta(microseconds=10)
        assert SELECT_LABELLED.rows(connection, {"ids": ids, "since": later}) == [
            ("C-0010",),
            ("C-0011",),
        ]


def test_an_insert_of_more_rows_than_one_statement_holds_stores_them_all(engine) -> None:
    created = datetime(2026, 8, 1, tzinfo=UTC)
    written = [_closure(n, created) for n in range(DriverInsert.MAX_ROWS * 2 + 3)]
    with engine.begin() as connection:
        INSERT_CLOSURES.run(connection, written)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(closures)).scalar_one() == len(
            written
        )


def test_bytes_and_none_go_in_and_come_out_as_they_were(engine) -> None:
    now = datetime(2026, 8, 1, tzinfo=UTC)
    with engine.begin() as connection:
        INSERT_RECORDS.run(
            connection,
            [
                {
                    "client_id": "t1",
                    "method": "/m",
                    "request_id": "r1",
                    "request_hash": bytes(range(32)),
                    "response": b"\x00\xff answer",
                    "created_at": now,
                }
            ],
        )
    with engine.connect() as connection:
        row = connection.execute(select(idempotency_records)).one()
    assert (bytes(row.request_hash), bytes(row.response)) == (bytes(range(32)), b"\x00\xff answer")
    select_label = DriverStatement(select(closures.c.label, closures.c.created_at))
    with engine.begin() as connection:
        connection.execute(insert(closures), _closure(1, now))
        assert RELABEL.run(connection, {"closure_id": "C-0001", "label": "臨時休業"}) == 1
        assert RELABEL.run(connection, {"closure_id": "C-9999", "label": "x"}) == 0
        assert select_label.rows(connection) == [("臨時休業", now + timedelta(microseconds=1))]


def test_statements_run_in_the_callers_transaction(engine) -> None:
    created = datetime(2026, 8, 1, tzinfo=UTC)
    with engine.connect() as connection:
        with connection.begin():
            INSERT_CLOSURES.run(connection, [_closure(1, created)])
            with connection.begin_nested() as savepoint:
                INSERT_CLOSURES.run(connection, [_closure(2, created)])
                savepoint.rollback()
            assert SELECT_CLOSURES.rows(connection, {"ids": ["C-0001", "C-0002"]})[0][0] == (
                "C-0001"
            )
        transaction = connection.begin()
        INSERT_CLOSURES.run(connection, [_closure(3, created)])
        transaction.rollback()
    with engine.connect() as connection:
        assert connection.execute(select(closures.c.id)).scalars().all() == ["C-0001"]


def test_a_connection_outside_a_transaction_begins_one_as_core_would(engine) -> None:
    with engine.connect() as connection:
        assert not connection.in_transaction()
        INSERT_CLOSURES.run(connection, [_closure(1, datetime(2026, 8, 1, tzinfo=UTC))])
        assert connection.in_transaction()
        connection.commit()
    with engine.connect() as connection:
        assert connection.execute(select(closures.c.id)).scalars().all() == ["C-0001"]


def test_a_constraint_violated_on_the_driver_is_sqlalchemys_integrity_error(engine) -> None:
    closure = _closure(1, datetime(2026, 8, 1, tzinfo=UTC))
    with engine.begin() as connection:
        INSERT_CLOSURES.run(connection, [closure])
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        INSERT_CLOSURES.run(connection, [closure])
    assert not caught.value.connection_invalidated
    assert "[parameters" not in str(caught.value)  # a key's text stays out of logs


def test_a_value_the_column_type_refuses_is_a_statement_error_as_in_core(engine) -> None:
    naive = _closure(1, datetime(2026, 8, 1, 9, 30))
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as connection:
        INSERT_CLOSURES.run(connection, [naive])
    with pytest.raises(StatementError, match="since"), engine.connect() as connection:
        SELECT_LABELLED.rows(connection, {"ids": ["C-0001"]})


def test_statements_it_cannot_plan_once_are_refused(engine) -> None:
    with engine.connect() as connection:
        with pytest.raises(TypeError, match="IN lists"):
            DriverStatement(SELECT_CLOSURES_WITHOUT_LISTS).rows(connection, {"ids": ["C-1"]})
        with pytest.raises(TypeError, match="IN lists"):
            DriverStatement(RELABEL_BY_ID, lists=("closure_id",)).run(
                connection, {"closure_id": ["C-1"]}
            )
        with pytest.raises(TypeError, match="literal_execute"):
            DriverStatement(
                select(closures.c.id).where(
                    closures.c.label == bindparam("label", literal_execute=True)
                )
            ).rows(connection, {"label": "x"})
        assert DriverStatement(select(literal_column("1"))).rows(connection) == [(1,)]


SELECT_CLOSURES_WITHOUT_LISTS = select(closures.c.id).where(
    closures.c.id.in_(bindparam("ids", expanding=True))
)
RELABEL_BY_ID = update(closures).where(closures.c.id == bindparam("closure_id"))


@pytest.mark.postgres
def test_a_connection_lost_on_the_driver_is_invalidated_and_replaced(postgres_url) -> None:
    engine = create_database_engine(postgres_url)
    try:
        upgrade_database(engine)
        count_events = DriverStatement(select(func.count()).select_from(audit_events))
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            connection.rollback()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError) as caught:
                count_events.rows(connection)
            assert caught.value.connection_invalidated
        with engine.connect() as connection:  # the pool hands out a working connection
            assert count_events.rows(connection) == [(0,)]
    finally:
        engine.dispose()
