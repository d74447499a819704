"""Secrets the replicas share: the key that seals page tokens.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Page tokens were unsigned JSON, so a caller could forge one that reached the
database (docs/api-conventions.md, Pagination). They are now sealed with a
key every replica must know: it lives in the database they share, made by the
first start.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UtcDateTime's storage type, as in 0001.
Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Creates the table, empty: the next start makes the keys it needs."""
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )


def downgrade() -> None:
    """Drops it; page tokens made before are refused by an older keysvc anyway."""
    op.drop_table("server_secrets")
