"""Instants are stored and read back as aware UTC on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from keysvc.persistence.schema import closures

JST = timezone(timedelta(hours=9))


def _closure(created_at: datetime) -> dict[str, object]:
    return {
        "id": "X-1",
        "start_date": date(2025, 12, 29),
        "end_date": date(2026, 1, 3),
        "label": "年末年始",
        "created_at": created_at,
    }


def test_instant_round_trips_as_aware_utc(engine):
    written = datetime(2025, 4, 1, 9, 30, 15, 123456, tzinfo=JST)
    with engine.begin() as connection:
        connection.execute(closures.insert(), _closure(written))
    with engine.connect() as connection:
        row = connection.execute(select(closures)).one()
    assert row.created_at == written
    assert row.created_at.tzinfo is UTC
    assert row.created_at == datetime(2025, 4, 1, 0, 30, 15, 123456, tzinfo=UTC)
    assert (row.start_date, row.end_date) == (date(2025, 12, 29), date(2026, 1, 3))


def test_naive_datetime_is_refused(engine):
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as connection:
        connection.execute(closures.insert(), _closure(datetime(2025, 4, 1, 9, 30)))
