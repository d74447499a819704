"""The calendar the stored release times were computed with.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Every start rescheduled every waiting request, in case the calendar file or
the business hours had changed: on the morning after the year-end closure,
with 100,000 requests waiting, a start then took over a minute and held them
all locked. The fingerprint of the calendar last used lets a start with the
same calendar skip it (docs/scheduler.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UtcDateTime's storage type, as in 0001.
Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Creates the one-row table; empty, so the next start reschedules once."""
    op.create_table(
        "calendar_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("schedule_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_state")),
        sa.CheckConstraint("id = 1", name=op.f("ck_calendar_state_single_row")),
    )


def downgrade() -> None:
    """Drops it: every start reschedules again."""
    op.drop_table("calendar_state")
