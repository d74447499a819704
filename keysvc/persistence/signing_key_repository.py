"""Signing keys in the database: public parts in the clear, private parts encrypted."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, case, insert, select, update

from keysvc.domain.lifecycle import SigningKeyState
from keysvc.domain.records import StoredSigningKey
from keysvc.persistence.driver_statement import DriverStatement
from keysvc.persistence.schema import signing_keys
from signing import VerifyingKey, b64url_decode, b64url_encode

# Read on every signature and every verification: built once (see key_request_repository).
_SELECT_KEYS: Final = select(signing_keys).order_by(
    case((signing_keys.c.state == SigningKeyState.ACTIVE, 0), else_=1),
    signing_keys.c.created_at.desc(),
)
_SELECT_ACTIVE_KID: Final = DriverStatement(
    select(signing_keys.c.kid).where(signing_keys.c.state == SigningKeyState.ACTIVE)
)


def list_signing_keys(connection: Connection, *, withdrawn: bool = False) -> list[StoredSigningKey]:
    """Every key that is not withdrawn (and with `withdrawn`, those too), the active one
    first, then the others newest first. A withdrawn key is trusted by nothing: every
    caller that verifies gets the keys without it."""
    rows = connection.execute(
        _SELECT_KEYS if withdrawn else _SELECT_KEYS.where(signing_keys.c.withdrawn_at.is_(None))
    )
    return [
        StoredSigningKey(
            kid=row.kid,
            verifying_key=VerifyingKey.from_public_bytes(b64url_decode(row.public_key)),
            private_key_pem=row.private_key_pem.encode("ascii"),
            active=row.state == SigningKeyState.ACTIVE,
            created_at=row.created_at,
            retired_at=row.retired_at,
            withdrawn_at=row.withdrawn_at,
            withdraw_reason=row.withdraw_reason,
        )
        for row in rows
    ]


def withdraw_key(connection: Connection, kid: str, reason: str, now: datetime) -> None:
    """Marks a retired key withdrawn, unless it is withdrawn already (the first reason stays)."""
    connection.execute(
        update(signing_keys)
        .where(
            signing_keys.c.kid == kid,
            signing_keys.c.state == SigningKeyState.RETIRED,
            signing_keys.c.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now, withdraw_reason=reason)
    )


def is_withdrawn(connection: Connection, kid: str) -> bool:
    """Whether `kid` names a withdrawn key."""
    found = connection.execute(
        select(signing_keys.c.kid).where(
            signing_keys.c.kid == kid, signing_keys.c.withdrawn_at.is_not(None)
        )
    ).first()
    return found is not None


def active_kid(connection: Connection) -> str | None:
    """The kid of the active key, or None when there is none yet."""
    rows = _SELECT_ACTIVE_KID.rows(connection)
    return str(rows[0][0]) if rows else None


def add_active_key(
    connection: Connection, verifying_key: VerifyingKey, private_key_pem: bytes, now: datetime
) -> None:
    """Retires the active key, if any, and makes this one active."""
    connection.execute(
        update(signing_keys)
        .where(signing_keys.c.state == SigningKeyState.ACTIVE)
        .values(state=SigningKeyState.RETIRED, retired_at=now)
    )
    connection.execute(
        insert(signing_keys).values(
            kid=verifying_key.kid,
            public_key=b64url_encode(verifying_key.public_bytes()),
            private_key_pem=private_key_pem.decode("ascii"),
            state=SigningKeyState.ACTIVE,
            created_at=now,
        )
    )
