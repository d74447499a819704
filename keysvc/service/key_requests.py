"""Use cases of key requests: accepting one, and reading it back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain import (
    REISSUE_HOLD_REASON,
    REISSUE_WINDOW,
    reissue_needs_hold,
    require_reissue_entitlement,
)
from keysvc.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from keysvc.persistence.key_request_repository import (
    KeyRequestRecord,
    LicenseRecord,
    active_license_of,
    add_key_request,
    get_key_request,
    get_license,
    open_request_of,
    reissue_times,
    set_state,
)
from keysvc.persistence.signing_key_repository import list_signing_keys
from keysvc.service.closures import current_calendar
from keysvc.service.contracts import require_contract
from keysvc.service.identifiers import new_key_request_id
from keysvc.service.schedules import schedule_at
from keysvc.tokens import Principal, Role
from scheduler.calendar import BusinessCalendar
from signing import LicenseKeyError, LicenseVerifier, fingerprint_hash, normalise_fingerprint
from signing.errors import InvalidFingerprint

KINDS = ("INITIAL", "REISSUE", "SEATS_CHANGE")
# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
# the mail server's call; this catches typos and pasted garbage.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True, slots=True)
class Submission:
    """A SubmitKeyRequest as the client sent it."""

    contract_number: str
    kind: str
    fingerprint: str
    contact_email: str
    previous_license_serial: str
    previous_key: str


def validate_email(field: str, value: str) -> str:
    """The address, or `InvalidArgument` naming `field`."""
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value):
        raise InvalidArgument(field, f"{field} is not an e-mail address", reason="INVALID_EMAIL")
    return value


def submit_key_request(
    connection: Connection,
    submission: Submission,
    principal: Principal,
    now: datetime,
    calendar: BusinessCalendar,
) -> KeyRequestRecord:
    """Validates a request against the contract and stores it PENDING (or HELD).

    The due date and release time come from the business calendar with the
    configured closures; the due date never changes afterwards.
    """
    if submission.kind not in KINDS:
        raise InvalidArgument("kind", "kind must be INITIAL, REISSUE or SEATS_CHANGE")
    if principal.role is Role.MIGRATION and (
        submission.kind != "REISSUE" or not submission.previous_key
    ):
        raise PermissionDenied(
            "the migration tool submits REISSUE requests proving possession with previous_key",
            reason="MIGRATION_REISSUE_ONLY",
            metadata={"role": principal.role.value},
        )
    contract = require_contract(connection, submission.contract_number, for_update=True)
    contact_email = validate_email(
        "contact_email", submission.contact_email or contract.contact_email
    )
    previous = _previous_license(connection, submission, contract.contract_number)
    fingerprint, fph = _fingerprint(submission, previous)
    pending = open_request_of(connection, contract.contract_number)
    if pending is not None:
        raise FailedPrecondition(
            f"contract {contract.contract_number} has a key request waiting: {pending}",
            reason="KEY_REQUEST_PENDING",
            metadata={"key_request_id": pending},
        )
    hold_reason = None
    if submission.kind == "REISSUE":
        require_reissue_entitlement(now, contract.purchase_date, contract.periods)
        earlier = reissue_times(connection, contract.contract_number, now - REISSUE_WINDOW)
        if reissue_needs_hold(earlier, now):
            hold_reason = REISSUE_HOLD_REASON
    elif submission.kind == "INITIAL" and active_license_of(connection, contract.contract_number):
        raise FailedPrecondition(
            f"contract {contract.contract_number} has a key already: ask for a REISSUE",
            reason="LICENSE_ALREADY_ISSUED",
        )
    schedule = schedule_at(current_calendar(connection, calendar), now)
    record = KeyRequestRecord(
        id=new_key_request_id(),
        contract_number=contract.contract_number,
        kind=submission.kind,
        state="HELD" if hold_reason else "PENDING",
        fingerprint=fingerprint,
        fingerprint_hash=fph,
        contact_email=contact_email,
        previous_license_serial=previous.serial if previous else None,
        accepted_at=schedule.accepted_at,
        due_date=schedule.due_date,
        release_at=schedule.release_time,
        released_at=None,
        license_serial=None,
        hold_reason=hold_reason,
        reject_reason=None,
        at_risk=False,
        released_late=False,
    )
    add_key_request(connection, record, created_by=principal.token_id)
    return record


def require_key_request(
    connection: Connection, request_id: str, *, for_update: bool = False
) -> KeyRequestRecord:
    """The request, or `NotFound`."""
    record = get_key_request(connection, request_id, for_update=for_update)
    if record is None:
        raise NotFound(f"keyRequests/{request_id}", reason="KEY_REQUEST_NOT_FOUND")
    return record


def _previous_license(
    connection: Connection, submission: Submission, contract_number: str
) -> LicenseRecord | None:
    """The license a REISSUE or SEATS_CHANGE replaces: named, proven, or the active one."""
    if submission.kind == "INITIAL":
        if submission.previous_license_serial or submission.previous_key:
            field = (
                "previous_license_serial" if submission.previous_license_serial else "previous_key"
            )
            raise InvalidArgument(field, f"an INITIAL request has no {field}")
        return None
    serial = submission.previous_license_serial
    if submission.previous_key:
        serial_from_key = _verified_serial(connection, submission.previous_key)
        if serial and serial != serial_from_key:
            raise InvalidArgument(
                "previous_license_serial",
                "previous_license_serial and previous_key name different licenses",
            )
        serial = serial_from_key
    if not serial:
        if submission.kind == "REISSUE":
            raise InvalidArgument(
                "previous_license_serial",
                "a REISSUE names the license it replaces: previous_license_serial or previous_key",
            )
        serial = ""
    license_ = (
        get_license(connection, serial)
        if serial
        else active_license_of(connection, contract_number)
    )
    field = "previous_key" if submission.previous_key else "previous_license_serial"
    if license_ is None or license_.contract_number != contract_number:
        what = f"license {serial}" if serial else "active license"
        raise FailedPrecondition(
            f"no {what} of contract {contract_number} to replace",
            reason="PREVIOUS_LICENSE_NOT_FOUND",
            metadata={"field": field},
        )
    if license_.status != "ACTIVE":
        raise FailedPrecondition(
            f"license {license_.serial} is {license_.status}, not ACTIVE",
            reason="PREVIOUS_LICENSE_NOT_ACTIVE",
            metadata={"field": field, "license_serial": license_.serial},
        )
    return license_


def _verified_serial(connection: Connection, previous_key: str) -> str:
    verifier = LicenseVerifier(key.verifying_key for key in list_signing_keys(connection))
    try:
        return verifier.verify(previous_key).claims.serial
    except LicenseKeyError as error:
        raise InvalidArgument(
            "previous_key", f"previous_key does not verify: {error}", reason=error.reason
        ) from error


def _fingerprint(submission: Submission, previous: LicenseRecord | None) -> tuple[str | None, str]:
    """The normalised fingerprint and its hash; a SEATS_CHANGE keeps the license's."""
    if submission.kind == "SEATS_CHANGE":
        assert previous is not None, "a SEATS_CHANGE always has a license to replace"
        if submission.fingerprint:
            raise InvalidArgument(
                "fingerprint", "a SEATS_CHANGE keeps the fingerprint of the license it replaces"
            )
        return None, previous.fingerprint_hash
    try:
        fingerprint = normalise_fingerprint(submission.fingerprint)
    except InvalidFingerprint as error:
        raise InvalidArgument("fingerprint", str(error), reason=error.reason) from error
    return fingerprint, fingerprint_hash(fingerprint)


def approve_key_request(connection: Connection, request_id: str) -> KeyRequestRecord:
    """Moves a HELD request to PENDING; it is released at its scheduled time (or at once
    by IssueKeyNow). Approving a request that is PENDING already changes nothing."""
    record = require_key_request(connection, request_id, for_update=True)
    if record.state == "PENDING":
        return record
    if record.state != "HELD":
        raise FailedPrecondition(
            f"key request {request_id} is {record.state}; only HELD requests are approved",
            reason=f"KEY_REQUEST_{record.state}",
        )
    set_state(connection, request_id, "PENDING", hold_reason=record.hold_reason)
    return require_key_request(connection, request_id)


def reject_key_request(connection: Connection, request_id: str, reason: str) -> KeyRequestRecord:
    """Moves a HELD or PENDING request to REJECTED with the staff's reason."""
    record = require_key_request(connection, request_id, for_update=True)
    if record.state not in ("HELD", "PENDING"):
        raise FailedPrecondition(
            f"key request {request_id} is {record.state}; only waiting requests are rejected",
            reason=f"KEY_REQUEST_{record.state}",
        )
    set_state(
        connection, request_id, "REJECTED", reject_reason=reason, hold_reason=record.hold_reason
    )
    return require_key_request(connection, request_id)
