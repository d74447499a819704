"""Releasing a key request: sign the key, store the license, supersede, queue the e-mail.

One path for every release — IssueKeyNow, ReleaseDue and the scheduler loop —
inside the caller's transaction, so a release is all or nothing: the database
admits one license per request and one ACTIVE license per contract, so a
request can never be released twice nor leave two active licenses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Connection

from keysvc.domain import jst_date, policy_for, support_end_for
from keysvc.domain.errors import FailedPrecondition, KeysvcError
from keysvc.domain.lifecycle import (
    KeyRequestKind,
    KeyRequestState,
    LicenseStatus,
    can_move,
    is_late,
)
from keysvc.domain.records import ContractRecord, KeyRequestRecord, LicenseRecord
from keysvc.mail import ComposedMail, compose_license_mail
from keysvc.persistence.contract_repository import (
    get_contracts,
    product_display_names,
    product_policy_names,
)
from keysvc.persistence.key_request_repository import (
    active_licenses_for_update,
    add_licenses,
    claim_due,
    last_generations,
    link_successors,
    mark_released,
    retarget_open_requests,
    set_state,
    supersede,
)
from keysvc.persistence.outbox_repository import queue_mails
from keysvc.service.addresses import stored_address
from keysvc.service.closure_changes import current_calendar
from keysvc.service.contracts import contract_not_found
from keysvc.service.identifiers import new_license_serials
from keysvc.service.status_allocation import StatusEntry, allocate_entries
from scheduler.calendar import BusinessCalendar
from signing import KeyRing, LicenseClaims

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MailIdentity:
    """Who the key e-mails come from, and the domain of their Message-IDs."""

    sender: str
    message_id_domain: str


@dataclass(frozen=True, slots=True)
class Releaser:
    """What a release needs besides the database: the signing keys, the mail identity
    and the business calendar."""

    key_ring: KeyRing
    mail: MailIdentity
    # The configured calendar; the closures stored in the database are added to it
    # when a re-issue's overlap is computed.
    calendar: BusinessCalendar
    # The public base of the status lists' URIs (KEYSVC_STATUS_BASE_URL); None: the keys
    # issued carry no status claim.
    status_base_url: str | None = None


@dataclass(frozen=True, slots=True)
class LockedContracts:
    """Contracts read and locked in the current transaction (PostgreSQL), with their
    ACTIVE licenses, also locked."""

    contracts: Mapping[str, ContractRecord]
    active_licenses: Mapping[str, LicenseRecord]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request that could not be released, and why."""

    request: KeyRequestRecord
    error: KeysvcError


def release(
    connection: Connection, request: KeyRequestRecord, releaser: Releaser, now: datetime
) -> LicenseRecord:
    """Releases one PENDING request (locked by the caller); raises why if it cannot be."""
    released, refused = release_batch(connection, [request], releaser, now)
    if refused:
        raise refused[0].error
    return released[0]


