"""Bearer tokens: their format, roles, and how their secrets are kept.

A token reads ``ksv1.<id>.<secret>``: the id is public (it names the token in
the audit log), the secret is 256 random bits of which only a SHA-256 hash is
stored. A fast hash is enough because the secret is random, not a password:
nobody can guess it, with or without the hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from keysvc.domain.errors import Unauthenticated

TOKEN_PREFIX = "ksv1"  # noqa: S105 - a format marker, not a secret


class Role(StrEnum):
    """What a token may do (SPEC section 1)."""

    SITE = "site"
    MIGRATION = "migration"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of an RPC."""

    token_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly made token: `text` is shown once, only `secret_hash` is stored."""

    token_id: str
    secret_hash: bytes
    text: str

    def __repr__(self) -> str:
        return f"NewToken(token_id={self.token_id!r})"


def new_token() -> NewToken:
    """Makes a token with a random id and secret."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewToken(token_id, hash_secret(secret), f"{TOKEN_PREFIX}.{token_id}.{secret}")


def hash_secret(secret: str) -> bytes:
    """The stored form of a token's secret."""
    return hashlib.sha256(secret.encode("ascii", "replace")).digest()


def parse_bearer(authorization: str | None) -> tuple[str, str]:
    """Splits an ``authorization`` metadata value into token id and secret.

    >>> parse_bearer("Bearer ksv1.0123456789abcdef.s3cr3t")
    ('0123456789abcdef', 's3cr3t')
    """
    if not authorization:
        raise Unauthenticated("missing bearer token in the authorization metadata")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
    prefix, _, rest = token.strip().partition(".")
    token_id, _, secret = rest.partition(".")
    if prefix != TOKEN_PREFIX or not token_id or not secret:
        raise Unauthenticated("malformed bearer token")
    return token_id, secret


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    """Compares in constant time, so timing reveals nothing about the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
