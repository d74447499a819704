"""Bearer tokens against a real database, and the brief cache of verified ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from keysvc.domain.errors import Unauthenticated
from keysvc.domain.tokens import Role, new_token
from keysvc.persistence.token_repository import add_token, revoke_token
from keysvc.service.authentication import Authenticator

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def token(engine):
    made = new_token()
    with engine.begin() as connection:
        add_token(connection, made, Role.SITE, "test", NOW)
    return made


def _revoke(engine, token_id: str) -> None:
    with engine.begin() as connection:
        revoke_token(connection, token_id, NOW)


def test_a_verified_token_is_trusted_until_the_cache_expires(engine, token):
    ticks = Ticks()
    authenticator = Authenticator(engine, ttl=2.0, monotonic=ticks)
    bearer = f"Bearer {token.text}"
    assert authenticator.cached(bearer) is None  # never verified yet
    principal = authenticator.authenticate(bearer)
    assert principal.role is Role.SITE
    _revoke(engine, token.token_id)  # behind this replica's back
    ticks.now += 1.9
    assert authenticator.cached(bearer) == principal
    ticks.now += 0.2
    assert authenticator.cached(bearer) is None
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(bearer)


def test_forget_drops_a_token_at_once(engine, token):
    authenticator = Authenticator(engine, monotonic=Ticks())
    bearer = f"Bearer {token.text}"
    authenticator.authenticate(bearer)
    authenticator.forget(token.token_id)
    assert authenticator.cached(bearer) is None


def test_a_wrong_secret_is_never_answered_from_the_cache(engine, token):
    authenticator = Authenticator(engine, monotonic=Ticks())
    authenticator.authenticate(f"Bearer {token.text}")
    forged = f"Bearer ksv1.{token.token_id}.not-the-secret"
    assert authenticator.cached(forged) is None
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(forged)
    # A failed attempt also drops the id, so the next good call asks the database.
    assert authenticator.cached(f"Bearer {token.text}") is None
