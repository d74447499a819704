"""`AdminService` for the support staff's tools (the admin CLI)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Protocol, TypeVar

import grpc

from keysvc.client.calls import Caller
from keysvc.client.channel import ClientConfig, open_channel
from keysvc.v1 import admin_service_pb2 as admin
from keysvc.v1 import admin_service_pb2_grpc, resources_pb2


class _PagedRequest(Protocol):
    page_token: str


class _PagedResponse(Protocol):
    @property
    def next_page_token(self) -> str: ...


RequestT = TypeVar("RequestT", bound=_PagedRequest)
PageT = TypeVar("PageT", bound=_PagedResponse)


class AdminClient:
    """Typed calls to `keysvc.v1.AdminService`, with the same deadlines, retries and
    request_id handling as `LicenseClient`. Methods take the request message, so
    every filter and field of the API is at hand."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._channel = open_channel(config, interceptors)
        self._stub = admin_service_pb2_grpc.AdminServiceStub(self._channel)
        self._call = Caller(config, sleep)

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def pages(self, list_method: Callable[[RequestT], PageT], request: RequestT) -> Iterator[PageT]:
        """Every page of a list call, following `next_page_token` (sets the request's
        `page_token` as it goes)."""
        while True:
            page = list_method(request)
            yield page
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    # Contracts
    def create_contract(self, request: admin.CreateContractRequest) -> resources_pb2.Contract:
        """Creates a contract with its first support period."""
        return self._call(self._stub.CreateContract, request)

    def get_contract(self, contract_number: str) -> resources_pb2.Contract:
        """A contract with its periods."""
        request = admin.GetContractRequest(contract_number=contract_number)
        return self._call(self._stub.GetContract, request)

    def list_contracts(self, request: admin.ListContractsRequest) -> admin.ListContractsResponse:
        """One page of contracts."""
        return self._call(self._stub.ListContracts, request)

    def renew_contract(self, request: admin.RenewContractRequest) -> resources_pb2.Contract:
        """Adds the next support period (plain renewal or re-continuation)."""
        return self._call(self._stub.RenewContract, request)

    def update_contract(self, request: admin.UpdateContractRequest) -> resources_pb2.Contract:
        """Mends a contract's customer name or contact address (the fields in the
        request's update_mask); waiting requests that took the old address get the new."""
        return self._call(self._stub.UpdateContract, request)

    def add_licenses(self, request: admin.AddLicensesRequest) -> admin.AddLicensesResponse:
        """Raises the seat count and queues a SEATS_CHANGE key request."""
        return self._call(self._stub.AddLicenses, request)

    # Mail
    def list_mail_deliveries(
        self, request: admin.ListMailDeliveriesRequest
    ) -> admin.ListMailDeliveriesResponse:
        """One page of the key e-mails in the outbox, newest first (never their bodies)."""
        return self._call(self._stub.ListMailDeliveries, request)

    # Key requests
    def list_key_requests(
        self, request: admin.ListKeyRequestsRequest
    ) -> admin.ListKeyRequestsResponse:
        """One page of key requests, filtered."""
        return self._call(self._stub.ListKeyRequests, request)

    def approve_key_request(self, request_id: str) -> resources_pb2.KeyRequest:
        """Moves a HELD request to PENDING."""
        return self._call(
            self._stub.ApproveKeyRequest, admin.ApproveKeyRequestRequest(id=request_id)
        )

    def reject_key_request(self, request_id: str, reason: str) -> resources_pb2.KeyRequest:
        """Rejects a waiting request with a reason for the customer."""
        request = admin.RejectKeyRequestRequest(id=request_id, reason=reason)
        return self._call(self._stub.RejectKeyRequest, request)

    def issue_key_now(self, request_id: str) -> resources_pb2.KeyRequest:
        """Releases a PENDING request at once, whatever the calendar says."""
        return self._call(self._stub.IssueKeyNow, admin.IssueKeyNowRequest(id=request_id))

    def resend_key_mail(self, request_id: str, contact_email: str = "") -> resources_pb2.KeyRequest:
        """Queues a released key's e-mail again, to the stored or a corrected address."""
        request = admin.ResendKeyMailRequest(id=request_id, contact_email=contact_email)
        return self._call(self._stub.ResendKeyMail, request)

    def release_due(self, request: admin.ReleaseDueRequest) -> admin.ReleaseDueResponse:
        """Releases every PENDING request due at `as_of` (default now)."""
        return self._call(self._stub.ReleaseDue, request)

    # Licenses
    def get_license(self, serial: str) -> resources_pb2.License:
        """A license with its key text and status."""
        return self._call(self._stub.GetLicense, admin.GetLicenseRequest(serial=serial))

    def list_licenses(self, request: admin.ListLicensesRequest) -> admin.ListLicensesResponse:
        """One page of licenses."""
        return self._call(self._stub.ListLicenses, request)

    def revoke_license(self, serial: str, reason: str) -> resources_pb2.License:
        """Revokes a license."""
        request = admin.RevokeLicenseRequest(serial=serial, reason=reason)
        return self._call(self._stub.RevokeLicense, request)

    def end_reissue_overlap(self, serial: str, reason: str) -> resources_pb2.License:
        """Ends a superseded license's overlap now: its key stops working at once."""
        request = admin.EndReissueOverlapRequest(serial=serial, reason=reason)
        return self._call(self._stub.EndReissueOverlap, request)

    # Calendar
    def add_closure(self, request: admin.AddClosureRequest) -> resources_pb2.Closure:
        """Adds a company closure; waiting requests are rescheduled."""
        return self._call(self._stub.AddClosure, request)

    def list_closures(self, request: admin.ListClosuresRequest) -> admin.ListClosuresResponse:
        """One page of closures."""
        return self._call(self._stub.ListClosures, request)

    def remove_closure(self, closure_id: str) -> resources_pb2.Closure:
        """Removes a closure; waiting requests are rescheduled."""
        return self._call(self._stub.RemoveClosure, admin.RemoveClosureRequest(id=closure_id))

    # Signing keys and audit
    def rotate_signing_key(self) -> resources_pb2.SigningKey:
        """Makes a new active signing key; the old one keeps verifying."""
        return self._call(self._stub.RotateSigningKey, admin.RotateSigningKeyRequest())

    def withdraw_signing_key(self, kid: str, reason: str) -> resources_pb2.SigningKey:
        """Withdraws a retired signing key that may have leaked; its licenses get
        replacement keys (docs/signing-keys.md)."""
        request = admin.WithdrawSigningKeyRequest(kid=kid, reason=reason)
        return self._call(self._stub.WithdrawSigningKey, request)

    def list_all_signing_keys(self) -> admin.ListAllSigningKeysResponse:
        """Every signing key, withdrawn ones included, with the replacements' progress."""
        return self._call(self._stub.ListAllSigningKeys, admin.ListAllSigningKeysRequest())

    def list_audit_events(
        self, request: admin.ListAuditEventsRequest
    ) -> admin.ListAuditEventsResponse:
        """One page of the audit log."""
        return self._call(self._stub.ListAuditEvents, request)

    # Tokens
    def list_tokens(self, request: admin.ListTokensRequest) -> admin.ListTokensResponse:
        """One page of tokens (never their secrets)."""
        return self._call(self._stub.ListTokens, request)

    def revoke_token(self, token_id: str) -> resources_pb2.Token:
        """Revokes a token at once."""
        return self._call(self._stub.RevokeToken, admin.RevokeTokenRequest(id=token_id))
