"""The audit log's own use cases: checking its hash chain, and events of the host's commands.

`verify_audit_log` reads the chain's head and every event in one snapshot, so
events appended meanwhile by running servers neither show as "beyond the head"
nor hide a break: what it judges is the log as it was at one instant.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine

from keysvc.domain.audit_chain import ChainCheck, verify_chain
from keysvc.persistence.audit_repository import chained_events, read_chain_head
from keysvc.persistence.database import SQLITE_BEGIN_OPTION

# The actor of a command run on the server host (`keysvc tokens create`): it has
# database access but no bearer token, so the audit log names the host's user.
HOST_ROLE = "host"


def host_actor(user: str) -> str:
    """The actor id recorded for a command run by the operating-system `user`."""
    return f"host:{user}"


def verify_audit_log(engine: Engine, anchors: Mapping[int, bytes] | None = None) -> ChainCheck:
    """Checks the whole audit log's hash chain, and that the hashes recorded elsewhere
    (`anchors`, by seq) are still there; names the first break, if any."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for every page read, instead of one per statement.
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            # A reader: WAL gives it a snapshot without SQLite's write lock.
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
        with connection.begin():
            return verify_chain(read_chain_head(connection), chained_events(connection), anchors)
