"""Company closures configured in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, delete, insert, select

from keysvc.domain.records import ClosureRecord
from keysvc.persistence.driver_statement import DriverStatement
from keysvc.persistence.schema import closures
from scheduler.calendar import Closure

# Read by every submission batch: built once (see key_request_repository).
_SELECT_CLOSURES: Final = DriverStatement(
    select(closures.c.id, closures.c.start_date, closures.c.end_date, closures.c.label).order_by(
        closures.c.start_date, closures.c.id
    )
)


def list_closures(connection: Connection) -> list[Closure]:
    """Every configured closure, earliest first."""
    return [record.closure for record in list_closure_records(connection)]


def list_closure_records(connection: Connection) -> list[ClosureRecord]:
    """Every configured closure with its id, earliest first."""
    rows = _SELECT_CLOSURES.rows(connection)
    return [ClosureRecord(id_, Closure(start, end, label)) for id_, start, end, label in rows]


def add_closure(connection: Connection, record: ClosureRecord, now: datetime) -> None:
    """Stores a closure."""
    connection.execute(
        insert(closures).values(
            id=record.id,
            start_date=record.closure.start,
            end_date=record.closure.end,
            label=record.closure.label,
            created_at=now,
        )
    )


def remove_closure(connection: Connection, closure_id: str) -> ClosureRecord | None:
    """Deletes a closure and returns it, or None when there is no such closure."""
    row = connection.execute(
        select(closures.c.start_date, closures.c.end_date, closures.c.label)
        .where(closures.c.id == closure_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        return None
    connection.execute(delete(closures).where(closures.c.id == closure_id))
    return ClosureRecord(closure_id, Closure(row.start_date, row.end_date, row.label))
