"""Secrets the replicas share are made once, by whichever asks first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from keysvc.persistence.server_secret_repository import SECRET_BYTES, shared_secret

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _secret(engine, name: str) -> bytes:
    with engine.begin() as connection:
        return shared_secret(connection, name, NOW)


def test_a_secret_is_made_once_and_then_read(engine):
    first = _secret(engine, "page-token")
    assert len(first) == SECRET_BYTES
    assert _secret(engine, "page-token") == first
    assert _secret(engine, "another") != first


def test_replicas_asking_at_once_all_get_the_one_stored(engine):
    with ThreadPoolExecutor(4) as pool:
        secrets = set(pool.map(lambda _: _secret(engine, "page-token"), range(8)))
    assert len(secrets) == 1
