"""What each refusal of the key parser says: the message names the part and the rule,
for the operator reading a log or the customer reading keysvc-migrate's output."""

from __future__ import annotations

import json

import pytest

from signing import (
    FingerprintMismatch,
    InvalidJwks,
    KeyTooLarge,
    LicenseVerifier,
    MalformedKey,
    UnsupportedHeader,
    b64url_encode,
)


def _message(call, error_class) -> str:
    with pytest.raises(error_class) as caught:
        call()
    return str(caught.value)


def test_an_empty_key_says_so(verifier):
    assert _message(lambda: verifier.verify(" \n"), MalformedKey) == "license key is empty"


@pytest.mark.parametrize(("index", "name"), [(0, "header"), (1, "payload"), (2, "signature")])
def test_a_bad_part_is_named(verifier, license_key, index, name):
    parts = license_key.split(".")
    parts[index] = "A"  # an impossible base64url length
    message = _message(lambda: verifier.verify(".".join(parts)), MalformedKey)
    assert message.startswith(f"license key {name} part is not strict base64url: ")
    parts[index] = ""
    message = _message(lambda: verifier.verify(".".join(parts)), MalformedKey)
    assert message == f"license key {name} part is empty"


def test_non_ascii_text_and_bytes_say_which(verifier, license_key):
    text = _message(lambda: verifier.verify(license_key + "é"), MalformedKey)
    assert text == "license key contains non-ASCII characters"
    data = _message(lambda: verifier.verify(license_key.encode() + b"\xff"), MalformedKey)
    assert data == "license key contains non-ASCII bytes"


def test_neither_text_nor_bytes_names_the_type(verifier):
    assert (
        _message(lambda: verifier.verify(42), MalformedKey)
        == "license key must be str or bytes, not int"
    )


def test_too_large_bytes_say_their_size(verifier):
    assert (
        _message(lambda: verifier.verify(b"a" * 4097), KeyTooLarge)
        == "license key is 4097 bytes; at most 4096 are accepted"
    )


def test_too_long_text_is_refused_by_its_length_without_being_encoded(verifier):
    # 4,097 characters are too many whatever they encode to: the text is not
    # encoded (a huge one would cost its size again), so the size said is the least.
    assert (
        _message(lambda: verifier.verify("é" * 4097), KeyTooLarge)
        == "license key is 4097 bytes; at most 4096 are accepted"
    )
    assert (
        _message(lambda: verifier.verify("é" * 2049), KeyTooLarge)
        == "license key is 4098 bytes; at most 4096 are accepted"
    )


def test_a_header_that_is_no_json_object_says_so(verifier, forge, claims):
    key = forge(b"[1]", json.dumps(claims.to_payload()).encode())
    assert _message(lambda: verifier.verify(key), UnsupportedHeader).startswith(
        "license key header is not a JSON object: "
    )


def test_a_header_with_other_members_lists_them_in_order(verifier, forge, claims, test_key):
    header = json.dumps({"typ": "license+jwt", "alg": "EdDSA", "kid": test_key.kid, "x5u": "u"})
    key = forge(header.encode(), json.dumps(claims.to_payload()).encode())
    assert _message(lambda: verifier.verify(key), UnsupportedHeader) == (
        "license key header must have exactly alg, kid, typ; has alg, kid, typ, x5u"
    )


@pytest.mark.parametrize("kid", ["", 7])
def test_an_empty_or_non_text_kid_says_so(verifier, forge, claims, kid):
    header = json.dumps({"alg": "EdDSA", "kid": kid, "typ": "license+jwt"}).encode()
    key = forge(header, json.dumps(claims.to_payload()).encode())
    assert (
        _message(lambda: verifier.verify(key), UnsupportedHeader)
        == "license key header kid must be a non-empty string"
    )


def test_a_key_for_another_server_says_so(verifier, license_key):
    assert (
        _message(lambda: verifier.verify(license_key, "fp1:another-server"), FingerprintMismatch)
        == "license key was issued for a different server fingerprint"
    )


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ([], "JWKS must be a JSON object"),  # parsed already, but not a mapping
        ('{"keys": []}', "JWKS must have a non-empty 'keys' list"),
        ({}, "JWKS must have a non-empty 'keys' list"),
    ],
)
def test_an_unusable_jwks_says_why(jwks, message):
    assert _message(lambda: LicenseVerifier.from_jwks(jwks), InvalidJwks) == message


@pytest.mark.parametrize("text", ["{", "[]"])
def test_a_jwks_text_that_is_no_json_object_says_so(text):
    assert _message(lambda: LicenseVerifier.from_jwks(text), InvalidJwks).startswith(
        "JWKS is not a JSON object: "
    )


def test_the_header_segment_is_base64url_of_the_exact_ascii_header(license_key, test_key):
    expected = f'{{"alg":"EdDSA","kid":"{test_key.kid}","typ":"license+jwt"}}'
    assert license_key.split(".")[0] == b64url_encode(expected.encode())
