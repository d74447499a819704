"""Support service numbers come from a counter per year.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Deriving the next number from the highest one stored let concurrent
creations pick the same number; under load the retries ran out and a client
saw INTERNAL. A counter row, locked by the transaction that takes a number,
queues them instead. The counters start from the numbers already given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERATED = re.compile(r"SS-(\d{4})-(\d{6})")


def upgrade() -> None:
    """Creates the counters, each at the highest sequence of its year so far."""
    counters = op.create_table(
        "contract_number_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_contract_number_counters")),
        sa.CheckConstraint(
            "last_sequence >= 0", name=op.f("ck_contract_number_counters_not_negative")
        ),
    )
    contracts = sa.table("contracts", sa.column("contract_number", sa.String()))
    last: dict[int, int] = {}
    for number in op.get_bind().execute(sa.select(contracts.c.contract_number)).scalars():
        if match := GENERATED.fullmatch(number):
            year, sequence = int(match[1]), int(match[2])
            last[year] = max(last.get(year, 0), sequence)
    if last:
        op.bulk_insert(
            counters, [{"year": year, "last_sequence": value} for year, value in last.items()]
        )


def downgrade() -> None:
    """Drops the counters (0002 derives numbers from the contracts again)."""
    op.drop_table("contract_number_counters")
