"""The composition root: builds the service's parts from `Settings`.

Nothing else decides which database, key ring or executor the service uses.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from keysvc.config import ConfigError, Settings
from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.migrate import current_revision, head_revision, upgrade_database

logger = logging.getLogger(__name__)

# Database work runs in these threads, off the event loop; a few suffice for SQLite's
# single writer and for a modest PostgreSQL pool.
DATABASE_THREADS = 8


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, with its schema at the current version.

    The embedded SQLite database migrates itself; a configured database (several
    replicas share it) is migrated deliberately with ``keysvc db upgrade``, and
    the service refuses to start on an outdated schema.
    """
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_database_engine(sqlite_url_for(settings.data_dir))
        upgrade_database(engine)
        return engine
    engine = create_database_engine(settings.database_url)
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        engine.dispose()
        raise ConfigError(
            f"database schema is at revision {revision or 'none'}, this keysvc needs {head}: "
            "run `keysvc db upgrade`"
        )
    return engine


def migrate_database(settings: Settings) -> tuple[str | None, str]:
    """Upgrades the configured database to the current schema; returns (before, after)."""
    url = settings.database_url or sqlite_url_for(settings.data_dir)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_database_engine(url)
    try:
        before = current_revision(engine)
        upgrade_database(engine)
        return before, head_revision()
    finally:
        engine.dispose()


def database_executor() -> ThreadPoolExecutor:
    """The threads that run database work for the RPC handlers."""
    return ThreadPoolExecutor(max_workers=DATABASE_THREADS, thread_name_prefix="keysvc-db")
