"""Licenses remember when their key stops being valid: the end of a re-issue's overlap,
and why staff ended it early when they did.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The previous key of a REISSUE stays valid while the customer moves, until the
overlap ends (SPEC section 5a): that instant is stored with the superseded
license, so that the API shows it and the status lists follow it. Licenses
superseded before this revision had no overlap: their key stopped at the
successor's release, which is what they are back-filled with.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from keysvc.persistence.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Adds `supersede_at` and back-fills it for licenses superseded already."""
    # UtcDateTime's storage type, as in 0001.
    op.add_column("licenses", sa.Column("supersede_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("licenses", sa.Column("supersede_reason", sa.Text(), nullable=True))
    licenses = sa.table(
        "licenses",
        sa.column("serial", sa.String()),
        sa.column("superseded_by", sa.String()),
        sa.column("issued_at", UtcDateTime()),
        sa.column("supersede_at", UtcDateTime()),
    )
    successor = licenses.alias("successor")
    op.get_bind().execute(
        sa.update(licenses)
        .where(licenses.c.superseded_by.is_not(None))
        .values(
            supersede_at=sa.select(successor.c.issued_at)
            .where(successor.c.serial == licenses.c.superseded_by)
            .scalar_subquery()
        )
    )


def downgrade() -> None:
    """Drops the columns; a superseded license's successor still says when it was issued."""
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("supersede_reason")
        batch.drop_column("supersede_at")
