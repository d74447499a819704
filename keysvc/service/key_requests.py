"""Use cases of key requests: accepting one, and reading it back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain import (
    REISSUE_HOLD_REASON,
    REISSUE_WINDOW,
    reissue_needs_hold,
    require_reissue_entitlement,
)
from keysvc.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    KeysvcError,
    NotFound,
    PermissionDenied,
)
from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState, LicenseStatus, can_move
from keysvc.domain.records import ContractRecord, KeyRequestRecord, LicenseRecord
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.contract_repository import get_contracts
from keysvc.persistence.key_request_repository import (
    active_license_of,
    active_licenses_for_update,
    add_key_requests,
    get_key_request,
    get_key_request_created_by,
    get_license,
    get_licenses,
    open_request_of,
    open_requests_of,
    reissue_times_of,
    set_state,
)
from keysvc.persistence.outbox_repository import delivery_state
from keysvc.persistence.signing_key_repository import list_signing_keys
from keysvc.service.addresses import stored_address, validate_email
from keysvc.service.closure_changes import current_calendar
from keysvc.service.contracts import contract_not_found, require_contract
from keysvc.service.identifiers import new_key_request_id
from keysvc.service.release import (
    LockedContracts,
    Releaser,
    as_released,
    is_due,
    release,
    release_if_due,
)
from keysvc.service.schedules import schedule_at
from scheduler.calendar import BusinessCalendar, Schedule
from signing import LicenseKeyError, LicenseVerifier, fingerprint_hash, normalise_fingerprint
from signing.errors import InvalidFingerprint

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submission:
    """A SubmitKeyRequest as the client sent it."""

    contract_number: str
    kind: KeyRequestKind
    fingerprint: str
    contact_email: str
    previous_license_serial: str
    previous_key: str


@dataclass(frozen=True, slots=True)
class Submitted:
    """A submission and who sent it: one call of a batch."""

    submission: Submission
    principal: Principal


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
    (outcome,) = submit_key_requests(connection, [Submitted(submission, principal)], now, calendar)
    if isinstance(outcome, KeysvcError):
        raise outcome
    return outcome.request


@dataclass(frozen=True, slots=True)
class Accepted:
    """A submission accepted: its request as stored, and its license when released at once."""

    request: KeyRequestRecord
    license: LicenseRecord | None = None
    # Until when the key it superseded keeps working, when released at once.
    previous_supersede_at: datetime | None = None


def submit_key_requests(
    connection: Connection,
    submitted: Sequence[Submitted],
    now: datetime,
    calendar: BusinessCalendar,
    releaser: Callable[[], Releaser] | None = None,
) -> list[Accepted | KeysvcError]:
    """Decides submissions as if one after the other, and stores the accepted ones;
    with a `releaser` (asked for only when one is due), those due already (same day,
    before the cutoff) are released at once, in this transaction (`release_if_due`).

    Each is answered with what was stored, or with the error that refused it
    (nothing is written for a refused one). What the decisions need is read
    first, with a few queries for the whole batch, and the accepted requests
    are written with one statement: a batch costs little more than one request.
    The contracts stay locked (PostgreSQL) until the transaction ends.
    """
    facts = _Facts.read(connection, submitted, now)
    schedule: Schedule | KeysvcError
    try:
        schedule = schedule_at(current_calendar(connection, calendar), now)
    except KeysvcError as error:  # refuses each submission, after its own checks
        schedule = error
    outcomes: list[KeyRequestRecord | KeysvcError] = []
    accepted: list[tuple[KeyRequestRecord, str]] = []
    for index, item in enumerate(submitted):
        try:
            record = _accept(item, facts.for_call(index), schedule, now)
        except KeysvcError as error:
            outcomes.append(error)
            continue
        # A later submission of the same contract in this batch sees this one waiting.
        facts.open_requests[record.contract_number] = record.id
        outcomes.append(record)
        accepted.append((record, item.principal.token_id))
    add_key_requests(connection, accepted)
    licenses: dict[str, LicenseRecord] = {}
    released: dict[str, KeyRequestRecord] = {}
    due = [record for record, _ in accepted if is_due(record, now)]
    if releaser is not None and due:
        locked = LockedContracts(facts.contracts, facts.active_licenses)
        licenses = release_if_due(connection, due, releaser(), now, locked=locked)
        released = {
            record.id: as_released(record, licenses[record.id])
            for record in due
            if record.id in licenses
        }
    superseded = get_licenses(
        connection,
        [
            record.previous_license_serial
            for record in released.values()
            if record.previous_license_serial is not None
        ],
    )
    return [
        outcome
        if isinstance(outcome, KeysvcError)
        else Accepted(
            released.get(outcome.id, outcome),
            licenses.get(outcome.id),
            _supersede_at(superseded, released.get(outcome.id)),
        )
        for outcome in outcomes
    ]


def _supersede_at(
    superseded: dict[str, LicenseRecord], request: KeyRequestRecord | None
) -> datetime | None:
    """When the key a request released at once superseded stops working, if it did."""
    if request is None or request.previous_license_serial is None:
        return None
    return superseded[request.previous_license_serial].supersede_at


@dataclass(slots=True)
class _Facts:
    """What the submissions of a batch are decided on, read with one query per kind."""

    contracts: dict[str, ContractRecord]
    open_requests: dict[str, str]
    active_licenses: dict[str, LicenseRecord]
    named_licenses: dict[str, LicenseRecord]
    reissue_times: dict[str, list[datetime]]
    # The serial each previous_key proves, or why it proves none, by call.
    proven_serials: dict[int, str | KeysvcError]

    @classmethod
    def read(cls, connection: Connection, submitted: Sequence[Submitted], now: datetime) -> _Facts:
        submissions = [item.submission for item in submitted]
        numbers = sorted({submission.contract_number for submission in submissions})
        proven = _proven_serials(connection, submissions)
        serials = {s.previous_license_serial for s in submissions if s.previous_license_serial}
        serials.update(serial for serial in proven.values() if isinstance(serial, str))
        reissued = sorted(
            {s.contract_number for s in submissions if s.kind == KeyRequestKind.REISSUE}
        )
        return cls(
            contracts=get_contracts(connection, numbers, for_update=True),
            open_requests=open_requests_of(connection, numbers),
            active_licenses=active_licenses_for_update(connection, numbers),
            named_licenses=get_licenses(connection, sorted(serials)),
            reissue_times=reissue_times_of(connection, reissued, now - REISSUE_WINDOW),
            proven_serials=proven,
        )

    def for_call(self, index: int) -> _CallFacts:
        """The facts as one call of the batch sees them."""
        return _CallFacts(self, self.proven_serials.get(index))


@dataclass(frozen=True, slots=True)
class _CallFacts:
    batch: _Facts
    proven_serial: str | KeysvcError | None


def _proven_serials(
    connection: Connection, submissions: Sequence[Submission]
) -> dict[int, str | KeysvcError]:
    """The license serial in each previous_key that verifies with our keys, or the
    error saying why it does not."""
    with_keys = [index for index, s in enumerate(submissions) if s.previous_key]
    if not with_keys:
        return {}
    verifier = LicenseVerifier(key.verifying_key for key in list_signing_keys(connection))
    proven: dict[int, str | KeysvcError] = {}
    for index in with_keys:
        try:
            proven[index] = verifier.verify(submissions[index].previous_key).claims.serial
        except LicenseKeyError as error:
            proven[index] = InvalidArgument(
                "previous_key", f"previous_key does not verify: {error}", reason=error.reason
            )
    return proven


def _accept(
    item: Submitted, facts: _CallFacts, schedule: Schedule | KeysvcError, now: datetime
) -> KeyRequestRecord:
    """The request to store for one submission, or the error that refuses it."""
    submission, principal = item.submission, item.principal
    if principal.role is Role.MIGRATION and (
        submission.kind != KeyRequestKind.REISSUE or not submission.previous_key
    ):
        raise PermissionDenied(
            "the migration tool submits REISSUE requests proving possession with previous_key",
            reason="MIGRATION_REISSUE_ONLY",
            metadata={"role": principal.role.value},
        )
    contract = facts.batch.contracts.get(submission.contract_number)
    if contract is None:
        raise contract_not_found(submission.contract_number)
    number = contract.contract_number
    # The contract's address when the caller gives none: not the caller's argument,
    # so one stored before addresses were checked as now is a precondition, not bad input.
    contact_email = (
        validate_email("contact_email", submission.contact_email)
        if submission.contact_email
        else stored_address(
            contract.contact_email, f"contracts/{number}", {"contract_number": number}
        )
    )
    previous = _previous_license(submission, number, facts)
    fingerprint, fph = _fingerprint(submission, previous)
    pending = facts.batch.open_requests.get(number)
    if pending is not None:
        raise FailedPrecondition(
            f"contract {number} has a key request waiting: {pending}",
            reason="KEY_REQUEST_PENDING",
            metadata={"key_request_id": pending},
        )
    hold_reason = None
    if submission.kind == KeyRequestKind.REISSUE:
        require_reissue_entitlement(now, contract.purchase_date, contract.periods)
        if reissue_needs_hold(facts.batch.reissue_times.get(number, []), now):
            hold_reason = REISSUE_HOLD_REASON
    elif submission.kind == KeyRequestKind.INITIAL and number in facts.batch.active_licenses:
        raise FailedPrecondition(
            f"contract {number} has a key already: ask for a REISSUE",
            reason="LICENSE_ALREADY_ISSUED",
        )
    if isinstance(schedule, KeysvcError):
        raise schedule
    return KeyRequestRecord(
        id=new_key_request_id(),
        contract_number=number,
        # The API passes a member; a plain string from elsewhere is made one here.
        kind=KeyRequestKind(submission.kind),
        state=KeyRequestState.HELD if hold_reason else KeyRequestState.PENDING,
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


def require_key_request(
    connection: Connection, request_id: str, *, for_update: bool = False
) -> KeyRequestRecord:
    """The request, or `NotFound`."""
    record = get_key_request(connection, request_id, for_update=for_update)
    if record is None:
        raise _key_request_not_found(request_id)
    return record


def require_key_request_for(
    connection: Connection, request_id: str, principal: Principal
) -> KeyRequestRecord:
    """The request as `principal` may read it, or `NotFound`.

    A migration token reads only the requests it submitted: they carry the
    customer's license key and contact address, and the tool only follows its
    own. Another's request is answered exactly as a missing one, so ids cannot
    be probed. The site and admin roles read every request.
    """
    if principal.role is not Role.MIGRATION:
        return require_key_request(connection, request_id)
    record = get_key_request_created_by(connection, request_id, principal.token_id)
    if record is None:
        raise _key_request_not_found(request_id)
    return record


@dataclass(frozen=True, slots=True)
class KeyRequestView:
    """A request as its reader sees it: with its key once released, and the delivery
    state of its e-mail (None before one is queued)."""

    request: KeyRequestRecord
    license_key: str
    mail_state: str | None
    # Once released: until when the key of the license it replaced keeps working.
    previous_supersede_at: datetime | None


def view_key_request(
    connection: Connection, request_id: str, principal: Principal
) -> KeyRequestView:
    """The request as `principal` may read it (`require_key_request_for`), with its key."""
    return _view(connection, require_key_request_for(connection, request_id, principal))


def issue_key_now(
    connection: Connection, request_id: str, releaser: Releaser, now: datetime
) -> KeyRequestView:
    """Releases a PENDING request at once, bypassing the calendar (IssueKeyNow); one
    released already is answered as it is, so a retry is harmless."""
    record = require_key_request(connection, request_id, for_update=True)
    if record.state != KeyRequestState.RELEASED:
        release(connection, record, releaser, now)
        record = require_key_request(connection, request_id)
    return _view(connection, record)


def _view(connection: Connection, record: KeyRequestRecord) -> KeyRequestView:
    license_ = get_license(connection, record.license_serial) if record.license_serial else None
    previous = (
        get_license(connection, record.previous_license_serial)
        if license_ is not None and record.previous_license_serial
        else None
    )
    return KeyRequestView(
        record,
        license_.license_key if license_ else "",
        delivery_state(connection, record.id),
        previous.supersede_at if previous else None,
    )


def _key_request_not_found(request_id: str) -> NotFound:
    return NotFound(f"keyRequests/{request_id}", reason="KEY_REQUEST_NOT_FOUND")


def _previous_license(
    submission: Submission, contract_number: str, facts: _CallFacts
) -> LicenseRecord | None:
    """The license a REISSUE or SEATS_CHANGE replaces: named, proven, or the active one."""
    if submission.kind == KeyRequestKind.INITIAL:
        if submission.previous_license_serial or submission.previous_key:
            field = (
                "previous_license_serial" if submission.previous_license_serial else "previous_key"
            )
            raise InvalidArgument(field, f"an INITIAL request has no {field}")
        return None
    serial = submission.previous_license_serial
    if submission.previous_key:
        serial_from_key = facts.proven_serial
        if isinstance(serial_from_key, KeysvcError):
            raise serial_from_key
        assert serial_from_key is not None, "every previous_key is verified with the batch"
        if serial and serial != serial_from_key:
            raise InvalidArgument(
                "previous_license_serial",
                "previous_license_serial and previous_key name different licenses",
            )
        serial = serial_from_key
    if not serial and submission.kind == KeyRequestKind.REISSUE:
        raise InvalidArgument(
            "previous_license_serial",
            "a REISSUE names the license it replaces: previous_license_serial or previous_key",
        )
    license_ = (
        facts.batch.named_licenses.get(serial)
        if serial
        else facts.batch.active_licenses.get(contract_number)
    )
    field = "previous_key" if submission.previous_key else "previous_license_serial"
    if license_ is None or license_.contract_number != contract_number:
        what = f"license {serial}" if serial else "active license"
        raise FailedPrecondition(
            f"no {what} of contract {contract_number} to replace",
            reason="PREVIOUS_LICENSE_NOT_FOUND",
            metadata={"field": field},
        )
    if license_.status != LicenseStatus.ACTIVE:
        raise FailedPrecondition(
            f"license {license_.serial} is {license_.status}, not ACTIVE",
            reason="PREVIOUS_LICENSE_NOT_ACTIVE",
            metadata={"field": field, "license_serial": license_.serial},
        )
    return license_


def _fingerprint(submission: Submission, previous: LicenseRecord | None) -> tuple[str | None, str]:
    """The normalised fingerprint and its hash; a SEATS_CHANGE keeps the license's."""
    if submission.kind == KeyRequestKind.SEATS_CHANGE:
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
    if record.state == KeyRequestState.PENDING:
        return record
    if not can_move(record.state, KeyRequestState.PENDING):
        raise FailedPrecondition(
            f"key request {request_id} is {record.state}; only HELD requests are approved",
            reason=f"KEY_REQUEST_{record.state}",
        )
    set_state(connection, request_id, KeyRequestState.PENDING, hold_reason=record.hold_reason)
    return require_key_request(connection, request_id)


