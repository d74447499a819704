"""Alembic's environment: runs migrations on the connection keysvc hands over.

keysvc never lets Alembic open its own connection: `keysvc.persistence.schema_migrations`
passes one in ``config.attributes["connection"]``, already inside the
transaction (and, on PostgreSQL, holding the advisory lock) that makes the
upgrade safe to run concurrently. Offline (``--sql``) mode is not supported:
the migrations look at the dialect they run on.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from keysvc.persistence.schema import metadata


def run_migrations_online(connection: Connection) -> None:
    """Runs the pending migrations on `connection`."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; autogenerate then writes batch
        # operations (copy-and-move tables) that work on both backends.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # Inside the caller's transaction this is a no-op: the caller commits.
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError(
        "keysvc migrations run online only (see keysvc.persistence.schema_migrations)"
    )

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "no connection passed in config.attributes['connection']; "
        "run migrations through keysvc.persistence.schema_migrations"
    )
run_migrations_online(_connection)
