"""A key request may have several e-mails: its key e-mail, then resends staff ask for.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Until now the outbox admitted one message per key request (a unique
key_request_id). Staff may now resend a released key's e-mail (ResendKeyMail),
to the stored or a corrected address: each resend is a row of its own with a
Message-ID of its own (``<keysvc.{id}.resend{n}@…>``), which stays unique, so a
message is still never queued twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Replaces the unique key_request_id by a plain index (still how e-mails are found)."""
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_constraint(op.f("uq_mail_outbox_key_request_id"), type_="unique")
        batch.create_index(op.f("ix_mail_outbox_key_request_id"), ["key_request_id"])


def downgrade() -> None:
    """Refused while a key request has a resend (the unique constraint would fail)."""
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_index(op.f("ix_mail_outbox_key_request_id"))
        batch.create_unique_constraint(op.f("uq_mail_outbox_key_request_id"), ["key_request_id"])
