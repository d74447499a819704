"""The rules the database itself enforces, whatever the code above it does.

Each test inserts rows with Core on SQLite and on PostgreSQL and expects the
database to refuse the one that breaks the rule.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from keysvc.persistence.schema import (
    closures,
    idempotency_records,
    key_requests,
    licenses,
    mail_outbox,
    signing_keys,
)

from .rows import NOW, insert_contract_with_key, insert_license, key_request, signing_key


@pytest.fixture
def db(engine):
    with engine.begin() as connection:
        insert_contract_with_key(connection)
    return engine


def test_second_active_license_for_a_contract_is_refused(db):
    with db.begin() as connection:
        insert_license(connection, "S-1", "R-1", status="SUPERSEDED", generation=1)
        insert_license(connection, "S-2", "R-2", status="REVOKED", generation=2)
        insert_license(connection, "S-3", "R-3", status="ACTIVE", generation=3)
    with pytest.raises(IntegrityError), db.begin() as connection:
        insert_license(connection, "S-4", "R-4", status="ACTIVE", generation=4)


def test_duplicate_license_serial_is_refused(db):
    with db.begin() as connection:
        insert_license(connection, "S-1", "R-1", status="SUPERSEDED", generation=1)
    with pytest.raises(IntegrityError), db.begin() as connection:
        insert_license(connection, "S-1", "R-2", status="SUPERSEDED", generation=2)


def test_two_licenses_for_one_key_request_are_refused(db):
    with db.begin() as connection:
        insert_license(connection, "S-1", "R-1", status="SUPERSEDED", generation=1)
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(
            licenses.insert(),
            {
                "serial": "S-2",
                "contract_number": "C-0001",
                "key_request_id": "R-1",
                "status": "ACTIVE",
                "seats": 10,
                "generation": 2,
                "fingerprint_hash": "f" * 64,
                "kid": "k1",
                "issued_at": NOW,
                "support_end": date(2026, 3, 31),
                "license_key": "NEO1.x",
            },
        )


def test_duplicate_generation_for_a_contract_is_refused(db):
    with db.begin() as connection:
        insert_license(connection, "S-1", "R-1", status="SUPERSEDED", generation=1)
    with pytest.raises(IntegrityError), db.begin() as connection:
        insert_license(connection, "S-2", "R-2", status="ACTIVE", generation=1)


def test_second_active_signing_key_is_refused(db):
    with db.begin() as connection:
        connection.execute(signing_keys.insert(), signing_key("k0", state="RETIRED"))
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(signing_keys.insert(), signing_key("k2", state="ACTIVE"))


def test_request_id_is_unique_per_client_and_method(db):
    record = {
        "client_id": "site-1",
        "method": "keysvc.v1.LicenseService/CreateKeyRequest",
        "request_id": "3f1c0d4e-0000-4000-8000-000000000001",
        "request_hash": b"\x01" * 32,
        "response": b"first",
        "created_at": NOW,
    }
    with db.begin() as connection:
        connection.execute(idempotency_records.insert(), record)
        # The same request_id from another client, or for another method, is fine.
        connection.execute(idempotency_records.insert(), record | {"client_id": "site-2"})
        connection.execute(idempotency_records.insert(), record | {"method": "Other"})
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(idempotency_records.insert(), record | {"response": b"second"})


def test_released_key_request_needs_its_license(db):
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(
            key_requests.insert(), key_request("R-1", state="RELEASED", released_at=NOW)
        )


def test_releasing_a_key_request_with_its_license_is_accepted(db):
    # The cycle key_requests ↔ licenses: request first, then license, then release.
    with db.begin() as connection:
        insert_license(connection, "S-1", "R-1")
        connection.execute(
            update(key_requests)
            .where(key_requests.c.id == "R-1")
            .values(state="RELEASED", license_serial="S-1", released_at=NOW)
        )
    with pytest.raises(IntegrityError), db.begin() as connection:
        # ... and it cannot go back to PENDING while keeping its license.
        connection.execute(
            update(key_requests).where(key_requests.c.id == "R-1").values(state="PENDING")
        )


@pytest.mark.parametrize(
    ("table", "row"),
    [
        pytest.param(key_requests, key_request("R-9", state="BOGUS"), id="key_request_state"),
        pytest.param(key_requests, key_request("R-9", kind="BOGUS"), id="key_request_kind"),
        pytest.param(signing_keys, signing_key("k9", state="BOGUS"), id="signing_key_state"),
    ],
)
def test_invalid_enum_value_is_refused(db, table, row):
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(table.insert(), row)


def test_invalid_license_status_is_refused(db):
    with pytest.raises(IntegrityError), db.begin() as connection:
        insert_license(connection, "S-1", "R-1", status="BOGUS")


def test_closure_ending_before_it_starts_is_refused(db):
    closure = {"id": "X-1", "label": "年末年始", "created_at": NOW}
    with db.begin() as connection:
        # A one-day closure is fine.
        connection.execute(
            closures.insert(),
            closure | {"start_date": date(2025, 12, 29), "end_date": date(2025, 12, 29)},
        )
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(
            closures.insert(),
            closure | {"id": "X-2", "start_date": date(2026, 1, 3), "end_date": date(2025, 12, 29)},
        )


def test_reference_to_a_missing_contract_is_refused(db):
    # On SQLite this holds only with PRAGMA foreign_keys=ON on the connection.
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(key_requests.insert(), key_request("R-1", contract_number="C-none"))


def test_the_same_message_is_refused_twice_and_a_resend_is_admitted(db):
    message = {
        "key_request_id": "R-1",
        "message_id": "<R-1@keysvc.example>",
        "recipient": "it@example.co.jp",
        "message": b"Subject: key\r\n\r\n...",
        "state": "QUEUED",
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    with db.begin() as connection:
        connection.execute(key_requests.insert(), key_request("R-1"))
        connection.execute(mail_outbox.insert(), message)
    with pytest.raises(IntegrityError), db.begin() as connection:
        connection.execute(mail_outbox.insert(), message)
    # A resend is a message of its own (migration 0011).
    with db.begin() as connection:
        connection.execute(mail_outbox.insert(), message | {"message_id": "<R-1.resend1@keysvc>"})
