"""The release claim's index covers its whole order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

The claim reads PENDING requests by (release_at, id). With the index on
(state, release_at) only, every batch sorted all requests due at the same
instant — the whole morning queue after a closure — so releasing 100,000
requests took quadratic time (issue 7, benchmark B2). With id in the index
the database reads the batch straight from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rebuilds ix_key_requests_due on (state, release_at, id)."""
    op.drop_index(op.f("ix_key_requests_due"), table_name="key_requests")
    op.create_index(op.f("ix_key_requests_due"), "key_requests", ["state", "release_at", "id"])


def downgrade() -> None:
    """Back to (state, release_at)."""
    op.drop_index(op.f("ix_key_requests_due"), table_name="key_requests")
    op.create_index(op.f("ix_key_requests_due"), "key_requests", ["state", "release_at"])