def release_batch(
    connection: Connection,
    requests: list[KeyRequestRecord],
    releaser: Releaser,
    now: datetime,
    *,
    locked: LockedContracts | None = None,
    contain_failures: bool = False,
) -> tuple[list[LicenseRecord], list[Refusal]]:
    """Signs and stores the licenses of PENDING requests (locked by the caller),
    supersedes the licenses they replace, and queues their e-mails, in the
    caller's transaction. Returns the licenses made and the requests refused,
    with nothing written for those. `locked` is what the caller has read and
    locked of the requests' contracts in this transaction already.

    Everything is read first and decided in Python, then written with one
    statement per kind of change, whatever the number of requests: the cost
    of a release is signing and composing, not round trips. Requests of one
    contract are decided in the order they were accepted, each seeing the result
    of the one before, as if released one by one (the claim's order is the
    release time's, which ties for every request scheduled at one opening).

    With `contain_failures`, a request whose release fails unexpectedly while it
    is decided (a bug, bad data: composing its e-mail, say) is logged with the
    exception and refused as ``RELEASE_FAILED``, and the others go out: nothing
    is written before every request is decided, so no savepoint is needed.
    Otherwise the exception propagates.
    """
    numbers = sorted({request.contract_number for request in requests})
    if locked is None:
        locked = LockedContracts(
            get_contracts(connection, numbers, for_update=True),
            active_licenses_for_update(connection, numbers),
        )
    contracts = locked.contracts
    active = dict(locked.active_licenses)
    generations = last_generations(connection, numbers)
    product_names = product_display_names(connection)
    overlap_ends = _OverlapEnds(connection, releaser.calendar, now)
    today = jst_date(now, field="now")
    serials = iter(new_license_serials(today.year, len(requests)))
    # Handed out before the requests are decided, one each: a refused request's entry
    # stays unused, which costs nothing (entries are never reused anyway).
    entries = iter(
        allocate_entries(connection, releaser.status_base_url, len(requests), now)
        if releaser.status_base_url is not None
        else [None] * len(requests)
    )
    plans: list[_Plan] = []
    refusals: list[Refusal] = []
    for request in sorted(requests, key=_acceptance_order):
        try:
            plan = _plan(
                request,
                contract=contracts.get(request.contract_number),
                active=active.get(request.contract_number),
                last_generation=generations.get(request.contract_number, 0),
                product_names=product_names,
                overlap_ends=overlap_ends,
                releaser=releaser,
                now=now,
                today=today,
                serial=next(serials),
                status=next(entries),
            )
        except KeysvcError as error:
            refusals.append(Refusal(request, error))
            continue
        except Exception as error:
            if not contain_failures:
                raise
            # Otherwise one request would fail its whole batch, and the same oldest ones
            # would be claimed again and again, starving the rest.
            logger.exception("releasing a key request failed", extra={"key_request_id": request.id})
            failure = KeysvcError(
                f"release failed: {type(error).__name__}", reason="RELEASE_FAILED"
            )
            refusals.append(Refusal(request, failure))
            continue
        plans.append(plan)
        active[request.contract_number] = plan.license
        generations[request.contract_number] = plan.license.generation
    successors = {
        plan.request.previous_license_serial: plan.license.serial
        for plan in plans
        if plan.request.previous_license_serial is not None
    }
    supersede(
        connection,
        {
            plan.request.previous_license_serial: plan.previous_valid_until or now
            for plan in plans
            if plan.request.previous_license_serial is not None
        },
    )
    add_licenses(connection, [plan.license for plan in plans])
    link_successors(connection, successors)
    # One statement for the batch, two when it holds late and timely requests alike.
    for late in (False, True):
        released = [p.request.id for p in plans if is_late(p.request.due_date, today) is late]
        mark_released(connection, released, released_at=now, late=late)
    # A re-issue or seats change waiting for a license a replacement has just superseded
    # moves to the replacement; a waiting replacement is not moved (it is rejected when
    # its turn comes: what it would replace is gone).
    retarget_open_requests(
        connection,
        {
            plan.request.previous_license_serial: plan.license.serial
            for plan in plans
            if plan.request.kind == KeyRequestKind.REPLACEMENT
            and plan.request.previous_license_serial is not None
        },
    )
    queue_mails(connection, {plan.request.id: plan.mail for plan in plans}, now)
    return [plan.license for plan in plans], refusals


def _acceptance_order(request: KeyRequestRecord) -> tuple[datetime, str]:
    return (request.accepted_at, request.id)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One request's release, decided and signed, not yet written."""

    request: KeyRequestRecord
    license: LicenseRecord
    mail: ComposedMail
    # Until when the license it supersedes keeps working (None: no previous license).
    previous_valid_until: datetime | None


