"""The status claim of license keys (SPEC 5a) and the RFC 9864 algorithm names."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing import (
    MAX_STATUS_LIST_ENTRIES,
    MAX_STATUS_URI_LENGTH,
    InvalidClaims,
    InvalidJwks,
    InvalidStatusClaim,
    KeyRing,
    LicenseClaims,
    LicenseVerifier,
    StatusReference,
    UnsupportedHeader,
    VerifyingKey,
    b64url_decode,
    b64url_encode,
    sign_license,
)

URI = "https://keys.example.com/status/1"


@pytest.fixture(scope="module")
def with_status(claims):
    return dataclasses.replace(claims, status=StatusReference(index=7, uri=URI))


def header_of(key: str) -> dict:
    return json.loads(b64url_decode(key.split(".", maxsplit=1)[0]))


def payload_of(key: str) -> dict:
    return json.loads(b64url_decode(key.split(".")[1]))


def signed_payload(forge, test_key, payload: dict, alg: str = "EdDSA") -> str:
    header = f'{{"alg":"{alg}","kid":"{test_key.kid}","typ":"license+jwt"}}'.encode()
    return forge(header, json.dumps(payload).encode())


@pytest.fixture(scope="module")
def with_claims(forge, test_key, claims):
    """A key signed by the test key whose payload is the typical claims, changed."""

    def sign(**changes):
        return signed_payload(forge, test_key, {**claims.to_payload(), **changes})

    return sign


# -- the claim ------------------------------------------------------------------


def test_claims_with_a_status_reference_are_signed_with_the_status_claim(test_key, with_status):
    payload = payload_of(sign_license(test_key, with_status))
    assert payload["status"] == {"status_list": {"idx": 7, "uri": URI}}
    assert list(payload)[-1] == "status"


def test_claims_without_a_status_reference_are_signed_without_the_claim(test_key, claims):
    assert "status" not in payload_of(sign_license(test_key, claims))


def test_a_key_with_the_status_claim_verifies_to_its_reference(verifier, test_key, with_status):
    verified = verifier.verify(sign_license(test_key, with_status))
    assert verified.claims == with_status
    assert verified.claims.status == StatusReference(index=7, uri=URI)


def test_a_key_without_the_claim_verifies_with_no_status(verifier, license_key):
    assert verifier.verify(license_key).claims.status is None


@pytest.mark.parametrize(
    "index", [0, 1, MAX_STATUS_LIST_ENTRIES - 1], ids=["first", "second", "last"]
)
def test_every_index_of_the_largest_list_is_accepted(verifier, forge, test_key, claims, index):
    payload = {**claims.to_payload(), "status": {"status_list": {"idx": index, "uri": URI}}}
    key = signed_payload(forge, test_key, payload)
    assert verifier.verify(key).claims.status == StatusReference(index=index, uri=URI)


@pytest.mark.parametrize(
    "uri",
    [
        "http://a",
        "https://keys.example.com",
        "https://keys.example.com:8443/status/1?v=2#x",
        "https://" + "a" * (MAX_STATUS_URI_LENGTH - len("https://")),
    ],
    ids=["shortest_http", "no_path", "port_query_fragment", "exactly_the_longest"],
)
def test_http_and_https_uris_within_the_bound_are_accepted(verifier, forge, test_key, claims, uri):
    payload = {**claims.to_payload(), "status": {"status_list": {"idx": 0, "uri": uri}}}
    assert verifier.verify(signed_payload(forge, test_key, payload)).claims.status.uri == uri


def test_members_besides_status_list_idx_and_uri_are_ignored(verifier, forge, test_key, claims):
    status = {"status_list": {"idx": 3, "uri": URI, "note": 1}, "other_mechanism": {}}
    key = signed_payload(forge, test_key, {**claims.to_payload(), "status": status})
    assert verifier.verify(key).claims.status == StatusReference(index=3, uri=URI)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (None, "status must be a JSON object"),
        ([], "status must be a JSON object"),
        ("https://keys.example.com/status/1", "status must be a JSON object"),
        ({}, "status_list member"),
        ({"status_list": None}, "status_list must be a JSON object"),
        ({"status_list": [0, URI]}, "status_list must be a JSON object"),
        ({"status_list": {"uri": URI}}, "lacks idx"),
        ({"status_list": {"idx": 0}}, "lacks uri"),
        ({"status_list": {}}, "lacks idx, uri"),
        ({"status_list": {"idx": -1, "uri": URI}}, "between 0 and 4194303"),
        ({"status_list": {"idx": MAX_STATUS_LIST_ENTRIES, "uri": URI}}, "between 0 and 4194303"),
        ({"status_list": {"idx": True, "uri": URI}}, "idx must be an integer"),
        ({"status_list": {"idx": 1.0, "uri": URI}}, "idx must be an integer"),
        ({"status_list": {"idx": "1", "uri": URI}}, "idx must be an integer"),
        ({"status_list": {"idx": 0, "uri": ""}}, "non-empty string"),
        ({"status_list": {"idx": 0, "uri": 7}}, "non-empty string"),
        ({"status_list": {"idx": 0, "uri": "ftp://keys.example.com/1"}}, "http:// or https://"),
        ({"status_list": {"idx": 0, "uri": "HTTPS://keys.example.com/1"}}, "http:// or https://"),
        ({"status_list": {"idx": 0, "uri": "https:///status/1"}}, "with a host"),
        ({"status_list": {"idx": 0, "uri": "https://"}}, "with a host"),
        ({"status_list": {"idx": 0, "uri": "https://a b/1"}}, "printable ASCII"),
        ({"status_list": {"idx": 0, "uri": "https://a/\u00e9"}}, "printable ASCII"),
        ({"status_list": {"idx": 0, "uri": "/status/1"}}, "http:// or https://"),
        (
            {"status_list": {"idx": 0, "uri": "https://" + "a" * (MAX_STATUS_URI_LENGTH - 7)}},
            "at most 2048 characters",
        ),
    ],
)
def test_a_malformed_status_claim_is_its_own_error(verifier, with_claims, status, message):
    key = with_claims(status=status)
    with pytest.raises(InvalidStatusClaim, match=message) as caught:
        verifier.verify(key)
    assert caught.value.reason == "LICENSE_KEY_BAD_STATUS_CLAIM"


def test_a_key_broken_in_another_claim_too_is_reported_as_bad_claims(
    verifier, forge, test_key, claims
):
    payload = {**claims.to_payload(), "sts": 0, "status": None}
    with pytest.raises(InvalidClaims) as caught:
        verifier.verify(signed_payload(forge, test_key, payload))
    assert caught.value.reason == "LICENSE_KEY_BAD_CLAIMS"


@pytest.mark.parametrize(
    ("index", "uri"),
    [(-1, URI), (MAX_STATUS_LIST_ENTRIES, URI), (False, URI), (0, "ftp://x/1"), (0, None)],
)
def test_a_status_reference_that_breaks_a_rule_cannot_be_made(index, uri):
    with pytest.raises(ValueError, match="status list"):
        StatusReference(index=index, uri=uri)


def test_claims_refuse_a_status_that_is_not_a_reference(claims):
    with pytest.raises(ValueError, match="StatusReference"):
        dataclasses.replace(claims, status={"status_list": {"idx": 0, "uri": URI}})


def test_claims_with_status_read_back_equal_from_their_payload(with_status):
    assert LicenseClaims.from_payload(with_status.to_payload()) == with_status


# -- RFC 9864 -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_keys_are_signed_under_the_name_chosen_and_verify(verifier, test_key, claims, alg):
    key = sign_license(test_key, claims, alg=alg)
    assert header_of(key) == {"alg": alg, "kid": test_key.kid, "typ": "license+jwt"}
    assert key.split(".")[0] == b64url_encode(
        f'{{"alg":"{alg}","kid":"{test_key.kid}","typ":"license+jwt"}}'.encode()
    )
    assert verifier.verify(key).claims == claims


def test_the_default_name_is_eddsa(test_key, claims):
    assert sign_license(test_key, claims) == sign_license(test_key, claims, alg="EdDSA")
    assert header_of(KeyRing(test_key).sign_license(claims))["alg"] == "EdDSA"


def test_the_two_names_sign_different_texts_over_the_same_claims(test_key, claims):
    assert sign_license(test_key, claims, alg="Ed25519") != sign_license(test_key, claims)


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_a_key_ring_signs_under_its_name(test_key, claims, alg):
    ring = KeyRing(test_key, alg=alg)
    assert header_of(ring.sign_license(claims))["alg"] == alg
    assert ring.verifier().verify(ring.sign_license(claims)).claims == claims


@pytest.mark.parametrize("alg", ["eddsa", "ED25519", "Ed448", "none", "", None])
def test_other_names_are_refused_for_signing(test_key, claims, alg):
    with pytest.raises(ValueError, match="alg must be"):
        sign_license(test_key, claims, alg=alg)
    with pytest.raises(ValueError, match="alg must be"):
        KeyRing(test_key, alg=alg)


def test_ed25519_in_another_header_spelling_verifies(verifier, forge, test_key, claims):
    header = b'{ "typ": "license+jwt", "kid": "' + test_key.kid.encode() + b'", "alg": "Ed25519" }'
    assert verifier.verify(forge(header, json.dumps(claims.to_payload()).encode())).claims == claims


@pytest.mark.parametrize("alg", ["ed25519", "Ed448", "EdDSA25519"])
def test_names_close_to_the_two_are_refused(verifier, forge, test_key, claims, alg):
    with pytest.raises(UnsupportedHeader, match="EdDSA or Ed25519"):
        verifier.verify(signed_payload(forge, test_key, claims.to_payload(), alg))


def test_jwks_under_eddsa_names_the_algorithm(test_key):
    assert KeyRing(test_key).jwks()["keys"][0]["alg"] == "EdDSA"


def test_jwks_under_ed25519_leaves_alg_out_so_both_names_verify(test_key):
    (jwk,) = KeyRing(test_key, alg="Ed25519").jwks()["keys"]
    assert "alg" not in jwk
    assert jwk["use"] == "sig"
    assert VerifyingKey.from_jwk(jwk) == test_key.verifying_key


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_a_jwk_naming_either_algorithm_is_accepted(test_key, alg):
    jwk = {**test_key.verifying_key.to_jwk(), "alg": alg}
    assert LicenseVerifier.from_jwks({"keys": [jwk]}).keys == {test_key.kid: test_key.verifying_key}


def test_a_jwk_naming_another_algorithm_is_refused(test_key):
    jwk = {**test_key.verifying_key.to_jwk(), "alg": "ES256"}
    with pytest.raises(InvalidJwks, match="'EdDSA' or 'Ed25519'"):
        VerifyingKey.from_jwk(jwk)


@given(
    index=st.one_of(
        st.integers(-2, 2),
        st.integers(MAX_STATUS_LIST_ENTRIES - 2, MAX_STATUS_LIST_ENTRIES + 1),
        st.booleans(),
        st.floats(allow_nan=False),
        st.text(max_size=3),
        st.none(),
    ),
    uri=st.one_of(
        st.text(max_size=30),
        st.text(max_size=30).map(lambda rest: "https://" + rest),
        st.text("abc/:.?#", max_size=12).map(lambda rest: "http://" + rest),
        st.integers(),
        st.none(),
    ),
)
def test_reading_the_claim_agrees_with_making_the_reference(index, uri):
    # from_claim has a shortcut for the usual claim: it must accept exactly what the
    # StatusReference constructor accepts.
    try:
        expected = StatusReference(index=index, uri=uri)
    except ValueError:
        expected = None
    try:
        read = StatusReference.from_claim({"status_list": {"idx": index, "uri": uri}})
    except ValueError:
        read = None
    assert read == expected
