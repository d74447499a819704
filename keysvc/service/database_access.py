"""What the API and the background loops need of the database itself: read-only
transactions, whether a failure is an outage (UNAVAILABLE, retryable) rather than a
bug, and a probe for the health check."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Engine, text

from keysvc.persistence.database import read_transaction
from keysvc.persistence.failures import database_unavailable

__all__ = ["database_unavailable", "probe_database", "read_transaction"]

# A table every migrated database has, on SQLite and PostgreSQL alike: reading
# it proves the file or the server answers, and the schema is there.
_PROBE: Final = text("SELECT version_num FROM alembic_version")


def probe_database(engine: Engine) -> None:
    """Reads one row in a read-only transaction; raises what the driver raises."""
    with read_transaction(engine) as connection:
        connection.execute(_PROBE).first()
