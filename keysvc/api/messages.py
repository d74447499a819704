"""Domain values as `keysvc.v1` messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.domain.errors import InvalidArgument
from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState, LicenseStatus
from keysvc.domain.records import (
    AuditEvent,
    ClosureRecord,
    ContractRecord,
    KeyRequestRecord,
    LicenseRecord,
    MailDeliveryRecord,
    StoredSigningKey,
    TokenRecord,
)
from keysvc.v1 import resources_pb2


def timestamp(instant: datetime | None) -> Timestamp | None:
    """A protobuf Timestamp, or None to leave the field unset."""
    if instant is None:
        return None
    message = Timestamp()
    message.FromDatetime(instant)
    return message


def signing_key(
    key: StoredSigningKey, *, replacements_total: int = 0, replacements_released: int = 0
) -> resources_pb2.SigningKey:
    """A signing key (never its private part), with its replacements' progress if withdrawn."""
    if key.active:
        state = resources_pb2.SIGNING_KEY_STATE_ACTIVE
    elif key.withdrawn_at is not None:
        state = resources_pb2.SIGNING_KEY_STATE_WITHDRAWN
    else:
        state = resources_pb2.SIGNING_KEY_STATE_RETIRED
    return resources_pb2.SigningKey(
        kid=key.kid,
        state=state,
        create_time=timestamp(key.created_at),
        retire_time=timestamp(key.retired_at),
        public_jwk_json=json.dumps(key.verifying_key.to_jwk(), separators=(",", ":")),
        withdraw_time=timestamp(key.withdrawn_at),
        withdraw_reason=key.withdraw_reason or "",
        replacements_total=replacements_total,
        replacements_released=replacements_released,
    )


def audit_event(event: AuditEvent) -> resources_pb2.AuditEvent:
    """One audit log entry."""
    return resources_pb2.AuditEvent(
        id=str(event.id),
        time=timestamp(event.occurred_at),
        actor_token_id=event.actor_token_id,
        actor_role=event.actor_role,
        method=event.method,
        resource=event.resource,
        outcome=event.outcome,
    )


def contract(record: ContractRecord) -> resources_pb2.Contract:
    """A support contract with its periods."""
    return resources_pb2.Contract(
        contract_number=record.contract_number,
        product_code=record.product_code,
        customer_name=record.customer_name,
        contact_email=record.contact_email,
        seats=record.seats,
        purchase_date=record.purchase_date.isoformat(),
        accept_date=record.accept_date.isoformat(),
        periods=[
            resources_pb2.Period(start=p.start.isoformat(), end=p.end.isoformat())
            for p in record.periods
        ],
        coverage_start=record.coverage_start.isoformat(),
        create_time=timestamp(record.created_at),
    )


# The domain's lifecycle and the API's enums: each mapping written once, read both ways.
_KINDS: Final = {
    KeyRequestKind.INITIAL: resources_pb2.KEY_REQUEST_KIND_INITIAL,
    KeyRequestKind.REISSUE: resources_pb2.KEY_REQUEST_KIND_REISSUE,
    KeyRequestKind.SEATS_CHANGE: resources_pb2.KEY_REQUEST_KIND_SEATS_CHANGE,
    KeyRequestKind.REPLACEMENT: resources_pb2.KEY_REQUEST_KIND_REPLACEMENT,
}
_STATES: Final = {
    KeyRequestState.PENDING: resources_pb2.KEY_REQUEST_STATE_PENDING,
    KeyRequestState.HELD: resources_pb2.KEY_REQUEST_STATE_HELD,
    KeyRequestState.RELEASED: resources_pb2.KEY_REQUEST_STATE_RELEASED,
    KeyRequestState.REJECTED: resources_pb2.KEY_REQUEST_STATE_REJECTED,
}
_LICENSE_STATUSES: Final = {
    LicenseStatus.ACTIVE: resources_pb2.LICENSE_STATUS_ACTIVE,
    LicenseStatus.SUPERSEDED: resources_pb2.LICENSE_STATUS_SUPERSEDED,
    LicenseStatus.REVOKED: resources_pb2.LICENSE_STATUS_REVOKED,
}
_MAIL_STATES = {
    "QUEUED": resources_pb2.MAIL_DELIVERY_STATE_QUEUED,
    "SENT": resources_pb2.MAIL_DELIVERY_STATE_SENT,
    "FAILED": resources_pb2.MAIL_DELIVERY_STATE_FAILED,
}
_KIND_OF_VALUE: Final = {value: kind for kind, value in _KINDS.items()}
_STATE_OF_VALUE: Final = {value: state for state, value in _STATES.items()}
_MAIL_STATE_OF_VALUE: Final = {value: state for state, value in _MAIL_STATES.items()}
_LICENSE_STATUS_OF_VALUE: Final = {value: status for status, value in _LICENSE_STATUSES.items()}


