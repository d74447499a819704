"""Domain values as `keysvc.v1` messages."""

from __future__ import annotations

import json
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.persistence.audit_repository import AuditEvent
from keysvc.persistence.closure_repository import ClosureRecord
from keysvc.persistence.contract_repository import ContractRecord
from keysvc.persistence.key_request_repository import KeyRequestRecord, LicenseRecord
from keysvc.persistence.signing_key_repository import StoredSigningKey
from keysvc.persistence.token_repository import TokenRecord
from keysvc.v1 import resources_pb2


def timestamp(instant: datetime | None) -> Timestamp | None:
    """A protobuf Timestamp, or None to leave the field unset."""
    if instant is None:
        return None
    message = Timestamp()
    message.FromDatetime(instant)
    return message


def jwks_json(keys: list[StoredSigningKey]) -> str:
    """The JWKS document of these keys, in the order given (active first)."""
    return json.dumps({"keys": [key.verifying_key.to_jwk() for key in keys]}, separators=(",", ":"))


def signing_key(key: StoredSigningKey) -> resources_pb2.SigningKey:
    """A published signing key (never its private part)."""
    return resources_pb2.SigningKey(
        kid=key.kid,
        state=(
            resources_pb2.SIGNING_KEY_STATE_ACTIVE
            if key.active
            else resources_pb2.SIGNING_KEY_STATE_RETIRED
        ),
        create_time=timestamp(key.created_at),
        retire_time=timestamp(key.retired_at),
        public_jwk_json=json.dumps(key.verifying_key.to_jwk(), separators=(",", ":")),
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


_KINDS = {
    "INITIAL": resources_pb2.KEY_REQUEST_KIND_INITIAL,
    "REISSUE": resources_pb2.KEY_REQUEST_KIND_REISSUE,
    "SEATS_CHANGE": resources_pb2.KEY_REQUEST_KIND_SEATS_CHANGE,
}
_STATES = {
    "PENDING": resources_pb2.KEY_REQUEST_STATE_PENDING,
    "HELD": resources_pb2.KEY_REQUEST_STATE_HELD,
    "RELEASED": resources_pb2.KEY_REQUEST_STATE_RELEASED,
    "REJECTED": resources_pb2.KEY_REQUEST_STATE_REJECTED,
}
_LICENSE_STATUSES = {
    "ACTIVE": resources_pb2.LICENSE_STATUS_ACTIVE,
    "SUPERSEDED": resources_pb2.LICENSE_STATUS_SUPERSEDED,
    "REVOKED": resources_pb2.LICENSE_STATUS_REVOKED,
}
_MAIL_STATES = {
    "QUEUED": resources_pb2.MAIL_DELIVERY_STATE_QUEUED,
    "SENT": resources_pb2.MAIL_DELIVERY_STATE_SENT,
    "FAILED": resources_pb2.MAIL_DELIVERY_STATE_FAILED,
}
KIND_NAMES = {value: name for name, value in _KINDS.items()}


def license_status(status: str) -> resources_pb2.LicenseStatus.ValueType:
    """The enum value of a stored license status."""
    return _LICENSE_STATUSES[status]


def key_request(
    record: KeyRequestRecord, license_key: str = "", mail_state: str | None = None
) -> resources_pb2.KeyRequest:
    """A key request; `license_key` once released."""
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
