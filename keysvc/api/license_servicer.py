"""`keysvc.v1.LicenseService` over gRPC.

Servicers validate, call the service layer, and map results; errors are mapped
by the interceptor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from sqlalchemy import Connection

from keysvc.api import messages, validation
from keysvc.api.interceptor import current_principal
from keysvc.api.runner import Runner
from keysvc.domain import jst_date
from keysvc.domain.errors import FailedPrecondition, InvalidArgument, KeysvcError
from keysvc.domain.lifecycle import LicenseStatus
from keysvc.domain.records import LicenseRecord
from keysvc.service.closure_changes import current_calendar
from keysvc.service.key_requests import (
    Accepted,
    Submission,
    Submitted,
    submit_key_requests,
    view_key_request,
)
from keysvc.service.licenses import KeyVerification, verify_license_key
from keysvc.service.mutations import BatchOutcome
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser
from keysvc.service.schedules import schedule_at
from keysvc.service.signing_keys import SigningKeys, jwks_json
from keysvc.service.support import issue_ice_credential, support_on
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc, resources_pb2
from scheduler.calendar import JST, BusinessCalendar
from scheduler.clock import Clock
from signing import normalise_fingerprint
from signing.errors import InvalidFingerprint

Context = grpc.aio.ServicerContext[Any, Any]

_SUBMIT = "/keysvc.v1.LicenseService/SubmitKeyRequest"


class LicenseServicer(license_service_pb2_grpc.LicenseServiceServicer):
    """Key requests, verification, support status and the published keys."""

    def __init__(
        self,
        runner: Runner,
        *,
        clock: Clock,
        calendar: BusinessCalendar,
        signing_keys: SigningKeys,
        mail: MailIdentity,
        turn_secret: bytes | None,
        turn_uris: tuple[str, ...],
        products: ProductCatalogue,
        status_base_url: str | None = None,
    ) -> None:
        self._runner = runner
        self._status_base_url = status_base_url
        self._products = products
        self._clock = clock
        self._calendar = calendar
        self._signing_keys = signing_keys
        self._mail = mail
        self._turn_secret = turn_secret
        self._turn_uris = turn_uris
        self._submissions = runner.batched(resources_pb2.KeyRequest, self._submit_batch)

    async def IssueIceCredentials(
        self, request: license_service_pb2.IssueIceCredentialsRequest, context: Context
    ) -> resources_pb2.IceCredentials:
        """TURN credentials for a covered neo-webconf contract (SPEC section 7)."""
        number = validation.contract_number("contract_number", request.contract_number)
        if self._turn_secret is None:
            raise FailedPrecondition(
                "this keysvc has no TURN secret configured (KEYSVC_TURN_SECRET)",
                reason="ICE_NOT_CONFIGURED",
            )
        secret = self._turn_secret
        now = self._clock.now()

        def issue(connection: Connection) -> resources_pb2.IceCredentials:
            credential = issue_ice_credential(connection, self._products, number, now, secret)
            return resources_pb2.IceCredentials(
                username=credential.username,
                password=credential.password,
                ttl_seconds=credential.ttl_seconds,
                uris=self._turn_uris,
                expire_time=messages.timestamp(credential.expires_at),
            )

        return await self._runner.read(issue)

    async def SubmitKeyRequest(
        self, request: license_service_pb2.SubmitKeyRequestRequest, context: Context
    ) -> resources_pb2.KeyRequest:
        """Accepts a key request and schedules its release by the business calendar;
        a request due already (same day, before the cutoff) is released in the same
        transaction and answered with its key."""
        kind = messages.key_request_kind(request.kind)
        submission = Submission(
            contract_number=validation.contract_number("contract_number", request.contract_number),
            kind=kind,
            fingerprint=request.fingerprint,
            contact_email=request.contact_email,
            previous_license_serial=request.previous_license_serial,
            previous_key=request.previous_key,
        )
        return await self._submissions.change(
            _SUBMIT,
            request,
            f"contracts/{submission.contract_number}",
            Submitted(submission, current_principal()),
            # One contract's calls are decided one after the other, each seeing the
            # last one's release, as when they come a moment apart.
            group=submission.contract_number,
        )

    def _submit_batch(
        self, connection: Connection, submitted: list[Submitted]
    ) -> list[BatchOutcome[resources_pb2.KeyRequest]]:
        """Accepts a batch of submissions and releases at once those due already."""
        outcomes = submit_key_requests(
            connection,
            submitted,
            self._clock.now(),
            self._calendar,
            lambda: Releaser(
                self._signing_keys.key_ring(connection),
                self._mail,
                self._calendar,
                self._status_base_url,
            ),
        )
        return [
            outcome
            if isinstance(outcome, KeysvcError)
            else (_answer(outcome), f"keyRequests/{outcome.request.id}")
            for outcome in outcomes
        ]

    async def GetKeyRequest(
        self, request: license_service_pb2.GetKeyRequestRequest, context: Context
    ) -> resources_pb2.KeyRequest:
        """The request, with its key once released; a migration token's own only."""
        request_id = validation.required_text("id", request.id, max_length=64)
        principal = current_principal()

        def read(connection: Connection) -> resources_pb2.KeyRequest:
            view = view_key_request(connection, request_id, principal)
            return messages.key_request(
                view.request, view.license_key, view.mail_state, view.previous_supersede_at
            )

        return await self._runner.read(read)

    async def VerifyLicenseKey(
        self, request: license_service_pb2.VerifyLicenseKeyRequest, context: Context
    ) -> license_service_pb2.VerifyLicenseKeyResponse:
        """Verifies a key with the published keys and reports its license's current status.

        `valid` is about the key itself (format, signature, fingerprint); a
        superseded or revoked license's key is still valid, and `license_status`
        says what became of it.
        """
        if not request.license_key.strip():
            raise InvalidArgument("license_key", "license_key is required")
        fingerprint = None
        if request.fingerprint:
            try:
                fingerprint = normalise_fingerprint(request.fingerprint)
            except InvalidFingerprint as error:
                raise InvalidArgument("fingerprint", str(error), reason=error.reason) from error

        def verify(connection: Connection) -> license_service_pb2.VerifyLicenseKeyResponse:
            verification = verify_license_key(connection, request.license_key, fingerprint)
            return _verification(verification, self._clock.now())

        return await self._runner.read(verify)

    async def GetSupportStatus(
        self, request: license_service_pb2.GetSupportStatusRequest, context: Context
    ) -> resources_pb2.SupportStatus:
        """Coverage of a contract on a day (default today in JST)."""
        number = validation.contract_number("contract_number", request.contract_number)
        day = validation.optional_date("date", request.date) or jst_date(
            self._clock.now(), field="now"
        )

        def read(connection: Connection) -> resources_pb2.SupportStatus:
            support = support_on(connection, self._products, number, day)
            period = support.coverage.period
            return resources_pb2.SupportStatus(
                contract_number=number,
                date=day.isoformat(),
                covered=support.coverage.covered,
                coverage_start=support.contract.coverage_start.isoformat(),
                period_start=period.start.isoformat() if period else "",
                period_end=period.end.isoformat() if period else "",
                ice_entitled=support.ice_entitled,
                product_code=support.contract.product_code,
            )

        return await self._runner.read(read)

    async def PreviewRelease(
        self, request: license_service_pb2.PreviewReleaseRequest, context: Context
    ) -> license_service_pb2.PreviewReleaseResponse:
        """The due date and release time of a request accepted at an instant (default now)."""
        given = request.HasField("accept_time")
        if given:
            accept = validation.instant("accept_time", request.accept_time)
        else:
            accept = self._clock.now()
        calendar = await self._runner.read(
            lambda connection: current_calendar(connection, self._calendar)
        )
        schedule = schedule_at(calendar, accept, field="accept_time" if given else None)
        return license_service_pb2.PreviewReleaseResponse(
            due_date=schedule.due_date.isoformat(),
            release_time=messages.timestamp(schedule.release_time),
            same_day=schedule.same_day,
        )

    async def ListSigningKeys(
        self, request: license_service_pb2.ListSigningKeysRequest, context: Context
    ) -> license_service_pb2.ListSigningKeysResponse:
        """The JWKS of every published key, active first, and each key's state."""
        keys = await self._runner.read(SigningKeys.published)
        return license_service_pb2.ListSigningKeysResponse(
            jwks_json=jwks_json(keys, self._signing_keys.alg),
            signing_keys=[messages.signing_key(key) for key in keys],
        )


