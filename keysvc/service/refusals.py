"""The audit of calls refused before they reach their method.

Mutations audit themselves (`keysvc.service.mutations`); a call whose token's
role may not call the method never gets that far, and the interceptor records
it here. The caller is known (its token verified), so the row names who tried
what. Failed authentications are not recorded here: their caller is unknown,
and one row each would let anyone on the network fill the database
(docs/auth.md).
"""

from __future__ import annotations

from sqlalchemy import Engine

from keysvc.domain.tokens import Principal
from keysvc.persistence.audit_repository import NewAuditEvent, add_events
from scheduler.clock import Clock

# A refused call touched no resource: its audit event names none.
NO_RESOURCE = ""


class RefusalAudit:
    """Writes one audit event per refused call, in a transaction of its own."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def record(self, principal: Principal, method: str, outcome: str) -> None:
        """Appends the event: who (`principal`), what (`method`, a full RPC path), and
        `outcome` (the refusal's reason, e.g. ``PERMISSION_DENIED``)."""
        event = NewAuditEvent(
            occurred_at=self._clock.now(),
            actor_token_id=principal.token_id,
            actor_role=principal.role.value,
            method=method,
            resource=NO_RESOURCE,
            outcome=outcome,
        )
        with self._engine.begin() as connection:
            add_events(connection, [event])
