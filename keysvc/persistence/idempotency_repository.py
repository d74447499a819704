"""Responses remembered per (client, method, request_id), for AIP-155 repeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from keysvc.persistence.schema import idempotency_records


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What the first call with a request_id asked and was answered."""

    request_hash: bytes
    response: bytes


def find_record(
    connection: Connection, client_id: str, method: str, request_id: str
) -> IdempotencyRecord | None:
    """The remembered call, or None for a first call."""
    row = connection.execute(
        select(idempotency_records.c.request_hash, idempotency_records.c.response).where(
            idempotency_records.c.client_id == client_id,
            idempotency_records.c.method == method,
            idempotency_records.c.request_id == request_id,
        )
    ).one_or_none()
    return None if row is None else IdempotencyRecord(bytes(row[0]), bytes(row[1]))


def add_record(
    connection: Connection,
    *,
    client_id: str,
    method: str,
    request_id: str,
    record: IdempotencyRecord,
    now: datetime,
) -> None:
    """Remembers a first call; a concurrent twin makes this fail on the primary key."""
    connection.execute(
        insert(idempotency_records).values(
            client_id=client_id,
            method=method,
            request_id=request_id,
            request_hash=record.request_hash,
            response=record.response,
            created_at=now,
        )
    )
