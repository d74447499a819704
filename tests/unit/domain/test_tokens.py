from __future__ import annotations

import pytest

from keysvc.domain.errors import Unauthenticated
from keysvc.domain.tokens import TOKEN_PREFIX, hash_secret, new_token, parse_bearer, secret_matches


def test_a_new_token_parses_back_to_its_id_and_a_matching_secret() -> None:
    token = new_token()
    token_id, secret = parse_bearer(f"Bearer {token.text}")
    assert token_id == token.token_id
    assert secret_matches(secret, token.secret_hash)
    assert token.text.startswith(f"{TOKEN_PREFIX}.{token.token_id}.")


def test_tokens_are_random() -> None:
    assert len({new_token().text for _ in range(50)}) == 50


def test_only_the_hash_of_the_secret_is_kept_and_repr_hides_it() -> None:
    token = new_token()
    secret = token.text.rsplit(".", 1)[1]
    assert token.secret_hash == hash_secret(secret)
    assert secret not in repr(token)
    assert secret.encode() not in token.secret_hash


def test_a_wrong_secret_does_not_match() -> None:
    token = new_token()
    assert not secret_matches("not-the-secret", token.secret_hash)


def test_the_scheme_is_case_insensitive() -> None:
    token = new_token()
    assert parse_bearer(f"bearer {token.text}")[0] == token.token_id


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "ksv1.a.b",
        "Bearer ksv2.a.b",
        "Bearer ksv1..b",
        "Bearer ksv1.a.",
        "Bearer ksv1",
    ],
)
def test_malformed_authorization_is_unauthenticated(authorization: str | None) -> None:
    with pytest.raises(Unauthenticated):
        parse_bearer(authorization)
