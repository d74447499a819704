"""Who is calling: bearer token in, principal out."""

from __future__ import annotations

from sqlalchemy import Engine

from keysvc.errors import Unauthenticated
from keysvc.persistence.token_repository import find_token
from keysvc.tokens import Principal, parse_bearer, secret_matches


class Authenticator:
    """Checks bearer tokens against the token table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a valid token; `Unauthenticated` for anything else.

        Unknown ids, wrong secrets and revoked tokens get the same answer, so a
        caller learns nothing about which tokens exist.
        """
        token_id, secret = parse_bearer(authorization)
        with self._engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
            stored = find_token(connection, token_id)
        if stored is None or stored.revoked or not secret_matches(secret, stored.secret_hash):
            raise Unauthenticated("unknown or revoked bearer token")
        return Principal(token_id, stored.role)
