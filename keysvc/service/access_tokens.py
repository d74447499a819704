"""Bearer tokens' use cases: making one (a command on the server host, audited like the
API's changes) and revoking one (an admin RPC)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Engine

from keysvc.domain.errors import FailedPrecondition, NotFound
from keysvc.domain.records import TokenRecord
from keysvc.domain.tokens import NewToken, Role, new_token
from keysvc.persistence.audit_repository import NewAuditEvent, add_events
from keysvc.persistence.token_repository import add_token, revoke_token
from keysvc.service.audit import HOST_ROLE, host_actor
from keysvc.service.mutations import OUTCOME_OK

# The audit log's "method" of a token made by `keysvc tokens create` (not an RPC: docs/auth.md).
CREATE_TOKEN_COMMAND: Final = "keysvc tokens create"  # noqa: S105 - a command name


def create_token(
    engine: Engine, role: Role, description: str, *, user: str, now: datetime
) -> NewToken:
    """Makes a token of `role`, stores its hash, and audits its making by the host's
    `user` — one transaction, so a token never exists without its audit event."""
    token = new_token()
    with engine.begin() as connection:
        add_token(connection, token, role, description, now)
        add_events(
            connection,
            [
                NewAuditEvent(
                    occurred_at=now,
                    actor_token_id=host_actor(user),
                    actor_role=HOST_ROLE,
                    method=CREATE_TOKEN_COMMAND,
                    resource=f"tokens/{token.token_id}",
                    outcome=OUTCOME_OK,
                )
            ],
        )
    return token


def revoke_access_token(
    connection: Connection, token_id: str, *, caller_token_id: str, now: datetime
) -> TokenRecord:
    """Revokes a token at once; a revoked one keeps its first revocation time. Not the
    caller's own (that would lock them out): `FailedPrecondition`; unknown: `NotFound`."""
    if token_id == caller_token_id:
        raise FailedPrecondition(
            "a token cannot revoke itself; use another admin token", reason="TOKEN_IS_CALLERS"
        )
    record = revoke_token(connection, token_id, now)
    if record is None:
        raise NotFound(f"tokens/{token_id}", reason="TOKEN_NOT_FOUND")
    return record
