"""What each refusal of the claims and of the status claim says.

The parser puts the message after "license key claims are invalid: " or "license
key status claim is invalid: ", so it is what an operator reads about a bad key.
"""

from __future__ import annotations

import dataclasses

import pytest

from signing import LicenseClaims, StatusReference
from signing.claims import StatusClaimValueError

URI = "https://keys.example.com/status/1"


def _message(call, error_class=ValueError) -> str:
    with pytest.raises(error_class) as caught:
        call()
    return str(caught.value)


# -- the claims ----------------------------------------------------------------------


def test_missing_claims_are_named_in_the_order_keys_are_written(claims):
    payload = {
        name: value for name, value in claims.to_payload().items() if name not in {"sub", "sup"}
    }
    assert _message(lambda: LicenseClaims.from_payload(payload)) == "missing claims: sub, sup"


def test_another_issuer_says_which_is_expected(claims):
    payload = {**claims.to_payload(), "iss": "someone-else"}
    assert _message(lambda: LicenseClaims.from_payload(payload)) == "iss must be 'keysvc'"


@pytest.mark.parametrize("sup", ["20271121", "2027-W47-1", 20271121])
def test_a_support_end_not_written_yyyy_mm_dd_says_how_to_write_it(claims, sup):
    payload = {**claims.to_payload(), "sup": sup}
    assert (
        _message(lambda: LicenseClaims.from_payload(payload))
        == "sup must be a date written YYYY-MM-DD"
    )


@pytest.mark.parametrize("fph", ["not-a-hash", 12345, None])
def test_a_fingerprint_hash_that_is_no_sha256_says_so(claims, fph):
    assert (
        _message(lambda: dataclasses.replace(claims, fingerprint_hash=fph))
        == "fph must be 43 characters of canonical base64url (a SHA-256)"
    )


@pytest.mark.parametrize("issuer", ["", 7, None])
def test_an_issuer_that_is_no_text_says_so(claims, issuer):
    assert (
        _message(lambda: dataclasses.replace(claims, issuer=issuer))
        == "iss must be a non-empty string"
    )


def test_a_status_that_is_no_reference_says_what_it_must_be(claims):
    status = {"status_list": {"idx": 0, "uri": URI}}
    assert (
        _message(lambda: dataclasses.replace(claims, status=status))
        == "status must be a StatusReference or None"
    )


# -- the status claim ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "status must be a JSON object"),
        ({"status_lists": {}}, "status must have a status_list member"),
        ({"status_list": [0, URI]}, "status.status_list must be a JSON object"),
        ({"status_list": {"idx": True, "uri": URI}}, "status list idx must be an integer"),
        ({"status_list": {"idx": 0, "uri": ""}}, "status list uri must be a non-empty string"),
        (
            {"status_list": {"idx": 0, "uri": "ftp://keys.example.com/status/1"}},
            "status list uri must be an http:// or https:// URL of printable ASCII with a host",
        ),
    ],
)
def test_a_status_claim_that_breaks_a_rule_says_which(value, message):
    assert _message(lambda: StatusReference.from_claim(value), StatusClaimValueError) == message


# -- the bounds, on the field-by-field path -------------------------------------------


@pytest.mark.parametrize("field", ["issued_at", "seats", "generation"])
def test_the_largest_safe_integer_is_accepted_beside_non_ascii_text(claims, field):
    # Text beyond ASCII is checked field by field, the integers beside it too.
    largest = dataclasses.replace(claims, product_code="ACME-SRV-\u00e9", **{field: 2**53 - 1})
    assert LicenseClaims.from_payload(largest.to_payload()) == largest
    with pytest.raises(ValueError, match="2\\*\\*53 - 1, got 9007199254740992"):
        dataclasses.replace(largest, **{field: 2**53})