class _OverlapEnds:
    """When a batch's superseded keys stop working, by product: at the release, or for
    a REISSUE at the end of its product's overlap (SPEC section 5a). The policies and
    the stored closures are read once per batch, and only for a batch that needs them."""

    def __init__(self, connection: Connection, calendar: BusinessCalendar, now: datetime) -> None:
        self._connection = connection
        self._calendar = calendar
        self._now = now
        self._policies: dict[str, str] | None = None
        self._ends: dict[str, datetime] = {}

    def of(self, request: KeyRequestRecord, product_code: str) -> datetime | None:
        """Until when the license `request` supersedes keeps working; None without one."""
        if request.previous_license_serial is None:
            return None
        if request.kind != KeyRequestKind.REISSUE:
            return self._now
        if product_code not in self._ends:
            if self._policies is None:
                self._policies = product_policy_names(self._connection)
                self._calendar = current_calendar(self._connection, self._calendar)
            days = policy_for(self._policies[product_code]).reissue_overlap_business_days
            self._ends[product_code] = self._calendar.opening_after_business_days(self._now, days)
        return self._ends[product_code]


def _plan(
    request: KeyRequestRecord,
    *,
    contract: ContractRecord | None,
    active: LicenseRecord | None,
    last_generation: int,
    product_names: dict[str, str],
    overlap_ends: _OverlapEnds,
    releaser: Releaser,
    now: datetime,
    today: date,
    serial: str,
    status: StatusEntry | None,
) -> _Plan:
    if not can_move(request.state, KeyRequestState.RELEASED):
        raise FailedPrecondition(
            f"key request {request.id} is {request.state}, only PENDING requests are released",
            reason=f"KEY_REQUEST_{request.state}",
            metadata={"key_request_id": request.id},
        )
    if contract is None:
        raise contract_not_found(request.contract_number)
    if request.previous_license_serial is not None:
        if active is None or active.serial != request.previous_license_serial:
            raise FailedPrecondition(
                f"license {request.previous_license_serial} is no longer ACTIVE",
                reason="PREVIOUS_LICENSE_NOT_ACTIVE",
                metadata={"license_serial": request.previous_license_serial},
            )
    elif active is not None:
        raise FailedPrecondition(
            f"contract {contract.contract_number} has an active key already",
            reason="LICENSE_ALREADY_ISSUED",
        )
    previous_valid_until = overlap_ends.of(request, contract.product_code)
    # Checked before signing: an address stored before addresses were checked as
    # now is a state staff must see (HELD, or IssueKeyNow refused), not a failure.
    recipient = stored_address(
        request.contact_email,
        f"key_requests/{request.id}",
        {"key_request_id": request.id, "contract_number": contract.contract_number},
    )
    claims = LicenseClaims(
        serial=serial,
        issued_at=int(now.timestamp()),
        product_code=contract.product_code,
        contract_number=contract.contract_number,
        seats=contract.seats,
        generation=last_generation + 1,
        fingerprint_hash=request.fingerprint_hash,
        support_end=support_end_for(today, contract.periods),
        status=None if status is None else status.reference,
    )
    license_ = LicenseRecord(
        serial=claims.serial,
        contract_number=contract.contract_number,
        key_request_id=request.id,
        status=LicenseStatus.ACTIVE,
        seats=claims.seats,
        generation=claims.generation,
        fingerprint_hash=claims.fingerprint_hash,
        kid=releaser.key_ring.active.kid,
        issued_at=now,
        support_end=claims.support_end,
        license_key=releaser.key_ring.sign_license(claims),
        superseded_by=None,
        revoke_reason=None,
        status_list=None if status is None else status.list_number,
        status_index=None if status is None else status.reference.index,
    )
    mail = compose_license_mail(
        key_request_id=request.id,
        recipient=recipient,
        customer_name=contract.customer_name,
        contract_number=contract.contract_number,
        product_name=product_names[contract.product_code],
        license_serial=license_.serial,
        license_key=license_.license_key,
        generation=license_.generation,
        support_end=license_.support_end,
        kind=request.kind,
        issued_at=now,
        sender=releaser.mail.sender,
        message_id_domain=releaser.mail.message_id_domain,
        previous_key_valid_until=previous_valid_until,
    )
    return _Plan(request, license_, mail, previous_valid_until)


