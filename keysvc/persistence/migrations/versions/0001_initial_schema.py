"""The initial schema, and the two products keysvc issues keys for.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written by hand to read like keysvc/persistence/schema.py at this revision;
tests/integration/persistence/test_migrations.py checks that the two agree.
Every constraint and index is named explicitly (``op.f`` keeps Alembic from
applying the naming convention a second time), so later migrations can alter
them by name on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UtcDateTime's storage type; the conversion to and from UTC happens in Python.
Instant = sa.DateTime(timezone=True)

PRODUCTS = (
    {
        "code": "neo-webconf",
        "display_name": "desknet's NEO ウェブ会議 (スモールライセンス)",
        "policy": "neo-webconf",
    },
    {
        "code": "neo-backup",
        "display_name": "desknet's NEO バックアップサーバー",
        "policy": "neo-backup",
    },
)


def _one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}_valid"))


def _key_request_license_fks() -> list[tuple[str, str]]:
    """The key_requests → licenses references: (constraint name, column)."""
    return [
        ("fk_key_requests_previous_license_serial_licenses", "previous_license_serial"),
        ("fk_key_requests_license_serial_licenses", "license_serial"),
    ]


def upgrade() -> None:
    """Creates every table, constraint and index, and seeds the products."""
    # key_requests and licenses reference each other. PostgreSQL gets the
    # key_requests → licenses keys by ALTER TABLE once both tables exist; SQLite
    # cannot add a constraint to an existing table, but it accepts a reference
    # to a table that does not exist yet, so there they are declared inline.
    inline_circular_fks = op.get_context().dialect.name == "sqlite"

    products = op.create_table(
        "products",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_products")),
    )

    op.create_table(
        "contracts",
        sa.Column("contract_number", sa.String(64), nullable=False),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("purchase_date", sa.Date(), nullable=False),
        sa.Column("accept_date", sa.Date(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("contract_number", name=op.f("pk_contracts")),
        sa.ForeignKeyConstraint(
            ["product_code"],
            ["products.code"],
            name=op.f("fk_contracts_product_code_products"),
        ),
        sa.CheckConstraint("seats >= 1", name=op.f("ck_contracts_seats_positive")),
    )

    op.create_table(
        "support_periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_number", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("accept_date", sa.Date(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_periods")),
        sa.ForeignKeyConstraint(
            ["contract_number"],
            ["contracts.contract_number"],
            name=op.f("fk_support_periods_contract_number_contracts"),
        ),
        sa.UniqueConstraint(
            "contract_number",
            "start_date",
            name=op.f("uq_support_periods_contract_number_start_date"),
        ),
        sa.CheckConstraint("start_date <= end_date", name=op.f("ck_support_periods_ordered")),
        _one_of("support_periods", "kind", ("INITIAL", "RENEWAL", "RECONTINUATION")),
    )

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("retired_at", Instant, nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_signing_keys_public_key")),
        _one_of("signing_keys", "state", ("ACTIVE", "RETIRED")),
    )
    # At most one ACTIVE signing key: new keys are signed with it.
    op.create_index(
        op.f("uq_signing_keys_one_active"),
        "signing_keys",
        ["state"],
        unique=True,
        sqlite_where=sa.text("state = 'ACTIVE'"),
        postgresql_where=sa.text("state = 'ACTIVE'"),
    )

    key_request_license_fks = [
        sa.ForeignKeyConstraint([column], ["licenses.serial"], name=op.f(name))
        for name, column in _key_request_license_fks()
    ]
    op.create_table(
        "key_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("contract_number", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(512), nullable=True),
        sa.Column("fingerprint_hash", sa.String(64), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=False),
        sa.Column("previous_license_serial", sa.String(64), nullable=True),
        sa.Column("accepted_at", Instant, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("release_at", Instant, nullable=False),
        sa.Column("released_at", Instant, nullable=True),
        sa.Column("license_serial", sa.String(64), nullable=True),
        sa.Column("hold_reason", sa.String(64), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("at_risk", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by_token_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_requests")),
        sa.ForeignKeyConstraint(
            ["contract_number"],
            ["contracts.contract_number"],
            name=op.f("fk_key_requests_contract_number_contracts"),
        ),
        *(key_request_license_fks if inline_circular_fks else []),
        # A license is the result of exactly one key request.
        sa.UniqueConstraint("license_serial", name=op.f("uq_key_requests_license_serial")),
        _one_of("key_requests", "kind", ("INITIAL", "REISSUE", "SEATS_CHANGE")),
        _one_of("key_requests", "state", ("PENDING", "HELD", "RELEASED", "REJECTED")),
        sa.CheckConstraint(
            "(state = 'RELEASED') = (license_serial IS NOT NULL AND released_at IS NOT NULL)",
            name=op.f("ck_key_requests_released_has_license"),
        ),
    )
    op.create_index(op.f("ix_key_requests_due"), "key_requests", ["state", "release_at"])
    op.create_index(
        op.f("ix_key_requests_contract"), "key_requests", ["contract_number", "accepted_at"]
    )

    op.create_table(
        "licenses",
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("contract_number", sa.String(64), nullable=False),
        sa.Column("key_request_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("fingerprint_hash", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("issued_at", Instant, nullable=False),
        sa.Column("support_end", sa.Date(), nullable=False),
        sa.Column("license_key", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        sa.Column("revoked_at", Instant, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_licenses")),
        sa.ForeignKeyConstraint(
            ["contract_number"],
            ["contracts.contract_number"],
            name=op.f("fk_licenses_contract_number_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["key_request_id"],
            ["key_requests.id"],
            name=op.f("fk_licenses_key_request_id_key_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["kid"], ["signing_keys.kid"], name=op.f("fk_licenses_kid_signing_keys")
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"], ["licenses.serial"], name=op.f("fk_licenses_superseded_by_licenses")
        ),
        # A key request is released at most once.
        sa.UniqueConstraint("key_request_id", name=op.f("uq_licenses_key_request_id")),
        sa.UniqueConstraint(
            "contract_number", "generation", name=op.f("uq_licenses_contract_number_generation")
        ),
        _one_of("licenses", "status", ("ACTIVE", "SUPERSEDED", "REVOKED")),
        sa.CheckConstraint("seats >= 1", name=op.f("ck_licenses_seats_positive")),
        sa.CheckConstraint("generation >= 1", name=op.f("ck_licenses_generation_positive")),
    )
    # One ACTIVE license per contract; superseded and revoked ones accumulate.
    op.create_index(
        op.f("uq_licenses_one_active_per_contract"),
        "licenses",
        ["contract_number"],
        unique=True,
        sqlite_where=sa.text("status = 'ACTIVE'"),
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )

    if not inline_circular_fks:
        for name, column in _key_request_license_fks():
            op.create_foreign_key(op.f(name), "key_requests", "licenses", [column], ["serial"])

    op.create_table(
        "closures",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closures")),
        sa.CheckConstraint("start_date <= end_date", name=op.f("ck_closures_ordered")),
    )

    op.create_table(
        "tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("revoked_at", Instant, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        _one_of("tokens", "role", ("site", "migration", "admin")),
    )

    op.create_table(
        "idempotency_records",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        # AIP-155: a request_id is unique per client and method.
        sa.PrimaryKeyConstraint(
            "client_id", "method", "request_id", name=op.f("pk_idempotency_records")
        ),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", Instant, nullable=False),
        sa.Column("actor_token_id", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_resource"), "audit_events", ["resource", "id"])

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_request_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", Instant, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("sent_at", Instant, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.ForeignKeyConstraint(
            ["key_request_id"],
            ["key_requests.id"],
            name=op.f("fk_mail_outbox_key_request_id_key_requests"),
        ),
        # One e-mail per key request, whatever retries or restarts happen.
        sa.UniqueConstraint("key_request_id", name=op.f("uq_mail_outbox_key_request_id")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_outbox_message_id")),
        _one_of("mail_outbox", "state", ("QUEUED", "SENT", "FAILED")),
    )
    op.create_index(op.f("ix_mail_outbox_pending"), "mail_outbox", ["state", "next_attempt_at"])

    op.bulk_insert(products, list(PRODUCTS))


def downgrade() -> None:
    """Drops everything 0001 created, data included."""
    if op.get_context().dialect.name == "sqlite":
        # SQLite empties a table before dropping it and checks the references
        # to it; with key_requests ↔ licenses there is no safe order, so the
        # checks wait for the commit, when both tables are gone.
        op.execute("PRAGMA defer_foreign_keys = ON")
    else:
        # Break the key_requests ↔ licenses cycle first.
        for name, _column in _key_request_license_fks():
            op.drop_constraint(op.f(name), "key_requests", type_="foreignkey")
    for table in (
        "mail_outbox",
        "audit_events",
        "idempotency_records",
        "tokens",
        "closures",
        "licenses",
        "key_requests",
        "signing_keys",
        "support_periods",
        "contracts",
        "products",
    ):
        # Dropping a table drops its indexes and constraints with it.
        op.drop_table(table)
