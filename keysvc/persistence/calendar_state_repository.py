"""The fingerprint of the calendar the stored release times were computed with."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keysvc.persistence.schema import calendar_state

_ROW: Final = 1


def locked_schedule_fingerprint(connection: Connection, now: datetime) -> str | None:
    """The stored fingerprint (None before the first start that stored one), its row
    locked until the transaction ends, so replicas starting at once take turns."""
    insert_ = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    # A row to lock even on a new database; an empty fingerprint matches no calendar.
    connection.execute(
        insert_(calendar_state)
        .values(id=_ROW, schedule_fingerprint="", updated_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    stored: str = connection.execute(
        select(calendar_state.c.schedule_fingerprint)
        .where(calendar_state.c.id == _ROW)
        .with_for_update()
    ).scalar_one()
    return stored or None


def store_schedule_fingerprint(connection: Connection, fingerprint: str, now: datetime) -> None:
    """Records the calendar the waiting requests are now scheduled with."""
    connection.execute(
        update(calendar_state)
        .where(calendar_state.c.id == _ROW)
        .values(schedule_fingerprint=fingerprint, updated_at=now)
    )
