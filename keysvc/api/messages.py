"""Domain values as `keysvc.v1` messages."""

from __future__ import annotations

import json
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.persistence.audit_repository import AuditEvent
from keysvc.persistence.signing_key_repository import StoredSigningKey
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
