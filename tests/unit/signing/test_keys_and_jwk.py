from __future__ import annotations

import json

import pytest

from signing import (
    InvalidJwks,
    LicenseVerifier,
    SigningKey,
    VerifyingKey,
    b64url_decode,
    b64url_encode,
    jwk_thumbprint,
)

RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
# RFC 8037 A.4: header {"alg":"EdDSA"}, payload "Example of Ed25519 signing".
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def test_thumbprint_matches_rfc8037_appendix_a3():
    assert jwk_thumbprint(b64url_decode(RFC8037_X)) == RFC8037_THUMBPRINT


def test_kid_of_the_rfc8037_key_is_its_thumbprint(test_key):
    assert test_key.verifying_key.to_jwk()["x"] == RFC8037_X
    assert test_key.kid == RFC8037_THUMBPRINT
    assert test_key.verifying_key.kid == RFC8037_THUMBPRINT


def test_signature_matches_rfc8037_appendix_a4(test_key):
    signing_input, _, signature = RFC8037_JWS.rpartition(".")
    assert b64url_encode(test_key.sign(signing_input.encode())) == signature
    assert test_key.verifying_key.verify(b64url_decode(signature), signing_input.encode())


def test_verify_returns_false_for_a_wrong_signature(test_key):
    signature = test_key.sign(b"data")
    assert not test_key.verifying_key.verify(signature, b"other data")
    assert not test_key.verifying_key.verify(b"\0" * 64, b"data")


def test_repr_never_shows_private_material(test_key):
    seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    for text in (repr(test_key), str(test_key), repr(test_key.verifying_key)):
        assert seed not in text
        assert RFC8037_THUMBPRINT in text


def test_public_jwk_has_exactly_the_public_members(test_key):
    assert test_key.verifying_key.to_jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_X,
        "kid": RFC8037_THUMBPRINT,
        "alg": "EdDSA",
        "use": "sig",
    }


def test_jwk_round_trips_to_an_equal_key(test_key):
    key = VerifyingKey.from_jwk(test_key.verifying_key.to_jwk())
    assert key == test_key.verifying_key
    assert hash(key) == hash(test_key.verifying_key)
    assert key.public_bytes() == b64url_decode(RFC8037_X)


def test_jwk_without_kid_alg_use_is_accepted():
    key = VerifyingKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})
    assert key.kid == RFC8037_THUMBPRINT


def test_generated_keys_differ():
    assert SigningKey.generate().kid != SigningKey.generate().kid


def test_seed_of_wrong_size_is_rejected():
    with pytest.raises(ValueError, match="32 bytes"):
        SigningKey.from_private_bytes(b"\0" * 31)


GOOD_JWK = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": RFC8037_THUMBPRINT}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}, "private"),
        ({"kty": "EC"}, "kty"),
        ({"crv": "X25519"}, "crv"),
        ({"crv": "Ed448"}, "crv"),
        ({"alg": "ES256"}, "alg"),
        ({"use": "enc"}, "use"),
        ({"x": RFC8037_X + "="}, "base64url"),
        ({"x": b64url_encode(bytes(31))}, "32 bytes"),
        ({"x": 5}, "string"),
        ({"kid": "my-key-1"}, "thumbprint"),
    ],
)
def test_jwk_other_than_an_ed25519_public_key_with_thumbprint_kid_is_rejected(change, message):
    with pytest.raises(InvalidJwks, match=message):
        VerifyingKey.from_jwk({**GOOD_JWK, **change})


@pytest.mark.parametrize("name", ["kty", "crv", "x"])
def test_jwk_missing_a_required_member_is_rejected(name):
    jwk = {k: v for k, v in GOOD_JWK.items() if k != name}
    with pytest.raises(InvalidJwks, match=name):
        VerifyingKey.from_jwk(jwk)


def test_private_jwk_error_does_not_echo_the_private_key():
    seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    with pytest.raises(InvalidJwks) as caught:
        VerifyingKey.from_jwk({**GOOD_JWK, "d": seed, "kty": "bogus"})
    assert seed not in str(caught.value)


def test_jwks_text_bytes_and_mapping_are_accepted(ring):
    for document in (ring.jwks(), ring.jwks_json(), ring.jwks_json().encode()):
        assert set(LicenseVerifier.from_jwks(document).keys) == {ring.active.kid}


@pytest.mark.parametrize(
    "document",
    [
        "",
        "[]",
        "{}",
        '{"keys": []}',
        '{"keys": {}}',
        '{"keys": [5]}',
        '{"keys": [], "keys": []}',
        "[" * 100_000,
        b"\xff\xfe{}",
        '{"keys": [NaN]}',
    ],
)
def test_jwks_that_is_not_a_list_of_keys_is_rejected(document):
    with pytest.raises(InvalidJwks):
        LicenseVerifier.from_jwks(document)


def test_jwks_with_duplicate_kid_is_rejected():
    with pytest.raises(InvalidJwks, match="more than once"):
        LicenseVerifier.from_jwks(json.dumps({"keys": [GOOD_JWK, GOOD_JWK]}))
