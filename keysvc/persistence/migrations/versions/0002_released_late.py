"""Key requests remember whether they were released after their due date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The SLA report lists late releases and counts them; a stored flag, set once at
release, keeps that a plain indexed filter instead of a time-zone computation
in SQL that SQLite and PostgreSQL would each write differently. Requests
released before this revision are back-filled with the same rule: late when
the release's date in Tokyo falls after the due date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKYO = ZoneInfo("Asia/Tokyo")


def upgrade() -> None:
    """Adds `released_late` and back-fills it for requests already released."""
    op.add_column(
        "key_requests",
        sa.Column("released_late", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    key_requests = sa.table(
        "key_requests",
        sa.column("id", sa.String()),
        sa.column("due_date", sa.Date()),
        sa.column("released_at", sa.DateTime(timezone=True)),
        sa.column("released_late", sa.Boolean()),
    )
    connection = op.get_bind()
    released = connection.execute(
        sa.select(key_requests.c.id, key_requests.c.due_date, key_requests.c.released_at).where(
            key_requests.c.released_at.is_not(None)
        )
    )
    late = [row.id for row in released if _tokyo_date(row.released_at) > row.due_date]
    for chunk in (late[i : i + 500] for i in range(0, len(late), 500)):
        connection.execute(
            sa.update(key_requests).where(key_requests.c.id.in_(chunk)).values(released_late=True)
        )


def downgrade() -> None:
    """Drops the flag (the release instants stay, so it can be recomputed)."""
    with op.batch_alter_table("key_requests") as batch:
        batch.drop_column("released_late")


def _tokyo_date(instant: datetime) -> date:
    # SQLite hands back the stored UTC instant without its offset.
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(TOKYO).date()
