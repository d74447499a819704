"""The audit log: one row per mutating call, newest last, in a hash chain.

Each event carries its place in the database's chain (`seq`) and a hash that
covers the hash before it (keysvc.domain.audit_chain). Appending locks the
chain's head row, so writers on every replica append one after the other; the
callers append as the last step of their transaction, so the lock is held only
for the few statements before COMMIT.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from sqlalchemy import Connection, bindparam, select, update

from keysvc.domain.audit_chain import AuditFacts, ChainedEvent, ChainHead, chain_events
from keysvc.domain.records import AuditEvent
from keysvc.persistence.driver_statement import DriverInsert, DriverStatement
from keysvc.persistence.schema import audit_chain_head, audit_events

NewAuditEvent = AuditFacts
"""An event to append: everything but the id the database gives it (and its link)."""


class ChainHeadMissing(RuntimeError):
    """The audit chain's head row is gone: events are not appended until it is restored
    (docs/operations.md, "Audit log tampering")."""


# Every mutating call appends: on the driver's cursor (`DriverStatement`).
_INSERT_EVENTS: Final = DriverInsert(audit_events, (*NewAuditEvent.__slots__, "seq", "hash"))
_LOCK_HEAD: Final = DriverStatement(
    select(audit_chain_head.c.seq, audit_chain_head.c.hash)
    .where(audit_chain_head.c.id == 1)
    .with_for_update()
)
_MOVE_HEAD: Final = DriverStatement(
    update(audit_chain_head)
    .where(audit_chain_head.c.id == 1)
    .values(
        seq=bindparam("new_seq", type_=audit_chain_head.c.seq.type),
        hash=bindparam("new_hash", type_=audit_chain_head.c.hash.type),
    )
)


def add_events(connection: Connection, events: Sequence[NewAuditEvent]) -> None:
    """Appends events to the chain in one statement, in their order.

    Takes the chain's head lock until the transaction ends (PostgreSQL; SQLite's
    one writer needs none): call it last before committing.
    """
    if not events:
        return
    head = _locked_head(connection)
    links = chain_events(head, list(events))
    rows = [
        {name: getattr(event, name) for name in NewAuditEvent.__slots__}
        | {"seq": seq, "hash": link_hash}
        for event, (seq, link_hash) in zip(events, links, strict=True)
    ]
    _INSERT_EVENTS.run(connection, rows)
    last_seq, last_hash = links[-1]
    _MOVE_HEAD.run(connection, {"new_seq": last_seq, "new_hash": last_hash})


def _locked_head(connection: Connection) -> ChainHead:
    rows = _LOCK_HEAD.rows(connection)
    if not rows:
        raise ChainHeadMissing("the audit chain's head row (audit_chain_head) is missing")
    ((seq, hash_),) = rows
    return ChainHead(seq, bytes(hash_))


def read_chain_head(connection: Connection) -> ChainHead | None:
    """The recorded head of the chain, or None when its row is missing."""
    row = connection.execute(
        select(audit_chain_head.c.seq, audit_chain_head.c.hash).where(audit_chain_head.c.id == 1)
    ).one_or_none()
    return None if row is None else ChainHead(row.seq, bytes(row.hash))


def chained_events(connection: Connection, *, page_size: int = 2000) -> Iterator[ChainedEvent]:
    """Every event in sequence order, read a page at a time (the log may be long)."""
    query = (
        select(
            audit_events.c.id,
            audit_events.c.seq,
            audit_events.c.hash,
            audit_events.c.occurred_at,
            audit_events.c.actor_token_id,
            audit_events.c.actor_role,
            audit_events.c.method,
            audit_events.c.resource,
            audit_events.c.outcome,
        )
        .order_by(audit_events.c.seq)
        .limit(page_size)
    )
    after: int | None = None
    while True:
        page = query if after is None else query.where(audit_events.c.seq > after)
        rows = connection.execute(page).all()
        for row in rows:
            yield ChainedEvent(row.id, row.seq, bytes(row.hash), AuditFacts(*row[3:]))
        if len(rows) < page_size:
            return
        after = rows[-1].seq


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
