"""Responses remembered per (client, method, request_id), for AIP-155 repeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, bindparam, delete, select, tuple_

from keysvc.persistence.driver_statement import DriverInsert, DriverStatement
from keysvc.persistence.schema import idempotency_records


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What the first call with a request_id asked and was answered."""

    request_hash: bytes
    response: bytes


@dataclass(frozen=True, slots=True)
class CallKey:
    """What identifies a call among its repeats: who made it, to which method, its request_id."""

    client_id: str
    method: str
    request_id: str


# Every mutating call with a request_id runs both: on the driver's cursor (`DriverStatement`).
_SELECT_RECORDS: Final = DriverStatement(
    select(
        idempotency_records.c.client_id,
        idempotency_records.c.request_id,
        idempotency_records.c.request_hash,
        idempotency_records.c.response,
    ).where(
        idempotency_records.c.method == bindparam("method"),
        idempotency_records.c.client_id.in_(bindparam("clients", expanding=True)),
        idempotency_records.c.request_id.in_(bindparam("request_ids", expanding=True)),
    ),
    lists=("clients", "request_ids"),
)
_INSERT_RECORDS: Final = DriverInsert(
    idempotency_records,
    ("client_id", "method", "request_id", "request_hash", "response", "created_at"),
)


def find_records(
    connection: Connection, method: str, keys: Sequence[CallKey]
) -> dict[CallKey, IdempotencyRecord]:
    """The remembered calls among `keys` (all of `method`), by key, in one query."""
    if not keys:
        return {}
    rows = _SELECT_RECORDS.rows(
        connection,
        {
            "method": method,
            "clients": sorted({key.client_id for key in keys}),
            "request_ids": sorted({key.request_id for key in keys}),
        },
    )
    wanted = set(keys)
    found = {}
    for client_id, request_id, request_hash, response in rows:
        key = CallKey(client_id, method, request_id)
        if key in wanted:  # the query's cross product may find another client's id
            found[key] = IdempotencyRecord(bytes(request_hash), bytes(response))
    return found


def add_records(
    connection: Connection, records: Sequence[tuple[CallKey, IdempotencyRecord]], now: datetime
) -> None:
    """Remembers first calls in one statement; a concurrent twin makes it fail on the
    primary key."""
    if records:
        _INSERT_RECORDS.run(
            connection,
            [
                {
                    "client_id": key.client_id,
                    "method": key.method,
                    "request_id": key.request_id,
                    "request_hash": record.request_hash,
                    "response": record.response,
                    "created_at": now,
                }
                for key, record in records
            ],
        )


def purge_records(connection: Connection, created_before: datetime, limit: int) -> int:
    """Forgets up to `limit` remembered calls made before `created_before`; returns how
    many. A repeat of a forgotten call is a new call.

    The candidates are found by a scan of the table, not an index: the purge runs
    once an hour, and an index on ``created_at`` would cost every mutating call a
    write (docs/api-conventions.md).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    key = idempotency_records.primary_key.columns
    old = select(*key).where(idempotency_records.c.created_at < created_before).limit(limit)
    return connection.execute(delete(idempotency_records).where(tuple_(*key).in_(old))).rowcount