def as_released(request: KeyRequestRecord, license_: LicenseRecord) -> KeyRequestRecord:
    """The request as `release_batch` has just recorded it, released into `license_`."""
    return replace(
        request,
        state=KeyRequestState.RELEASED,
        released_at=license_.issued_at,
        license_serial=license_.serial,
        released_late=is_late(request.due_date, jst_date(license_.issued_at, field="now")),
    )


def release_if_due(
    connection: Connection,
    requests: list[KeyRequestRecord],
    releaser: Releaser,
    now: datetime,
    *,
    locked: LockedContracts | None = None,
) -> dict[str, LicenseRecord]:
    """Releases those of requests just accepted that are due already (same day, before
    the cutoff), so the key is in the answer rather than seconds later from the loop;
    returns their licenses by request id. One that cannot be released, also one whose
    release fails unexpectedly (a bug, bad data), stays accepted and PENDING: the loop
    holds it with its reason.
    """
    due = [request for request in requests if is_due(request, now)]
    if not due:
        return {}
    released, _ = release_batch(
        connection, due, releaser, now, locked=locked, contain_failures=True
    )
    return {license_.key_request_id: license_ for license_ in released}


def is_due(request: KeyRequestRecord, now: datetime) -> bool:
    """Whether a request waits for nothing but its release: PENDING, its time come."""
    return request.state == KeyRequestState.PENDING and request.release_at <= now


@dataclass(frozen=True, slots=True)
class DueRelease:
    """What one batch did: requests claimed (a full batch means more may be due) and
    how many of them were released (the others were HELD)."""

    claimed: int
    released: int


def release_due(
    connection: Connection, as_of: datetime, releaser: Releaser, now: datetime, limit: int
) -> DueRelease:
    """Releases up to `limit` PENDING requests due at or before `as_of`, in this transaction.

    This is the scheduler loop's path and ReleaseDue's. A request that can no
    longer be released as asked (its previous license was revoked meanwhile, say)
    must not block the others nor come back in every batch: it is HELD with the
    reason, for staff to approve or reject. One whose release fails unexpectedly
    (a bug, bad data) is logged with its exception and HELD as ``RELEASE_FAILED``;
    the others are released.
    """
    claimed = claim_due(connection, as_of, limit)
    released, refusals = release_batch(connection, claimed, releaser, now, contain_failures=True)
    for refusal in refusals:
        if _replaced_meanwhile(refusal):
            # Its license was superseded by a key the active signing key signed (a
            # re-issue released first): there is nothing left to replace.
            set_state(
                connection,
                refusal.request.id,
                KeyRequestState.REJECTED,
                reject_reason=REPLACED_MEANWHILE,
            )
            logger.info(
                "a replacement found its license replaced already",
                extra={"key_request_id": refusal.request.id},
            )
            continue
        set_state(
            connection, refusal.request.id, KeyRequestState.HELD, hold_reason=refusal.error.reason
        )
        logger.warning(
            "held a due key request that cannot be released",
            extra={"key_request_id": refusal.request.id, "reason": refusal.error.reason},
        )
    return DueRelease(claimed=len(claimed), released=len(released))


REPLACED_MEANWHILE = (
    # Japanese is written with full-width parentheses.
    "置き換え対象のライセンスは、既に有効ではありません（再発行または失効済み）。"  # noqa: RUF001
    " / The license to replace is no longer active (re-issued or revoked meanwhile)."
)


def _replaced_meanwhile(refusal: Refusal) -> bool:
    return (
        refusal.request.kind == KeyRequestKind.REPLACEMENT
        and refusal.error.reason == "PREVIOUS_LICENSE_NOT_ACTIVE"
    )
