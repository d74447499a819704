"""`keysvc.v1.AdminService` over gRPC (role admin only, see `keysvc.api.access_rules`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import grpc
from sqlalchemy import Connection

from keysvc.api import messages, validation
from keysvc.api.interceptor import current_principal
from keysvc.api.pagination import PageTokens
from keysvc.api.runner import Runner
from keysvc.domain import jst_date
from keysvc.domain.errors import InvalidArgument
from keysvc.service.access_tokens import revoke_access_token
from keysvc.service.addresses import validate_email
from keysvc.service.authentication import Authenticator
from keysvc.service.closure_changes import create_closure, delete_closure
from keysvc.service.contracts import (
    ContactChange,
    NewContract,
    add_seats,
    create_contract,
    renew_contract,
    require_contract,
    update_contract,
)
from keysvc.service.key_mail_resend import resend_key_mail
from keysvc.service.key_requests import (
    approve_key_request,
    issue_key_now,
    queue_seats_change,
    reject_key_request,
)
from keysvc.service.licenses import end_reissue_overlap, require_license, revoke_license
from keysvc.service.listings import (
    list_closure_records,
    list_contracts,
    list_events,
    list_key_request_page,
    list_licenses,
    list_mail_deliveries,
    list_token_records,
)
from keysvc.service.mutations import ResponseT
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser
from keysvc.service.signing_key_withdrawal import (
    SigningKeyView,
    signing_key_views,
    withdraw_signing_key,
)
from keysvc.service.signing_keys import SigningKeys
from keysvc.v1 import admin_service_pb2, admin_service_pb2_grpc, resources_pb2
from scheduler.calendar import BusinessCalendar, CalendarError, Closure
from scheduler.clock import Clock
from scheduler.release_loop import ReleaseLoop

Context = grpc.aio.ServicerContext[Any, Any]

_SERVICE = "/keysvc.v1.AdminService/"
_ROTATE = _SERVICE + "RotateSigningKey"
_CREATE_CONTRACT = _SERVICE + "CreateContract"
_ISSUE_KEY_NOW = _SERVICE + "IssueKeyNow"
# What UpdateContract may change: the customer's name and where keys are mailed. The
# product, seats, dates and periods follow the contract's own use cases.
_UPDATABLE_CONTRACT_FIELDS = ("customer_name", "contact_email")


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    """Support staff's operations."""

    def __init__(
        self,
        runner: Runner,
        *,
        signing_keys: SigningKeys,
        clock: Clock,
        calendar: BusinessCalendar,
        mail: MailIdentity,
        release_loop: ReleaseLoop,
        authenticator: Authenticator,
        products: ProductCatalogue,
        page_tokens: PageTokens,
        status_base_url: str | None = None,
    ) -> None:
        self._runner = runner
        self._status_base_url = status_base_url
        self._products = products
        self._page_tokens = page_tokens
        self._authenticator = authenticator
        self._release_loop = release_loop
        self._signing_keys = signing_keys
        self._clock = clock
        self._calendar = calendar
        self._mail = mail

    def _releaser(self, connection: Connection) -> Releaser:
        return Releaser(
            self._signing_keys.key_ring(connection),
            self._mail,
            self._calendar,
            self._status_base_url,
        )

    async def CreateContract(
        self, request: admin_service_pb2.CreateContractRequest, context: Context
    ) -> resources_pb2.Contract:
        """Stores a contract and its first period; generates its number when empty."""
        new = NewContract(
            contract_number=validation.contract_number(
                "contract_number", request.contract_number, required=False
            ),
            product_code=validation.required_text("product_code", request.product_code),
            customer_name=validation.required_text("customer_name", request.customer_name),
            contact_email=validate_email("contact_email", request.contact_email),
            seats=validation.count("seats", request.seats),
            purchase_date=validation.required_date("purchase_date", request.purchase_date),
            accept_date=validation.optional_date("accept_date", request.accept_date),
        )

        def create(connection: Connection) -> tuple[resources_pb2.Contract, str]:
            record = create_contract(connection, new, self._clock.now(), self._products)
            return messages.contract(record), f"contracts/{record.contract_number}"

        return await self._runner.change(
            _CREATE_CONTRACT, request, "contracts", resources_pb2.Contract, create
        )

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
        page = self._page_tokens.page_of(
            request.page_size, request.page_token, {"product": request.product_code}
        )
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
        request_id = validation.required_text("id", request.id, max_length=64)

        def issue(connection: Connection) -> tuple[resources_pb2.KeyRequest, str]:
            view = issue_key_now(
                connection, request_id, self._releaser(connection), self._clock.now()
            )
            answer = messages.key_request(
                view.request, view.license_key, view.mail_state, view.previous_supersede_at
            )
            return answer, f"keyRequests/{request_id}"

        return await self._runner.change(
            _ISSUE_KEY_NOW, request, f"keyRequests/{request_id}", resources_pb2.KeyRequest, issue
        )

    async def ResendKeyMail(
        self, request: admin_service_pb2.ResendKeyMailRequest, context: Context
    ) -> resources_pb2.KeyRequest:
        """Queues a released key's e-mail again, to the stored or a corrected address."""
        request_id = validation.required_text("id", request.id, max_length=64)
        # Checked (and normalised) by the use case, which keeps it with the request.
        corrected = request.contact_email or None
        principal = current_principal()

        def resend(connection: Connection) -> resources_pb2.KeyRequest:
            view = resend_key_mail(
                connection,
                request_id,
                corrected,
                mail=self._mail,
                principal=principal,
                now=self._clock.now(),
            )
            return messages.key_request(
                view.request, view.license_key, view.mail_state, view.previous_supersede_at
            )

        return await self._mutate(
            "ResendKeyMail", request, f"keyRequests/{request_id}", resources_pb2.KeyRequest, resend
        )

    async def RenewContract(
        self, request: admin_service_pb2.RenewContractRequest, context: Context
    ) -> resources_pb2.Contract:
        """Adds the next support period (plain, or re-continuation where the policy has one)."""
        number = validation.contract_number("contract_number", request.contract_number)
        accepted_on = validation.optional_date("accept_date", request.accept_date) or jst_date(
            self._clock.now(), field="now"
        )

        def renew(connection: Connection) -> resources_pb2.Contract:
            return messages.contract(
                renew_contract(
                    connection,
                    number,
                    accepted_on,
                    recontinuation=request.recontinuation,
                    now=self._clock.now(),
                    products=self._products,
                )
            )

        return await self._mutate(
            "RenewContract", request, f"contracts/{number}", resources_pb2.Contract, renew
        )

    async def UpdateContract(
        self, request: admin_service_pb2.UpdateContractRequest, context: Context
    ) -> resources_pb2.Contract:
        """Mends the contract's customer name or contact address (AIP-134); a new
        address also goes to the waiting requests that took the old one."""
        number = validation.contract_number(
            "contract.contract_number", request.contract.contract_number
        )
        paths = validation.update_mask(
            "update_mask", request.update_mask.paths, _UPDATABLE_CONTRACT_FIELDS
        )
        # The same checks as CreateContract's, under the names of this request's fields.
        change = ContactChange(
            customer_name=validation.required_text(
                "contract.customer_name", request.contract.customer_name
            )
            if "customer_name" in paths
            else None,
            contact_email=validate_email("contract.contact_email", request.contract.contact_email)
            if "contact_email" in paths
            else None,
        )
        return await self._mutate(
            "UpdateContract",
            request,
            f"contracts/{number}",
            resources_pb2.Contract,
            lambda connection: messages.contract(
                update_contract(connection, number, change).contract
            ),
        )

    async def AddLicenses(
        self, request: admin_service_pb2.AddLicensesRequest, context: Context
    ) -> admin_service_pb2.AddLicensesResponse:
        """Raises the seat count and queues a SEATS_CHANGE key on the active license.

        With no active license yet, or a key request still waiting, no SEATS_CHANGE
        is queued: the waiting request is released with the new seat count anyway
        (and if it is rejected instead, the SEATS_CHANGE is queued then).
        """
        number = validation.contract_number("contract_number", request.contract_number)
        additional = validation.count("additional_seats", request.additional_seats)
        bought_on = validation.optional_date("purchase_date", request.purchase_date) or jst_date(
            self._clock.now(), field="now"
        )
        principal = current_principal()

        def add(connection: Connection) -> admin_service_pb2.AddLicensesResponse:
            contract = add_seats(connection, number, additional, bought_on)
            response = admin_service_pb2.AddLicensesResponse(contract=messages.contract(contract))
            queued = queue_seats_change(
                connection, number, principal, self._clock.now(), self._calendar
            )
            if queued is not None:
                response.key_request.CopyFrom(messages.key_request(queued))
            return response

        return await self._mutate(
            "AddLicenses",
            request,
            f"contracts/{number}",
            admin_service_pb2.AddLicensesResponse,
            add,
        )

    async def ListKeyRequests(
        self, request: admin_service_pb2.ListKeyRequestsRequest, context: Context
    ) -> admin_service_pb2.ListKeyRequestsResponse:
        """Key requests in acceptance order, with filters and the number that match."""
        state = messages.key_request_state_filter(request.state)
        filters = {
            "contract_number": request.contract_number,
            "state": state or "",
            "at_risk": request.at_risk,
            "late": request.late,
        }
        page = self._page_tokens.page_of(request.page_size, request.page_token, filters)
        after = _key_request_cursor(page.after)
        listed = await self._runner.read(
            lambda connection: list_key_request_page(
                connection,
                limit=page.size + 1,
                after=after,
                contract_number=request.contract_number,
                state=state,
                at_risk=request.at_risk,
                late=request.late,
            )
        )
        shown = listed.records[: page.size]
        last = f"{shown[-1].accepted_at.isoformat()}|{shown[-1].id}" if shown else None
        return admin_service_pb2.ListKeyRequestsResponse(
            key_requests=[
                messages.key_request(record, mail_state=listed.mail_states.get(record.id))
                for record in shown
            ],
            next_page_token=page.next_token(last, len(listed.records)),
            total_size=listed.total,
        )

    async def ApproveKeyRequest(
        self, request: admin_service_pb2.ApproveKeyRequestRequest, context: Context
    ) -> resources_pb2.KeyRequest:
        """Moves a HELD request to PENDING."""
        request_id = validation.required_text("id", request.id, max_length=64)
        return await self._mutate(
            "ApproveKeyRequest",
            request,
            f"keyRequests/{request_id}",
            resources_pb2.KeyRequest,
            lambda connection: messages.key_request(approve_key_request(connection, request_id)),
        )

    async def RejectKeyRequest(
        self, request: admin_service_pb2.RejectKeyRequestRequest, context: Context
    ) -> resources_pb2.KeyRequest:
        """Moves a HELD or PENDING request to REJECTED, with the reason for the customer;
        licenses added while it waited get their SEATS_CHANGE queued now."""
        request_id = validation.required_text("id", request.id, max_length=64)
        reason = validation.required_text("reason", request.reason, max_length=1000)
        principal = current_principal()

        def reject(connection: Connection) -> resources_pb2.KeyRequest:
            rejected = reject_key_request(
                connection,
                request_id,
                reason,
                principal=principal,
                now=self._clock.now(),
                calendar=self._calendar,
            )
            return messages.key_request(rejected)

        return await self._mutate(
            "RejectKeyRequest",
            request,
            f"keyRequests/{request_id}",
            resources_pb2.KeyRequest,
            reject,
        )

    async def ListLicenses(
        self, request: admin_service_pb2.ListLicensesRequest, context: Context
    ) -> admin_service_pb2.ListLicensesResponse:
        """Licenses by serial, optionally of one contract or status."""
        status = messages.license_status_filter(request.status)
        filters = {"contract_number": request.contract_number, "status": status or ""}
        page = self._page_tokens.page_of(request.page_size, request.page_token, filters)
        after = page.after if isinstance(page.after, str) else None
        records = await self._runner.read(
            lambda connection: list_licenses(
                connection,
                limit=page.size + 1,
                after=after,
                contract_number=request.contract_number,
                status=status,
            )
        )
        shown = records[: page.size]
        return admin_service_pb2.ListLicensesResponse(
            licenses=[messages.license_message(record) for record in shown],
            next_page_token=page.next_token(shown[-1].serial if shown else None, len(records)),
        )

    async def RevokeLicense(
        self, request: admin_service_pb2.RevokeLicenseRequest, context: Context
    ) -> resources_pb2.License:
        """Withdraws a license; its key then verifies as REVOKED."""
        serial = validation.required_text("serial", request.serial, max_length=64)
        reason = validation.required_text("reason", request.reason, max_length=1000)
        return await self._mutate(
            "RevokeLicense",
            request,
            f"licenses/{serial}",
            resources_pb2.License,
            lambda connection: messages.license_message(
                revoke_license(connection, serial, reason, self._clock.now())
            ),
        )

    async def EndReissueOverlap(
        self, request: admin_service_pb2.EndReissueOverlapRequest, context: Context
    ) -> resources_pb2.License:
        """Ends a superseded license's overlap now; its key stops working at once."""
        serial = validation.required_text("serial", request.serial, max_length=64)
        reason = validation.required_text("reason", request.reason, max_length=1000)
        return await self._mutate(
            "EndReissueOverlap",
            request,
            f"licenses/{serial}",
            resources_pb2.License,
            lambda connection: messages.license_message(
                end_reissue_overlap(connection, serial, reason, self._clock.now())
            ),
        )

    async def WithdrawSigningKey(
        self, request: admin_service_pb2.WithdrawSigningKeyRequest, context: Context
    ) -> resources_pb2.SigningKey:
        """Withdraws a retired signing key that may have leaked; its licenses get
        replacement keys, released by the scheduler (docs/signing-keys.md)."""
        kid = validation.required_text("kid", request.kid, max_length=64)
        reason = validation.required_text("reason", request.reason, max_length=1000)
        principal = current_principal()
        return await self._mutate(
            "WithdrawSigningKey",
            request,
            f"signingKeys/{kid}",
            resources_pb2.SigningKey,
            lambda connection: _signing_key_message(
                withdraw_signing_key(connection, kid, reason, principal, self._clock.now())
            ),
        )

    async def ListAllSigningKeys(
        self, request: admin_service_pb2.ListAllSigningKeysRequest, context: Context
    ) -> admin_service_pb2.ListAllSigningKeysResponse:
        """Every signing key, withdrawn ones included, with the replacements' progress."""
        views = await self._runner.read(signing_key_views)
        return admin_service_pb2.ListAllSigningKeysResponse(
            signing_keys=[_signing_key_message(view) for view in views]
        )

    async def _mutate(
        self,
        method: str,
        request: Any,  # noqa: ANN401 - any mutating request message: each has request_id
        resource: str,
        response_type: type[ResponseT],
        change: Callable[[Connection], ResponseT],
    ) -> ResponseT:
        """Runs `change` as an idempotent, audited mutation of `resource`."""
        return await self._runner.change(
            _SERVICE + method,
            request,
            resource,
            response_type,
            lambda connection: (change(connection), resource),
        )

    async def AddClosure(
        self, request: admin_service_pb2.AddClosureRequest, context: Context
    ) -> resources_pb2.Closure:
        """Adds a company closure and reschedules every waiting request."""
        start = validation.required_date("start_date", request.start_date)
        end = validation.required_date("end_date", request.end_date)
        label = validation.required_text("label", request.label)
        if end < start:
            raise InvalidArgument("end_date", "end_date must not be before start_date")
        try:
            closure = Closure(start, end, label)
        except CalendarError as error:
            raise InvalidArgument("end_date", str(error), reason=error.reason) from error

        def add(connection: Connection) -> resources_pb2.Closure:
            record, _ = create_closure(connection, closure, self._calendar, self._clock.now())
            return messages.closure(record)

        return await self._mutate("AddClosure", request, "closures", resources_pb2.Closure, add)

    async def ListClosures(
        self, request: admin_service_pb2.ListClosuresRequest, context: Context
    ) -> admin_service_pb2.ListClosuresResponse:
        """The configured closures, earliest first (the yearly Dec 29 - Jan 3 is built in)."""
        if request.year and not 2000 <= request.year <= 2099:
            raise InvalidArgument("year", "year must be between 2000 and 2099")
        page = self._page_tokens.page_of(
            request.page_size, request.page_token, {"year": request.year}
        )
        records = await self._runner.read(list_closure_records)
        if request.year:
            first, last = date(request.year, 1, 1), date(request.year, 12, 31)
            records = [r for r in records if r.closure.start <= last and r.closure.end >= first]
        # Closures are a few a year: page over the list in memory, by position.
        start = int(page.after) if isinstance(page.after, int) else 0
        shown = records[start : start + page.size]
        return admin_service_pb2.ListClosuresResponse(
            closures=[messages.closure(record) for record in shown],
            next_page_token=page.next_token(start + len(shown), len(records) - start),
        )

    async def RemoveClosure(
        self, request: admin_service_pb2.RemoveClosureRequest, context: Context
    ) -> resources_pb2.Closure:
        """Removes a closure, reschedules every waiting request, and returns the closure."""
        closure_id = validation.required_text("id", request.id, max_length=64)
        return await self._mutate(
            "RemoveClosure",
            request,
            f"closures/{closure_id}",
            resources_pb2.Closure,
            lambda connection: messages.closure(
                delete_closure(connection, closure_id, self._calendar, self._clock.now())
            ),
        )

    async def ReleaseDue(
        self, request: admin_service_pb2.ReleaseDueRequest, context: Context
    ) -> admin_service_pb2.ReleaseDueResponse:
        """Releases every PENDING request due at or before as_of (default now).

        The same path as the scheduler loop; requests that can no longer be
        released are HELD with their reason instead.
        """
        as_of = (
            validation.instant("as_of", request.as_of)
            if request.HasField("as_of")
            else self._clock.now()
        )

        def release_all() -> admin_service_pb2.ReleaseDueResponse:
            released = self._release_loop.release_all_due(as_of)
            return admin_service_pb2.ReleaseDueResponse(released_count=released)

        return await self._runner.change_committing(
            _SERVICE + "ReleaseDue",
            request,
            "keyRequests",
            admin_service_pb2.ReleaseDueResponse,
            release_all,
        )

    async def GetLicense(
        self, request: admin_service_pb2.GetLicenseRequest, context: Context
    ) -> resources_pb2.License:
        """One license with its key text."""
        serial = validation.required_text("serial", request.serial, max_length=64)

        def read(connection: Connection) -> resources_pb2.License:
            return messages.license_message(require_license(connection, serial))

        return await self._runner.read(read)

    async def RotateSigningKey(
        self, request: admin_service_pb2.RotateSigningKeyRequest, context: Context
    ) -> resources_pb2.SigningKey:
        """Makes a new active key; keys already issued keep verifying with the retired one."""

        def rotate(connection: Connection) -> tuple[resources_pb2.SigningKey, str]:
            kid = self._signing_keys.rotate(connection)
            (created,) = [key for key in SigningKeys.published(connection) if key.kid == kid]
            return messages.signing_key(created), f"signingKeys/{kid}"

        return await self._runner.change(
            _ROTATE, request, "signingKeys", resources_pb2.SigningKey, rotate
        )

    async def ListAuditEvents(
        self, request: admin_service_pb2.ListAuditEventsRequest, context: Context
    ) -> admin_service_pb2.ListAuditEventsResponse:
        """The audit log, newest first."""
        filters = {"resource": request.resource, "actor_token_id": request.actor_token_id}
        page = self._page_tokens.page_of(request.page_size, request.page_token, filters)
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

    async def ListMailDeliveries(
        self, request: admin_service_pb2.ListMailDeliveriesRequest, context: Context
    ) -> admin_service_pb2.ListMailDeliveriesResponse:
        """The key e-mails in the outbox, newest first, optionally in one delivery state;
        never a message's body (it carries the key)."""
        state = messages.mail_state_filter(request.state)
        page = self._page_tokens.page_of(
            request.page_size, request.page_token, {"state": state or ""}
        )
        before = page.after if isinstance(page.after, int) else None
        records = await self._runner.read(
            lambda connection: list_mail_deliveries(
                connection, limit=page.size + 1, before=before, state=state
            )
        )
        shown = records[: page.size]
        return admin_service_pb2.ListMailDeliveriesResponse(
            mail_deliveries=[messages.mail_delivery(record) for record in shown],
            next_page_token=page.next_token(shown[-1].id if shown else None, len(records)),
        )

    async def ListTokens(
        self, request: admin_service_pb2.ListTokensRequest, context: Context
    ) -> admin_service_pb2.ListTokensResponse:
        """Tokens by id, without their secrets; revoked ones when asked."""
        page = self._page_tokens.page_of(
            request.page_size, request.page_token, {"revoked": request.show_revoked}
        )
        after = page.after if isinstance(page.after, str) else None
        records = await self._runner.read(
            lambda connection: list_token_records(
                connection, limit=page.size + 1, after=after, show_revoked=request.show_revoked
            )
        )
        shown = records[: page.size]
        return admin_service_pb2.ListTokensResponse(
            tokens=[messages.token(record) for record in shown],
            next_page_token=page.next_token(shown[-1].token_id if shown else None, len(records)),
        )

    async def RevokeToken(
        self, request: admin_service_pb2.RevokeTokenRequest, context: Context
    ) -> resources_pb2.Token:
        """Revokes a token at once (not the caller's own: that would lock them out)."""
        token_id = validation.required_text("id", request.id, max_length=64)
        caller = current_principal().token_id

        def revoke(connection: Connection) -> resources_pb2.Token:
            # Refused inside the mutation, so that the attempt is audited too.
            return messages.token(
                revoke_access_token(
                    connection, token_id, caller_token_id=caller, now=self._clock.now()
                )
            )

        revoked = await self._mutate(
            "RevokeToken", request, f"tokens/{token_id}", resources_pb2.Token, revoke
        )
        # Refused here from the next call on; other replicas within TOKEN_CACHE_SECONDS.
        self._authenticator.forget(token_id)
        return revoked


def _key_request_cursor(after: str | int | None) -> tuple[datetime, str] | None:
    """The (accept time, id) a key request page starts after."""
    if not isinstance(after, str):
        return None
    accepted_at, _, request_id = after.partition("|")
    try:
        return datetime.fromisoformat(accepted_at), request_id
    except ValueError:
        raise InvalidArgument("page_token", "page_token is not one this service made") from None


def _signing_key_message(view: SigningKeyView) -> resources_pb2.SigningKey:
    return messages.signing_key(
        view.key,
        replacements_total=view.replacements_total,
        replacements_released=view.replacements_released,
    )