def reject_key_request(
    connection: Connection,
    request_id: str,
    reason: str,
    *,
    principal: Principal,
    now: datetime,
    calendar: BusinessCalendar,
) -> KeyRequestRecord:
    """Moves a HELD or PENDING request to REJECTED with the staff's reason.

    Licenses added while it waited were left for it to carry (see
    `queue_seats_change`), so rejecting an INITIAL or REISSUE queues their
    SEATS_CHANGE now, in the same transaction. Rejecting a SEATS_CHANGE is the
    staff's decision about the seat change itself, and queues nothing.
    """
    record = require_key_request(connection, request_id, for_update=True)
    if not can_move(record.state, KeyRequestState.REJECTED):
        raise FailedPrecondition(
            f"key request {request_id} is {record.state}; only waiting requests are rejected",
            reason=f"KEY_REQUEST_{record.state}",
        )
    set_state(
        connection,
        request_id,
        KeyRequestState.REJECTED,
        reject_reason=reason,
        hold_reason=record.hold_reason,
    )
    if record.kind != KeyRequestKind.SEATS_CHANGE:
        queued = queue_seats_change(connection, record.contract_number, principal, now, calendar)
        if queued is not None:
            logger.info(
                "seats change queued in place of a rejected request",
                extra={"key_request_id": queued.id, "rejected_id": request_id},
            )
    return require_key_request(connection, request_id)


def queue_seats_change(
    connection: Connection,
    contract_number: str,
    principal: Principal,
    now: datetime,
    calendar: BusinessCalendar,
) -> KeyRequestRecord | None:
    """Queues a SEATS_CHANGE on the ACTIVE license's server when its seat count is not
    the contract's; returns it, or None when nothing is queued.

    Nothing is queued without an ACTIVE license, nor while a request is waiting:
    a release always signs the contract's seat count at that time, so the
    waiting request carries the new count.
    """
    contract = require_contract(connection, contract_number, for_update=True)
    active = active_license_of(connection, contract_number)
    if active is None or active.seats == contract.seats:
        return None
    if open_request_of(connection, contract_number) is not None:
        return None
    return submit_key_request(
        connection,
        Submission(contract_number, KeyRequestKind.SEATS_CHANGE, "", "", "", ""),
        principal,
        now,
        calendar,
    )
