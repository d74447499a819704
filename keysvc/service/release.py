"""Releasing a key request: sign the key, store the license, supersede, queue the e-mail.

One path for every release — IssueKeyNow, ReleaseDue and the scheduler loop —
inside the caller's transaction, so a release is all or nothing: the database
admits one license per request and one ACTIVE license per contract, so a
request can never be released twice nor leave two active licenses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain import jst_date, support_end_for
from keysvc.errors import FailedPrecondition, KeysvcError
from keysvc.persistence.contract_repository import product_display_name
from keysvc.persistence.key_request_repository import (
    KeyRequestRecord,
    LicenseRecord,
    active_license_of,
    add_license,
    claim_due,
    last_generation,
    mark_released,
    set_state,
    set_superseded_by,
    supersede,
)
from keysvc.persistence.outbox_repository import queue_mail
from keysvc.service.contracts import require_contract
from keysvc.service.identifiers import new_license_serial
from scheduler.mail import compose_license_mail
from signing import KeyRing, LicenseClaims

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MailIdentity:
    """Who the key e-mails come from, and the domain of their Message-IDs."""

    sender: str
    message_id_domain: str


@dataclass(frozen=True, slots=True)
class Releaser:
    """What a release needs besides the database: the signing keys and the mail identity."""

    key_ring: KeyRing
    mail: MailIdentity


def release(
    connection: Connection, request: KeyRequestRecord, releaser: Releaser, now: datetime
) -> LicenseRecord:
    """Signs and stores the license of a PENDING request (locked by the caller), and
    queues the e-mail that carries it, all in the caller's transaction."""
    key_ring = releaser.key_ring
    if request.state != "PENDING":
        raise FailedPrecondition(
            f"key request {request.id} is {request.state}, only PENDING requests are released",
            reason=f"KEY_REQUEST_{request.state}",
            metadata={"key_request_id": request.id},
        )
    contract = require_contract(connection, request.contract_number, for_update=True)
    if request.previous_license_serial is not None:
        if not supersede(connection, request.previous_license_serial):
            raise FailedPrecondition(
                f"license {request.previous_license_serial} is no longer ACTIVE",
                reason="PREVIOUS_LICENSE_NOT_ACTIVE",
                metadata={"license_serial": request.previous_license_serial},
            )
    elif active_license_of(connection, contract.contract_number) is not None:
        raise FailedPrecondition(
            f"contract {contract.contract_number} has an active key already",
            reason="LICENSE_ALREADY_ISSUED",
        )
    today = jst_date(now, field="now")
    claims = LicenseClaims(
        serial=new_license_serial(today.year),
        issued_at=int(now.timestamp()),
        product_code=contract.product_code,
        contract_number=contract.contract_number,
        seats=contract.seats,
        generation=last_generation(connection, contract.contract_number) + 1,
        fingerprint_hash=request.fingerprint_hash,
        support_end=support_end_for(today, contract.periods),
    )
    license_ = LicenseRecord(
        serial=claims.serial,
        contract_number=contract.contract_number,
        key_request_id=request.id,
        status="ACTIVE",
        seats=claims.seats,
        generation=claims.generation,
        fingerprint_hash=claims.fingerprint_hash,
        kid=key_ring.active.kid,
        issued_at=now,
        support_end=claims.support_end,
        license_key=key_ring.sign_license(claims),
        superseded_by=None,
        revoke_reason=None,
    )
    add_license(connection, license_)
    if request.previous_license_serial is not None:
        set_superseded_by(connection, request.previous_license_serial, license_.serial)
    mark_released(connection, request.id, license_.serial, now, late=today > request.due_date)
    mail = compose_license_mail(
        key_request_id=request.id,
        recipient=request.contact_email,
        customer_name=contract.customer_name,
        contract_number=contract.contract_number,
        product_name=product_display_name(connection, contract.product_code),
        license_serial=license_.serial,
        license_key=license_.license_key,
        generation=license_.generation,
        support_end=license_.support_end,
        kind=request.kind,
        issued_at=now,
        sender=releaser.mail.sender,
        message_id_domain=releaser.mail.message_id_domain,
    )
    queue_mail(connection, key_request_id=request.id, composed=mail, now=now)
    return license_


def release_due(
    connection: Connection, as_of: datetime, releaser: Releaser, now: datetime, limit: int
) -> int:
    """Releases up to `limit` PENDING requests due at or before `as_of`, in this transaction.

    This is the scheduler loop's path and ReleaseDue's. A request that can no
    longer be released as asked (its previous license was revoked meanwhile, say)
    must not block the others nor come back in every batch: it is HELD with the
    reason, for staff to approve or reject. Returns how many were released.
    """
    released = 0
    for request in claim_due(connection, as_of, limit):
        savepoint = connection.begin_nested()
        try:
            release(connection, request, releaser, now)
        except KeysvcError as error:
            savepoint.rollback()
            set_state(connection, request.id, "HELD", hold_reason=error.reason)
            logger.warning(
                "held a due key request that cannot be released",
                extra={"key_request_id": request.id, "reason": error.reason},
            )
        else:
            savepoint.commit()
            released += 1
    return released
