"""Who is calling: bearer token in, principal out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from keysvc.domain.errors import Unauthenticated
from keysvc.domain.tokens import Principal, hash_secret, parse_bearer, secret_matches
from keysvc.persistence.database import read_transaction
from keysvc.persistence.token_repository import find_token

# How long a verified token is trusted without asking the database again. A token
# revoked on another replica keeps working there for at most this long; the replica
# that revokes it forgets it at once (`forget`).
TOKEN_CACHE_SECONDS = 2.0


class Authenticator:
    """Checks bearer tokens against the token table, remembering good ones briefly.

    Every RPC carries its token; without the cache each call would cost a
    database query and a hop to a worker thread before any work is done.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float = TOKEN_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        # token id -> (secret hash, principal, trusted until)
        self._verified: dict[str, tuple[bytes, Principal, float]] = {}

    def cached(self, authorization: str | None) -> Principal | None:
        """The principal of a token verified moments ago, or None: no I/O, so the
        event loop may call it before deciding whether to go to a worker thread."""
        try:
            token_id, secret = parse_bearer(authorization)
        except Unauthenticated:
            return None
        with self._lock:
            entry = self._verified.get(token_id)
        if entry is None:
            return None
        secret_hash, principal, until = entry
        if self._monotonic() >= until or not secret_matches(secret, secret_hash):
            return None
        return principal

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a valid token; `Unauthenticated` for anything else.

        Unknown ids, wrong secrets and revoked tokens get the same answer, so a
        caller learns nothing about which tokens exist.
        """
        token_id, secret = parse_bearer(authorization)
        with read_transaction(self._engine) as connection:
            stored = find_token(connection, token_id)
        if stored is None or stored.revoked or not secret_matches(secret, stored.secret_hash):
            self.forget(token_id)
            raise Unauthenticated("unknown or revoked bearer token")
        principal = Principal(token_id, stored.role)
        with self._lock:
            self._verified[token_id] = (
                hash_secret(secret),
                principal,
                self._monotonic() + self._ttl,
            )
        return principal

    def forget(self, token_id: str) -> None:
        """Drops a token from the cache (it was just revoked, or failed)."""
        with self._lock:
            self._verified.pop(token_id, None)
