"""Tokens in the database: only their hashed secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from keysvc.persistence.schema import tokens
from keysvc.tokens import NewToken, Role


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A token as the database knows it."""

    token_id: str
    role: Role
    secret_hash: bytes
    revoked: bool


def add_token(
    connection: Connection, token: NewToken, role: Role, description: str, now: datetime
) -> None:
    """Stores a new token's id, role and secret hash."""
    connection.execute(
        insert(tokens).values(
            id=token.token_id,
            role=role.value,
            secret_hash=token.secret_hash,
            description=description,
            created_at=now,
        )
    )


def find_token(connection: Connection, token_id: str) -> StoredToken | None:
    """The token with this id, or None."""
    row = connection.execute(
        select(tokens.c.role, tokens.c.secret_hash, tokens.c.revoked_at).where(
            tokens.c.id == token_id
        )
    ).one_or_none()
    if row is None:
        return None
    return StoredToken(token_id, Role(row.role), bytes(row.secret_hash), row.revoked_at is not None)
