"""`keysvc.v1.AdminService` over gRPC (role admin only, see `keysvc.api.policy`).

Methods not implemented here yet are inherited from the generated base and
answer UNIMPLEMENTED until the service issue lands them.
"""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy import Connection

from keysvc.api import messages
from keysvc.api.interceptor import current_principal
from keysvc.api.pagination import page_of
from keysvc.api.runner import Runner
from keysvc.persistence.audit_repository import list_events
from keysvc.service.mutations import Mutation, validate_request_id
from keysvc.signing_keys import SigningKeys
from keysvc.v1 import admin_service_pb2, admin_service_pb2_grpc, resources_pb2

Context = grpc.aio.ServicerContext[Any, Any]

_ROTATE = "/keysvc.v1.AdminService/RotateSigningKey"


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    """Support staff's operations."""

    def __init__(self, runner: Runner, signing_keys: SigningKeys) -> None:
        self._runner = runner
        self._signing_keys = signing_keys

    async def RotateSigningKey(
        self, request: admin_service_pb2.RotateSigningKeyRequest, context: Context
    ) -> resources_pb2.SigningKey:
        """Makes a new active key; keys already issued keep verifying with the retired one."""
        validate_request_id(request.request_id)

        def rotate(connection: Connection) -> tuple[resources_pb2.SigningKey, str]:
            kid = self._signing_keys.rotate(connection)
            (created,) = [key for key in SigningKeys.published(connection) if key.kid == kid]
            return messages.signing_key(created), f"signingKeys/{kid}"

        mutation = Mutation(
            current_principal(), _ROTATE, request, request.request_id, "signingKeys"
        )
        return await self._runner.mutate(mutation, resources_pb2.SigningKey, rotate)

    async def ListAuditEvents(
        self, request: admin_service_pb2.ListAuditEventsRequest, context: Context
    ) -> admin_service_pb2.ListAuditEventsResponse:
        """The audit log, newest first."""
        filters = {"resource": request.resource, "actor_token_id": request.actor_token_id}
        page = page_of(request.page_size, request.page_token, filters)
        before = page.after if isinstance(page.after, int) else None
        events = await self._runner.read(
            lambda connection: list_events(
                connection, limit=page.size + 1, before_id=before, **filters
            )
        )
        shown = events[: page.size]
        return admin_service_pb2.ListAuditEventsResponse(
            audit_events=[messages.audit_event(event) for event in shown],
            next_page_token=page.next_token(shown[-1].id if shown else None, len(events)),
        )
