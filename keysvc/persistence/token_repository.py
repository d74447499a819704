"""Tokens in the database: only their hashed secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from keysvc.domain.records import TokenRecord
from keysvc.domain.tokens import NewToken, Role
from keysvc.persistence.schema import tokens


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


def list_token_records(
    connection: Connection, *, limit: int, after: str | None, show_revoked: bool
) -> list[TokenRecord]:
    """Tokens by id, revoked ones only when asked."""
    query = select(
        tokens.c.id, tokens.c.role, tokens.c.description, tokens.c.created_at, tokens.c.revoked_at
    ).order_by(tokens.c.id)
    if after is not None:
        query = query.where(tokens.c.id > after)
    if not show_revoked:
        query = query.where(tokens.c.revoked_at.is_(None))
    return [TokenRecord(*row) for row in connection.execute(query.limit(limit))]


def revoke_token(connection: Connection, token_id: str, now: datetime) -> TokenRecord | None:
    """Revokes the token (a revoked one keeps its first revocation time); None if unknown."""
    connection.execute(
        update(tokens)
        .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    row = connection.execute(
        select(
            tokens.c.id,
            tokens.c.role,
            tokens.c.description,
            tokens.c.created_at,
            tokens.c.revoked_at,
        ).where(tokens.c.id == token_id)
    ).one_or_none()
    return None if row is None else TokenRecord(*row)