def _answer(accepted: Accepted) -> resources_pb2.KeyRequest:
    """The KeyRequest of an accepted submission, with its key when released at once."""
    if accepted.license is None:
        return messages.key_request(accepted.request)
    return messages.key_request(
        accepted.request,
        license_key=accepted.license.license_key,
        mail_state="QUEUED",
        previous_supersede_at=accepted.previous_supersede_at,
    )


def _verification(
    verification: KeyVerification, now: datetime
) -> license_service_pb2.VerifyLicenseKeyResponse:
    """The answer to VerifyLicenseKey: the key's refusal, or its claims and its license,
    led by the verdict a person needs."""
    if verification.error is not None:
        return license_service_pb2.VerifyLicenseKeyResponse(
            valid=False, reason=verification.error.reason, message=str(verification.error)
        )
    verified, license_ = verification.verified, verification.license
    assert verified is not None, "a key not refused is verified"
    claims = verified.claims
    if license_ is None:
        return license_service_pb2.VerifyLicenseKeyResponse(
            valid=False,
            reason="LICENSE_NOT_FOUND",
            license_serial=claims.serial,
            message="signed by our key, but no such license is on record",
        )
    return license_service_pb2.VerifyLicenseKeyResponse(
        valid=True,
        license_serial=claims.serial,
        license_status=messages.license_status(license_.status),
        product_code=claims.product_code,
        contract_number=claims.contract_number,
        seats=claims.seats,
        generation=claims.generation,
        kid=verified.kid,
        support_end=claims.support_end.isoformat(),
        issue_time=messages.timestamp(license_.issued_at),
        message=_verdict(license_, now),
        supersede_time=messages.timestamp(license_.supersede_at),
        in_force=_in_force(license_, now),
    )


def _in_force(license_: LicenseRecord, now: datetime) -> bool:
    """Whether a genuine key of `license_` works at `now`."""
    if license_.status == LicenseStatus.ACTIVE:
        return True
    return (
        license_.status == LicenseStatus.SUPERSEDED
        and license_.supersede_at is not None
        and now < license_.supersede_at
    )


def _verdict(license_: LicenseRecord, now: datetime) -> str:
    """What a person needs to hear of a genuine key first."""
    if license_.status == LicenseStatus.REVOKED:
        return "revoked: the key no longer works"
    if license_.status == LicenseStatus.ACTIVE:
        return "valid: the key of the license in force"
    if license_.supersede_at is None:
        return "superseded: the key no longer works"
    when = f"{license_.supersede_at.astimezone(JST):%Y-%m-%d %H:%M} JST"
    if _in_force(license_, now):
        return f"superseded: the key still works until {when} (the re-issue's overlap)"
    return f"superseded: the key no longer works since {when}"
