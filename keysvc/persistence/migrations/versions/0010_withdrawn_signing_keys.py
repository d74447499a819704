"""Withdrawn signing keys, and the REPLACEMENT requests that re-sign their licenses.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

A signing key whose private part may have leaked is withdrawn (SPEC section 5a,
docs/signing-keys.md): it leaves the published keys, every key it signed is
INVALID in the status lists, and each ACTIVE license it signed is signed again by
the active key, through a key request of the new kind REPLACEMENT. A withdrawn
key is a retired one with the instant and the reason of its withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UtcDateTime's storage type, as in 0001.
Instant = sa.DateTime(timezone=True)
KINDS_BEFORE = ("INITIAL", "REISSUE", "SEATS_CHANGE")
KINDS_AFTER = (*KINDS_BEFORE, "REPLACEMENT")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))


def _allow_kinds(kinds: tuple[str, ...]) -> None:
    # SQLite changes a CHECK by copying the table, with its reference checks off
    # (keysvc.persistence.schema_migrations.upgrade_database).
    with op.batch_alter_table("key_requests") as batch:
        batch.drop_constraint(op.f("ck_key_requests_kind_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_key_requests_kind_valid"), _kinds(kinds))


def upgrade() -> None:
    """Adds the withdrawal's columns (in place) and the kind REPLACEMENT."""
    op.add_column("signing_keys", sa.Column("withdrawn_at", Instant, nullable=True))
    op.add_column("signing_keys", sa.Column("withdraw_reason", sa.Text(), nullable=True))
    _allow_kinds(KINDS_AFTER)


def downgrade() -> None:
    """Refused while REPLACEMENT requests exist (they would break the old CHECK);
    otherwise drops the columns and the kind."""
    _allow_kinds(KINDS_BEFORE)
    # In place on SQLite too (3.35+): copying signing_keys would lose the condition of
    # its partial unique index.
    op.execute("ALTER TABLE signing_keys DROP COLUMN withdraw_reason")
    op.execute("ALTER TABLE signing_keys DROP COLUMN withdrawn_at")
