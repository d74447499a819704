"""Status lists: every key issued from now on points at its entry in one (SPEC section 5a).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

A license remembers the list and the index written into its key, and each
list the permutation that spreads its indexes, how many it has handed out, a
revision that grows with every change of an entry's value, and the token
published last. Licenses issued before this revision have no entry: their
keys carry no status claim and cannot be superseded offline (docs/key-format.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UtcDateTime's storage type, as in 0001.
Instant = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Creates `status_lists`, empty, and the licenses' entry columns, NULL for those issued."""
    op.create_table(
        "status_lists",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("permutation_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("allocated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("revision", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("token_revision", sa.Integer(), nullable=True),
        sa.Column("token_as_of", Instant, nullable=True),
        sa.Column("token_issued_at", Instant, nullable=True),
        sa.Column("token_expires_at", Instant, nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_status_lists_number_positive")),
        sa.CheckConstraint(
            "allocated >= 0 AND allocated <= size",
            name=op.f("ck_status_lists_allocated_within_size"),
        ),
        sa.CheckConstraint(
            "(token IS NULL) = (token_revision IS NULL) AND (token IS NULL) = (token_as_of IS NULL)"
            " AND (token IS NULL) = (token_issued_at IS NULL)"
            " AND (token IS NULL) = (token_expires_at IS NULL)",
            name=op.f("ck_status_lists_token_complete"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_status_lists")),
        sa.UniqueConstraint("uri", name=op.f("uq_status_lists_uri")),
    )
    # Added in place, not by copying the table (batch mode), which SQLite refuses while
    # key requests refer to its rows; the uniqueness is an index for the same reason.
    foreign_key = op.f("fk_licenses_status_list_status_lists")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column's reference with the column, never afterwards.
        op.execute(
            f"ALTER TABLE licenses ADD COLUMN status_list INTEGER CONSTRAINT {foreign_key}"
            " REFERENCES status_lists (number)"
        )
    else:
        op.add_column("licenses", sa.Column("status_list", sa.Integer(), nullable=True))
        op.create_foreign_key(foreign_key, "licenses", "status_lists", ["status_list"], ["number"])
    op.add_column("licenses", sa.Column("status_index", sa.Integer(), nullable=True))
    op.create_index(
        op.f("uq_licenses_status_list_status_index"),
        "licenses",
        ["status_list", "status_index"],
        unique=True,
    )
    op.create_index(
        op.f("ix_licenses_status_list_supersede_at"), "licenses", ["status_list", "supersede_at"]
    )


def downgrade() -> None:
    """Drops the entries and the lists; keys issued with a status claim keep it."""
    op.drop_index(op.f("ix_licenses_status_list_supersede_at"), table_name="licenses")
    op.drop_index(op.f("uq_licenses_status_list_status_index"), table_name="licenses")
    with op.batch_alter_table("licenses") as batch:
        # SQLite's copy of the table leaves the reference out with its column.
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint(op.f("fk_licenses_status_list_status_lists"), type_="foreignkey")
        batch.drop_column("status_index")
        batch.drop_column("status_list")
    op.drop_table("status_lists")
