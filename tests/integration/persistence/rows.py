"""Valid rows for each table, to insert with Core; override what a test is about."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from keysvc.persistence.schema import contracts, key_requests, licenses, signing_keys

NOW = datetime(2025, 4, 1, 1, 30, tzinfo=UTC)
TODAY = date(2025, 4, 1)


def contract(number: str = "C-0001", **overrides: Any) -> dict[str, Any]:
    return {
        "contract_number": number,
        "product_code": "neo-webconf",
        "customer_name": "株式会社テスト",
        "contact_email": "it@example.co.jp",
        "seats": 10,
        "purchase_date": TODAY,
        "accept_date": TODAY,
        "created_at": NOW,
    } | overrides


def signing_key(kid: str = "k1", **overrides: Any) -> dict[str, Any]:
    return {
        "kid": kid,
        "public_key": f"public-{kid}",
        "private_key_pem": "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        "state": "ACTIVE",
        "created_at": NOW,
    } | overrides


def key_request(
    request_id: str, contract_number: str = "C-0001", **overrides: Any
) -> dict[str, Any]:
    return {
        "id": request_id,
        "contract_number": contract_number,
        "kind": "INITIAL",
        "state": "PENDING",
        "fingerprint_hash": "f" * 64,
        "contact_email": "it@example.co.jp",
        "accepted_at": NOW,
        "due_date": TODAY,
        "release_at": NOW,
    } | overrides


def license_(serial: str, key_request_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "serial": serial,
        "contract_number": "C-0001",
        "key_request_id": key_request_id,
        "status": "ACTIVE",
        "seats": 10,
        "generation": 1,
        "fingerprint_hash": "f" * 64,
        "kid": "k1",
        "issued_at": NOW,
        "support_end": date(2026, 3, 31),
        "license_key": "NEO1.header.payload.signature",
    } | overrides


def insert_contract_with_key(connection: Connection) -> None:
    """The contract C-0001 and the ACTIVE signing key k1 that most rows refer to."""
    connection.execute(contracts.insert(), contract())
    connection.execute(signing_keys.insert(), signing_key())


def insert_license(connection: Connection, serial: str, request_id: str, **overrides: Any) -> None:
    """Inserts a key request and the license it produced."""
    connection.execute(key_requests.insert(), key_request(request_id))
    connection.execute(licenses.insert(), license_(serial, request_id, **overrides))


def mail(key_request_id: str, message_id: str, **overrides: Any) -> dict[str, Any]:
    """A queued e-mail of a key request."""
    return {
        "key_request_id": key_request_id,
        "message_id": message_id,
        "recipient": "it@example.co.jp",
        "message": b"Subject: test\r\n\r\nbody\r\n",
        "state": "QUEUED",
        "attempts": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
    } | overrides