def key_request_kind(value: resources_pb2.KeyRequestKind.ValueType) -> KeyRequestKind:
    """The kind a request asks for; an unset or unknown value is an `InvalidArgument`."""
    kind = _KIND_OF_VALUE.get(value)
    # REPLACEMENT requests are made by keysvc when a signing key is withdrawn, never asked.
    if kind is None or kind is KeyRequestKind.REPLACEMENT:
        raise InvalidArgument("kind", "kind must be INITIAL, REISSUE or SEATS_CHANGE")
    return kind


def key_request_state_filter(
    value: resources_pb2.KeyRequestState.ValueType,
) -> KeyRequestState | None:
    """The state a list is filtered by; None (no filter) when unset."""
    return _STATE_OF_VALUE.get(value)


def license_status_filter(value: resources_pb2.LicenseStatus.ValueType) -> LicenseStatus | None:
    """The status a list is filtered by; None (no filter) when unset."""
    return _LICENSE_STATUS_OF_VALUE.get(value)


def license_status(status: LicenseStatus) -> resources_pb2.LicenseStatus.ValueType:
    """The enum value of a stored license status."""
    return _LICENSE_STATUSES[status]


def key_request(
    record: KeyRequestRecord,
    license_key: str = "",
    mail_state: str | None = None,
    previous_supersede_at: datetime | None = None,
) -> resources_pb2.KeyRequest:
    """A key request; `license_key` once released, and until when the key it replaced
    keeps working (`previous_supersede_at`) when known."""
    return resources_pb2.KeyRequest(
        id=record.id,
        contract_number=record.contract_number,
        kind=_KINDS[record.kind],
        state=_STATES[record.state],
        accept_time=timestamp(record.accepted_at),
        due_date=record.due_date.isoformat(),
        release_time=timestamp(record.release_at),
        released_time=timestamp(record.released_at),
        license_serial=record.license_serial or "",
        license_key=license_key,
        hold_reason=record.hold_reason or "",
        contact_email=record.contact_email,
        previous_license_serial=record.previous_license_serial or "",
        reject_reason=record.reject_reason or "",
        at_risk=record.at_risk,
        late=record.released_late,
        mail_delivery_state=_MAIL_STATES.get(
            mail_state or "", resources_pb2.MAIL_DELIVERY_STATE_UNSPECIFIED
        ),
        previous_supersede_time=timestamp(previous_supersede_at),
    )


def license_message(record: LicenseRecord) -> resources_pb2.License:
    """A license with its key text."""
    return resources_pb2.License(
        serial=record.serial,
        contract_number=record.contract_number,
        status=_LICENSE_STATUSES[record.status],
        seats=record.seats,
        generation=record.generation,
        kid=record.kid,
        issue_time=timestamp(record.issued_at),
        license_key=record.license_key,
        fingerprint_hash=record.fingerprint_hash,
        support_end=record.support_end.isoformat(),
        superseded_by=record.superseded_by or "",
        revoke_reason=record.revoke_reason or "",
        supersede_time=timestamp(record.supersede_at),
        supersede_reason=record.supersede_reason or "",
    )


def mail_state_filter(value: resources_pb2.MailDeliveryState.ValueType) -> str | None:
    """The delivery state a list is filtered by; None (no filter) when unset."""
    return _MAIL_STATE_OF_VALUE.get(value)


def mail_delivery(record: MailDeliveryRecord) -> resources_pb2.MailDelivery:
    """An outbox entry as staff follow it, without the message."""
    return resources_pb2.MailDelivery(
        id=record.id,
        key_request_id=record.key_request_id,
        recipient=record.recipient,
        state=_MAIL_STATES.get(record.state, resources_pb2.MAIL_DELIVERY_STATE_UNSPECIFIED),
        attempts=record.attempts,
        last_error=record.last_error or "",
        create_time=timestamp(record.created_at),
        send_time=timestamp(record.sent_at),
        next_attempt_time=timestamp(record.next_attempt_at if record.state == "QUEUED" else None),
    )


def closure(record: ClosureRecord) -> resources_pb2.Closure:
    """A company closure."""
    return resources_pb2.Closure(
        id=record.id,
        start_date=record.closure.start.isoformat(),
        end_date=record.closure.end.isoformat(),
        label=record.closure.label,
    )


def token(record: TokenRecord) -> resources_pb2.Token:
    """A token's id, role and dates; it has no secret to show."""
    return resources_pb2.Token(
        id=record.token_id,
        role=record.role,
        description=record.description,
        create_time=timestamp(record.created_at),
        revoke_time=timestamp(record.revoked_at),
    )
