"""`keysvc.v1.AdminService` over gRPC (role admin only, see `keysvc.api.policy`).

Methods not implemented here yet are inherited from the generated base and
answer UNIMPLEMENTED until the service issue lands them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import grpc
from sqlalchemy import Connection

from keysvc.api import messages, validation
from keysvc.api.interceptor import current_principal
from keysvc.api.pagination import page_of
from keysvc.api.runner import Runner
from keysvc.errors import NotFound
from keysvc.persistence.audit_repository import list_events
from keysvc.persistence.contract_repository import list_contracts
from keysvc.persistence.key_request_repository import get_license, mail_state_of
from keysvc.service.contracts import NewContract, create_contract, require_contract
from keysvc.service.key_requests import require_key_request, validate_email
from keysvc.service.mutations import Mutation, validate_request_id
from keysvc.service.release import release
from keysvc.signing_keys import SigningKeys
from keysvc.v1 import admin_service_pb2, admin_service_pb2_grpc, resources_pb2
from scheduler.clock import Clock

Context = grpc.aio.ServicerContext[Any, Any]

_ROTATE = "/keysvc.v1.AdminService/RotateSigningKey"
_CREATE_CONTRACT = "/keysvc.v1.AdminService/CreateContract"
_ISSUE_KEY_NOW = "/keysvc.v1.AdminService/IssueKeyNow"


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    """Support staff's operations."""

    def __init__(self, runner: Runner, signing_keys: SigningKeys, clock: Clock) -> None:
        self._runner = runner
        self._signing_keys = signing_keys
        self._clock = clock

    async def CreateContract(
        self, request: admin_service_pb2.CreateContractRequest, context: Context
    ) -> resources_pb2.Contract:
        """Stores a contract and its first period; generates its number when empty."""
        validate_request_id(request.request_id)
        new = NewContract(
            contract_number=validation.contract_number(
                "contract_number", request.contract_number, required=False
            ),
            product_code=validation.required_text("product_code", request.product_code),
            customer_name=validation.required_text("customer_name", request.customer_name),
            contact_email=validate_email("contact_email", request.contact_email),
            seats=validation.count("seats", request.seats),
            purchase_date=_required_date("purchase_date", request.purchase_date),
            accept_date=validation.iso_date("accept_date", request.accept_date, required=False),
        )

        def create(connection: Connection) -> tuple[resources_pb2.Contract, str]:
            record = create_contract(connection, new, self._clock.now())
            return messages.contract(record), f"contracts/{record.contract_number}"

        mutation = Mutation(
            current_principal(), _CREATE_CONTRACT, request, request.request_id, "contracts"
        )
        return await self._runner.mutate(mutation, resources_pb2.Contract, create)

    async def GetContract(
        self, request: admin_service_pb2.GetContractRequest, context: Context
    ) -> resources_pb2.Contract:
        """One contract with its periods."""
        number = validation.contract_number("contract_number", request.contract_number)
        record = await self._runner.read(lambda connection: require_contract(connection, number))
        return messages.contract(record)

    async def ListContracts(
        self, request: admin_service_pb2.ListContractsRequest, context: Context
    ) -> admin_service_pb2.ListContractsResponse:
        """Contracts by number, optionally of one product."""
        page = page_of(request.page_size, request.page_token, {"product": request.product_code})
        after = page.after if isinstance(page.after, str) else None
        records = await self._runner.read(
            lambda connection: list_contracts(
                connection, limit=page.size + 1, after=after, product_code=request.product_code
            )
        )
        shown = records[: page.size]
        return admin_service_pb2.ListContractsResponse(
            contracts=[messages.contract(record) for record in shown],
            next_page_token=page.next_token(
                shown[-1].contract_number if shown else None, len(records)
            ),
        )

    async def IssueKeyNow(
        self, request: admin_service_pb2.IssueKeyNowRequest, context: Context
    ) -> resources_pb2.KeyRequest:
        """Releases a PENDING request at once, bypassing the calendar.

        A request released already is answered as it is, so a retry is harmless.
        """
        validate_request_id(request.request_id)
        request_id = validation.required_text("id", request.id, max_length=64)

        def issue(connection: Connection) -> tuple[resources_pb2.KeyRequest, str]:
            record = require_key_request(connection, request_id, for_update=True)
            if record.state != "RELEASED":
                release(
                    connection,
                    record,
                    self._signing_keys.key_ring(connection),
                    self._clock.now(),
                )
                record = require_key_request(connection, request_id)
            license_ = get_license(connection, record.license_serial or "")
            assert license_ is not None, "a released request has its license"
            answer = messages.key_request(
                record,
                license_key=license_.license_key,
                mail_state=mail_state_of(connection, record.id),
            )
            return answer, f"keyRequests/{record.id}"

        mutation = Mutation(
            current_principal(),
            _ISSUE_KEY_NOW,
            request,
            request.request_id,
            f"keyRequests/{request.id}",
        )
        return await self._runner.mutate(mutation, resources_pb2.KeyRequest, issue)

    async def GetLicense(
        self, request: admin_service_pb2.GetLicenseRequest, context: Context
    ) -> resources_pb2.License:
        """One license with its key text."""
        serial = validation.required_text("serial", request.serial, max_length=64)

        def read(connection: Connection) -> resources_pb2.License:
            license_ = get_license(connection, serial)
            if license_ is None:
                raise NotFound(f"licenses/{serial}", reason="LICENSE_NOT_FOUND")
            return messages.license_message(license_)

        return await self._runner.read(read)

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


def _required_date(field: str, value: str) -> date:
    day = validation.iso_date(field, value)
    assert day is not None, "a required date is never None"
    return day
