"""The audit log: one row per mutating call, newest last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, select

from keysvc.persistence.driver_statement import DriverInsert
from keysvc.persistence.schema import audit_events


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what to which resource, when, and how it ended."""

    id: int
    occurred_at: datetime
    actor_token_id: str
    actor_role: str
    method: str
    resource: str
    outcome: str


@dataclass(frozen=True, slots=True)
class NewAuditEvent:
    """An event to append: everything but the id the database gives it."""

    occurred_at: datetime
    actor_token_id: str
    actor_role: str
    method: str
    resource: str
    outcome: str


# Every mutating call appends one: on the driver's cursor (`DriverStatement`).
_INSERT_EVENTS: Final = DriverInsert(audit_events, NewAuditEvent.__slots__)


def add_events(connection: Connection, events: Sequence[NewAuditEvent]) -> None:
    """Appends events in one statement, in their order."""
    if events:
        _INSERT_EVENTS.run(
            connection,
            [{name: getattr(e, name) for name in NewAuditEvent.__slots__} for e in events],
        )


def list_events(
    connection: Connection,
    *,
    limit: int,
    before_id: int | None = None,
    resource: str = "",
    actor_token_id: str = "",
) -> list[AuditEvent]:
    """Events newest first, optionally filtered, starting below `before_id`."""
    query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_events.c.id < before_id)
    if resource:
        query = query.where(audit_events.c.resource == resource)
    if actor_token_id:
        query = query.where(audit_events.c.actor_token_id == actor_token_id)
    return [
        AuditEvent(
            id=row.id,
            occurred_at=row.occurred_at,
            actor_token_id=row.actor_token_id,
            actor_role=row.actor_role,
            method=row.method,
            resource=row.resource,
            outcome=row.outcome,
        )
        for row in connection.execute(query)
    ]
