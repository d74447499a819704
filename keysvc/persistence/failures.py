"""Which database failures are the database's, not ours.

A call that fails because the database cannot be reached, dropped its
connection, is locked past the busy timeout or is out of space is answered
UNAVAILABLE: retrying it is safe (mutations carry a ``request_id``) and may
well succeed. Anything else the driver raises (a syntax error, a missing table,
a constraint we did not expect) is a bug of ours and stays INTERNAL.

The hot paths run statements on the driver's own cursor
(`keysvc.persistence.driver_statement`), so both SQLAlchemy's wrapped errors
and the drivers' own are recognised, anywhere in the chain of causes.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Final

from sqlalchemy import exc

__all__ = ["database_unavailable"]

# SQLite's primary result codes that say the database file could not be used
# now, as opposed to a statement of ours being wrong (SQLITE_ERROR covers syntax
# errors and missing tables, SQLITE_CONSTRAINT our constraints).
_SQLITE_UNAVAILABLE: Final = frozenset(
    {
        "SQLITE_BUSY",  # locked past the busy timeout
        "SQLITE_LOCKED",
        "SQLITE_IOERR",
        "SQLITE_FULL",
        "SQLITE_CANTOPEN",
        "SQLITE_NOMEM",
        "SQLITE_PROTOCOL",
        "SQLITE_READONLY",  # a file system remounted read-only
    }
)


def database_unavailable(error: BaseException) -> bool:
    """True when `error`, or one of its causes, says the database is unavailable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unavailable(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.TimeoutError | exc.DisconnectionError):
        return True  # no connection free in the pool in time; a failed pre-ping
    # psycopg is looked up rather than imported: a process on SQLite never loads
    # it (a tenth of a second at start), and then no error can be one of its.
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        # Connection failures, lost connections, shutdowns, too many clients,
        # serialisation failures and deadlocks: all of them pass with a retry.
        return True
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "")
        # Extended codes (SQLITE_IOERR_SHORT_READ) name their primary code first.
        return any(name == code or name.startswith(code + "_") for code in _SQLITE_UNAVAILABLE)
    return False
