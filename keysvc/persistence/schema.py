"""The database schema as SQLAlchemy Core tables.

The rules the service must never break are constraints here, not only checks in
code: one ACTIVE license per contract, one ACTIVE signing key, one license per
key request (a request is released exactly once), one e-mail per key request,
unique serials and message ids, and a unique ``request_id`` per client and method.
Migrations under keysvc/persistence/migrations create exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from keysvc.domain.lifecycle import (
    KeyRequestKind,
    KeyRequestState,
    LicenseStatus,
    PeriodKind,
    SigningKeyState,
)
from keysvc.persistence.types import UtcDateTime

# Stable constraint names, so migrations can name what they alter on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

LICENSE_STATUSES = tuple(LicenseStatus)
KEY_REQUEST_KINDS = tuple(KeyRequestKind)
KEY_REQUEST_STATES = tuple(KeyRequestState)
SIGNING_KEY_STATES = tuple(SigningKeyState)
ROLES = ("site", "migration", "admin")
MAIL_STATES = ("QUEUED", "SENT", "FAILED")
PERIOD_KINDS = tuple(PeriodKind)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


products = Table(
    "products",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("display_name", Text, nullable=False),
    # Names a support policy in the domain (periods, renewals, ICE entitlement).
    Column("policy", String(64), nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("contract_number", String(64), primary_key=True),
    Column("product_code", ForeignKey("products.code"), nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("contact_email", Text, nullable=False),
    Column("seats", Integer, nullable=False),
    Column("purchase_date", Date, nullable=False),
    Column("accept_date", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("seats >= 1", name="seats_positive"),
)

support_periods = Table(
    "support_periods",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contract_number", ForeignKey("contracts.contract_number"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    # The order-acceptance date that made this period.
    Column("accept_date", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("contract_number", "start_date"),
    CheckConstraint("start_date <= end_date", name="ordered"),
    _one_of("kind", PERIOD_KINDS),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    # The public key, raw 32 bytes as base64url (the JWK "x").
    Column("public_key", String(64), nullable=False, unique=True),
    # PKCS#8 PEM encrypted with the operators' passphrase; useless without it.
    Column("private_key_pem", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
    # Withdrawn (a RETIRED key): out of the JWKS, every key it signed INVALID (migration 0010).
    Column("withdrawn_at", UtcDateTime),
    Column("withdraw_reason", Text),
    _one_of("state", SIGNING_KEY_STATES),
    Index(
        "uq_signing_keys_one_active",
        "state",
        unique=True,
        sqlite_where=text("state = 'ACTIVE'"),
        postgresql_where=text("state = 'ACTIVE'"),
    ),
)

key_requests = Table(
    "key_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("contract_number", ForeignKey("contracts.contract_number"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    # Normalised fingerprint when the client sent one (SEATS_CHANGE reuses the license's hash).
    Column("fingerprint", String(512)),
    Column("fingerprint_hash", String(64), nullable=False),
    Column("contact_email", Text, nullable=False),
    Column("previous_license_serial", ForeignKey("licenses.serial", use_alter=True)),
    Column("accepted_at", UtcDateTime, nullable=False),
    # The promise: never changed after acceptance.
    Column("due_date", Date, nullable=False),
    # When the scheduler will release it under the current calendar.
    Column("release_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime),
    Column("license_serial", ForeignKey("licenses.serial", use_alter=True), unique=True),
    Column("hold_reason", String(64)),
    Column("reject_reason", Text),
    Column("at_risk", Boolean, nullable=False, server_default=text("false")),
    Column("created_by_token_id", String(64)),
    # Released on a Tokyo day after the due date: the SLA report (migration 0002).
    Column("released_late", Boolean, nullable=False, server_default=text("false")),
    _one_of("kind", KEY_REQUEST_KINDS),
    _one_of("state", KEY_REQUEST_STATES),
    CheckConstraint(
        "(state = 'RELEASED') = (license_serial IS NOT NULL AND released_at IS NOT NULL)",
        name="released_has_license",
    ),
    # The scheduler's claim: approved requests by release time, then id, so that the
    # index alone gives the claim's order (migration 0004) instead of a sort of every
    # request due at the same instant, batch after batch.
    Index("ix_key_requests_due", "state", "release_at", "id"),
    Index("ix_key_requests_contract", "contract_number", "accepted_at"),
)

# The status lists of SPEC section 5a: each key issued carries the index of its entry in
# one of them. A list's `allocated` entries are handed out in order, each at the position
# its permutation key gives (keysvc.domain.status_positions); `revision` grows with every
# change to an entry's value, in the change's transaction, so that the publisher knows a
# token is out of date. The token published last is stored with what it shows: the
# revision and the instant (`token_as_of`) it was built for.
status_lists = Table(
    "status_lists",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    # The public base the list's URI was made from (KEYSVC_STATUS_BASE_URL), and the URI
    # itself: <base>/statuslists/<number>, written into every key pointing into it.
    Column("base_url", Text, nullable=False),
    Column("uri", Text, nullable=False, unique=True),
    Column("size", Integer, nullable=False),
    Column("permutation_key", LargeBinary(32), nullable=False),
    Column("allocated", Integer, nullable=False, server_default=text("0")),
    Column("revision", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("token", Text),
    Column("token_revision", Integer),
    Column("token_as_of", UtcDateTime),
    Column("token_issued_at", UtcDateTime),
    Column("token_expires_at", UtcDateTime),
    CheckConstraint("number >= 1", name="number_positive"),
    CheckConstraint("allocated >= 0 AND allocated <= size", name="allocated_within_size"),
    CheckConstraint(
        "(token IS NULL) = (token_revision IS NULL) AND (token IS NULL) = (token_as_of IS NULL)"
        " AND (token IS NULL) = (token_issued_at IS NULL)"
        " AND (token IS NULL) = (token_expires_at IS NULL)",
        name="token_complete",
    ),
)

licenses = Table(
    "licenses",
    metadata,
    Column("serial", String(64), primary_key=True),
    Column("contract_number", ForeignKey("contracts.contract_number"), nullable=False),
    Column("key_request_id", ForeignKey("key_requests.id"), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("seats", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("fingerprint_hash", String(64), nullable=False),
    Column("kid", ForeignKey("signing_keys.kid"), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("support_end", Date, nullable=False),
    Column("license_key", Text, nullable=False),
    Column("superseded_by", ForeignKey("licenses.serial")),
    Column("revoked_at", UtcDateTime),
    Column("revoke_reason", Text),
    # When a superseded license's key stops being valid: the successor's release, or
    # the end of a re-issue's overlap (SPEC section 5a). None while ACTIVE.
    Column("supersede_at", UtcDateTime),
    # Why staff ended a re-issue's overlap early (EndReissueOverlap).
    Column("supersede_reason", Text),
    # The key's entry in a status list (SPEC section 5a); None for keys issued before
    # status lists, or while no status base URL is configured.
    Column("status_list", ForeignKey("status_lists.number")),
    Column("status_index", Integer),
    _one_of("status", LICENSE_STATUSES),
    CheckConstraint("seats >= 1", name="seats_positive"),
    CheckConstraint("generation >= 1", name="generation_positive"),
    UniqueConstraint("contract_number", "generation"),
    # An entry is never shared, never reused (an index: migration 0009 adds it in place).
    Index("uq_licenses_status_list_status_index", "status_list", "status_index", unique=True),
    # The publisher's question: which overlaps of a list end between two instants.
    Index("ix_licenses_status_list_supersede_at", "status_list", "supersede_at"),
    Index(
        "uq_licenses_one_active_per_contract",
        "contract_number",
        unique=True,
        sqlite_where=text("status = 'ACTIVE'"),
        postgresql_where=text("status = 'ACTIVE'"),
    ),
)

# The last support service number handed out per year (SS-<year>-<sequence>):
# a row lock serialises concurrent creations instead of letting them collide.
contract_number_counters = Table(
    "contract_number_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_sequence", Integer, nullable=False),
    CheckConstraint("last_sequence >= 0", name="not_negative"),
)

# The calendar the waiting requests' release times were last computed with
# (`BusinessCalendar.schedule_fingerprint` of the configured hours and file
# closures): a process starting with another one reschedules them. One row.
calendar_state = Table(
    "calendar_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("schedule_fingerprint", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# Secrets every replica must share, made by the first start (0006): "page-token"
# seals page tokens (keysvc/api/pagination.py).
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

closures = Table(
    "closures",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("start_date <= end_date", name="ordered"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    # SHA-256 of the token's secret part: tokens are 256-bit random, so a fast hash suffices.
    Column("secret_hash", LargeBinary(32), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    _one_of("role", ROLES),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("client_id", String(64), nullable=False),
    Column("method", String(128), nullable=False),
    Column("request_id", String(128), nullable=False),
    # SHA-256 of the serialized request: a reused request_id with other content is refused.
    Column("request_hash", LargeBinary(32), nullable=False),
    # The serialized response returned the first time.
    Column("response", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "method", "request_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor_token_id", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("method", String(128), nullable=False),
    Column("resource", Text, nullable=False),
    # "OK" or the error reason.
    Column("outcome", String(64), nullable=False),
    # The event's place in the hash chain (1, 2, 3, … without gaps) and its hash,
    # SHA-256 of the previous event's hash and this event (keysvc.domain.audit_chain).
    Column("seq", Integer, nullable=False, unique=True),
    Column("hash", LargeBinary(32), nullable=False),
    Index("ix_audit_events_resource", "resource", "id"),
)

# The audit chain's head: the last event's seq and hash, in one row that every
# writer of events locks (SELECT … FOR UPDATE), so replicas append one at a time
# and a deleted newest event leaves the head pointing past the log's end.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The key e-mail first, then any resend staff ask for (migration 0011): several rows.
    Column("key_request_id", ForeignKey("key_requests.id"), nullable=False, index=True),
    # Deterministic per key request and resend, so a re-send after a crash is
    # recognisable, and a message is never queued twice.
    Column("message_id", String(255), nullable=False, unique=True),
    Column("recipient", Text, nullable=False),
    # The whole RFC 5322 message as written once at queue time.
    Column("message", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    _one_of("state", MAIL_STATES),
    Index("ix_mail_outbox_pending", "state", "next_attempt_at"),
)
