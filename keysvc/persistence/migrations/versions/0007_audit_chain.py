"""The audit log becomes a hash chain.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

A direct UPDATE or DELETE on audit_events went unnoticed (issue 17). Each event
now carries its place in the database's chain (`seq`) and a hash covering the
one before it, and `audit_chain_head` keeps the last seq and hash
(keysvc.domain.audit_chain; docs/operations.md, "Audit log tampering").

The events already there are chained here in id order (the order they were
written in on SQLite, and the order of PostgreSQL's sequence), so that
`keysvc audit verify` passes on an upgraded database. That proves only that
nothing changed after the upgrade: what happened to them before is unknowable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from keysvc.domain.audit_chain import GENESIS_HASH, AuditFacts, ChainHead, event_hash
from keysvc.persistence.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as this revision sees them, whatever schema.py becomes later.
_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", UtcDateTime()),
    sa.column("actor_token_id", sa.String()),
    sa.column("actor_role", sa.String()),
    sa.column("method", sa.String()),
    sa.column("resource", sa.Text()),
    sa.column("outcome", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.LargeBinary()),
)
_head = sa.table(
    "audit_chain_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.LargeBinary()),
)
# Events chained per UPDATE round trip: bounded memory on a long log.
_PAGE = 5000


def upgrade() -> None:
    """Adds seq and hash, chains the events there are, and records the head."""
    op.add_column("audit_events", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.LargeBinary(length=32), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
    )
    head = _chain_existing_events(op.get_bind())
    op.execute(_head.insert().values(id=1, seq=head.seq, hash=head.hash))
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("hash", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])


def _chain_existing_events(connection: sa.Connection) -> ChainHead:
    head = ChainHead(0, GENESIS_HASH)
    query = (
        sa.select(
            _events.c.id,
            _events.c.occurred_at,
            _events.c.actor_token_id,
            _events.c.actor_role,
            _events.c.method,
            _events.c.resource,
            _events.c.outcome,
        )
        .order_by(_events.c.id)
        .limit(_PAGE)
    )
    set_link = (
        _events.update()
        .where(_events.c.id == sa.bindparam("event_id"))
        .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
    )
    last_id: int | None = None
    while True:
        page = query if last_id is None else query.where(_events.c.id > last_id)
        rows = connection.execute(page).all()
        if not rows:
            return head
        links = []
        for row in rows:
            seq = head.seq + 1
            head = ChainHead(seq, event_hash(head.hash, seq, AuditFacts(*row[1:])))
            links.append({"event_id": row.id, "new_seq": seq, "new_hash": head.hash})
        connection.execute(set_link, links)
        last_id = rows[-1].id


def downgrade() -> None:
    """Drops the chain: events stay, without seq and hash."""
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("hash")
        batch.drop_column("seq")
    op.drop_table("audit_chain_head")
