"""What the API and the background loops need to know of the database: whether a
failure is an outage (UNAVAILABLE, retryable) rather than a bug, and a probe."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Engine, text

from keysvc.persistence.database import SQLITE_BEGIN_OPTION
from keysvc.persistence.failures import database_unavailable

__all__ = ["database_unavailable", "probe_database"]

# A table every migrated database has, on SQLite and PostgreSQL alike: reading
# it proves the file or the server answers, and the schema is there.
_PROBE: Final = text("SELECT version_num FROM alembic_version")


def probe_database(engine: Engine) -> None:
    """Reads one row in a read-only transaction; raises what the driver raises."""
    with (
        engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}) as connection,
        connection.begin(),
    ):
        connection.execute(_PROBE).first()
