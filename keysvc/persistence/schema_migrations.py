"""Schema migrations: bring a database to the schema of this release.

`upgrade_database` is what ``keysvc db upgrade`` runs, and what the server
runs on start with the embedded SQLite default. It is safe to call on every
start and from several processes at once: on PostgreSQL the upgrade holds a
transaction-scoped advisory lock; on SQLite it runs in a ``BEGIN IMMEDIATE``
transaction, which admits one writer at a time. Either way the whole upgrade is
one transaction (both backends have transactional DDL), so a failed migration
leaves the database as it was.

Alembic runs from code, without an ``alembic.ini``. For developers the module is
also a small command line (see docs/persistence.md)::

    python -m keysvc.persistence.schema_migrations revision -m "add licenses.note" --autogenerate
    python -m keysvc.persistence.schema_migrations upgrade --url postgresql+psycopg://postgres@127.0.0.1/keysvc
    python -m keysvc.persistence.schema_migrations current --url sqlite+pysqlite:////srv/keysvc/keysvc.db
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from keysvc.persistence.database import (
    SQLITE_BEGIN_OPTION,
    create_database_engine,
    sqlite_url_for,
)

__all__ = ["MIGRATIONS_DIR", "current_revision", "head_revision", "upgrade_database"]

MIGRATIONS_DIR: Final = Path(__file__).resolve().with_name("migrations")

# Key of the PostgreSQL advisory lock that serialises upgrades: any fixed
# 64-bit number no other program on the same database uses ("keysvc" in ASCII).
_UPGRADE_LOCK_KEY: Final = int.from_bytes(b"keysvc", "big")

# Alembic's `op` and `context` are module-level proxies, installed for the
# duration of one command: two commands in two threads of one process would
# swap them under each other. The database lock orders processes; this orders
# threads (always taken first, so the two locks cannot deadlock).
_ALEMBIC_COMMAND_LOCK: Final = threading.Lock()


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    # Config values go through configparser interpolation: a literal % must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        # env.py runs the migrations on this connection, inside its transaction.
        config.attributes["connection"] = connection
    return config


def upgrade_database(engine: Engine) -> None:
    """Upgrades the database behind `engine` to the newest revision (a no-op when current).

    Creates the schema in an empty database and seeds the products. Safe to run
    concurrently: a second caller waits for the first and then finds nothing to do.
    """
    with _ALEMBIC_COMMAND_LOCK, engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a table others refer to by copying it, which its reference
            # checks forbid; its documented procedure turns them off outside the
            # transaction and checks every reference before the commit instead.
            _sqlite_foreign_keys(connection, "OFF")
        try:
            # SQLite: take the write lock before Alembic reads the current revision,
            # so two upgrades cannot both see an empty database.
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                if not sqlite:
                    # Released at commit or rollback; the second caller then reads the
                    # revision the first one committed.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY}
                    )
                command.upgrade(_alembic_config(connection), "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the upgrade would break references: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, "ON")


def _sqlite_foreign_keys(connection: Connection, state: str) -> None:
    """Sets SQLite's reference checks on the connection, outside any transaction (the
    pragma does nothing inside one, and SQLAlchemy would begin one for a statement)."""
    connection.connection.dbapi_connection.execute(f"PRAGMA foreign_keys = {state}")  # type: ignore[union-attr]


def current_revision(engine: Engine) -> str | None:
    """Returns the database's revision, or None when it was never migrated."""
    with engine.connect() as connection:
        connection.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Returns the newest revision this release knows (what `upgrade_database` reaches)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _next_revision_id(script: ScriptDirectory) -> str:
    """Revisions are numbered 0001, 0002, … so that file names sort in order."""
    head = script.get_current_head()
    return f"{int(head) + 1:04d}" if head is not None else "0001"


def _revision(message: str, *, autogenerate: bool, url: str | None) -> None:
    config = _alembic_config()
    # New scripts come out as `make lint` wants them: ruff from the dev environment.
    config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
    for hook, arguments in (("ruff_fix", "check --fix"), ("ruff_format", "format")):
        config.set_section_option("post_write_hooks", f"{hook}.type", "module")
        config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
        config.set_section_option(
            "post_write_hooks", f"{hook}.options", f"{arguments} REVISION_SCRIPT_FILENAME"
        )
    rev_id = _next_revision_id(ScriptDirectory.from_config(config))
    if not autogenerate:
        command.revision(config, message=message, rev_id=rev_id)
        return
    # Autogenerate compares schema.metadata with a database at head: a scratch
    # SQLite file unless a URL is given.
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_database_engine(url or sqlite_url_for(Path(scratch)))
        try:
            upgrade_database(engine)
            with _ALEMBIC_COMMAND_LOCK, engine.begin() as connection:
                config.attributes["connection"] = connection
                command.revision(config, message=message, rev_id=rev_id, autogenerate=True)
        finally:
            engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Developer command line: ``revision``, ``upgrade``, ``current`` and ``heads``."""
    parser = argparse.ArgumentParser(
        prog="python -m keysvc.persistence.schema_migrations", description=main.__doc__
    )
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write a new migration script")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument(
        "--autogenerate", action="store_true", help="fill it in from schema.py's differences"
    )
    revision.add_argument("--url", help="database to compare with (default: a scratch SQLite)")
    for name, help_text in (
        ("upgrade", "upgrade a database to head"),
        ("current", "print a database's revision"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    commands.add_parser("heads", help="print the newest revision")
    args = parser.parse_args(argv)

    if args.command == "revision":
        _revision(args.message, autogenerate=args.autogenerate, url=args.url)
    elif args.command == "heads":
        print(head_revision())
    else:
        engine = create_database_engine(args.url)
        try:
            if args.command == "upgrade":
                upgrade_database(engine)
            print(current_revision(engine) or "(none)")
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
