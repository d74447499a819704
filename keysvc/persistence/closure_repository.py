"""Company closures configured in the database."""

from __future__ import annotations

from sqlalchemy import Connection, select

from keysvc.persistence.schema import closures
from scheduler.calendar import Closure


def list_closures(connection: Connection) -> list[Closure]:
    """Every configured closure, earliest first."""
    rows = connection.execute(
        select(closures.c.start_date, closures.c.end_date, closures.c.label).order_by(
            closures.c.start_date
        )
    )
    return [Closure(start, end, label) for start, end, label in rows]
