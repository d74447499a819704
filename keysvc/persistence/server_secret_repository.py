"""Secrets the replicas share, made once by whichever starts first."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keysvc.persistence.schema import server_secrets

SECRET_BYTES = 32


def shared_secret(connection: Connection, name: str, now: datetime) -> bytes:
    """The secret called `name`, made (256 random bits) if the database has none yet.

    Replicas starting at once all get the one that was stored first.
    """
    insert_ = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    connection.execute(
        insert_(server_secrets)
        .values(name=name, secret=secrets.token_bytes(SECRET_BYTES), created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    stored: bytes = connection.execute(
        select(server_secrets.c.secret).where(server_secrets.c.name == name)
    ).scalar_one()
    return stored
