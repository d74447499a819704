"""What each refusal of the status-list builder and parser says, and the bounds at their edge.

The message names the part, the claim and the rule, for the operator reading a
product's log: these tests hold the whole text, not a fragment of it.
"""

from __future__ import annotations

import dataclasses
import json
import zlib

import pytest

from signing import (
    MAX_STATUS_LIST_BYTES,
    MAX_STATUS_LIST_TOKEN_BYTES,
    InvalidStatusListClaims,
    MalformedStatusList,
    StatusIndexOutOfRange,
    StatusListBadEncoding,
    StatusListInflatesTooLarge,
    StatusListNotTheKeys,
    StatusListSubjectMismatch,
    StatusListTooLarge,
    StatusReference,
    UnsupportedStatusListHeader,
    b64url_encode,
    check_status,
    pack_statuses,
)

from .test_status_list import IAT, URI, build, parse, status_list_claim
from .test_status_list import claims as list_claims

TOO_LARGE = f"at most {MAX_STATUS_LIST_TOKEN_BYTES} are accepted"
OTHER_URI = "https://keys.example.com/status/2"


def _message(call, error_class) -> str:
    with pytest.raises(error_class) as caught:
        call()
    return str(caught.value)


@pytest.fixture(scope="module")
def token(test_key):
    return build(test_key)


@pytest.fixture(scope="module")
def sign_payload(forge, test_key):
    """Sign a payload (a dict as JSON, or bytes) under a header of members given or good ones."""

    def sign(payload, **header_members):
        header = {"alg": "EdDSA", "kid": test_key.kid, "typ": "statuslist+jwt", **header_members}
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return forge(json.dumps(header).encode(), body)

    return sign


# -- building -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "error_class", "message"),
    [
        (5, TypeError, "statuses must be bytes or a sequence of integers 0..3"),
        ("0123", TypeError, "statuses must be bytes or a sequence of integers 0..3"),
        ([0, 256], ValueError, "statuses must be integers 0..3"),
        ([], ValueError, "a status list must have at least one entry"),
        ([0, 4], ValueError, "every status must be 0, 1, 2 or 3"),
    ],
)
def test_statuses_that_are_no_list_say_what_a_list_is(statuses, error_class, message):
    assert _message(lambda: pack_statuses(statuses), error_class) == message


def test_the_latest_safe_integer_is_a_valid_expiry_and_ttl(test_key, verifier):
    latest = 2**53 - 1
    status_list = parse(build(test_key, expires_at=latest, ttl=latest), verifier)
    assert (status_list.expires_at, status_list.ttl) == (latest, latest)


# -- the token's size and shape ------------------------------------------------------


def test_too_large_text_and_bytes_say_their_size(verifier):
    size = MAX_STATUS_LIST_TOKEN_BYTES + 1
    expected = f"status list token is {size} bytes; {TOO_LARGE}"
    assert _message(lambda: parse("A" * size, verifier), StatusListTooLarge) == expected
    assert _message(lambda: parse(b"A" * size, verifier), StatusListTooLarge) == expected


def test_too_long_text_is_refused_by_its_length_without_being_encoded(verifier):
    # Too many characters whatever they encode to: the text is not encoded (a huge
    # one would cost its size again), so the size said is the number of characters.
    size = MAX_STATUS_LIST_TOKEN_BYTES + 1
    assert (
        _message(lambda: parse("\u00e9" * size, verifier), StatusListTooLarge)
        == f"status list token is {size} bytes; {TOO_LARGE}"
    )


def test_non_ascii_text_and_bytes_say_which(verifier, token):
    text = _message(lambda: parse(token + "\u00e9", verifier), MalformedStatusList)
    assert text == "status list token contains non-ASCII characters"
    data = _message(lambda: parse(token.encode() + b"\xff", verifier), MalformedStatusList)
    assert data == "status list token contains non-ASCII bytes"


def test_neither_text_nor_bytes_names_the_type(verifier):
    assert (
        _message(lambda: parse(42, verifier), MalformedStatusList)
        == "status list token must be str or bytes, not int"
    )


def test_an_empty_token_says_so(verifier):
    assert (
        _message(lambda: parse(" \n", verifier), MalformedStatusList)
        == "status list token is empty"
    )


def test_a_token_of_two_parts_says_how_many(verifier, token):
    assert (
        _message(lambda: parse(token.rsplit(".", 1)[0], verifier), MalformedStatusList)
        == "status list token must have 3 dot-separated parts, got 2"
    )


@pytest.mark.parametrize(("index", "name"), [(0, "header"), (1, "payload"), (2, "signature")])
def test_a_bad_part_is_named(verifier, token, index, name):
    parts = token.split(".")
    parts[index] = "A"  # an impossible base64url length
    message = _message(lambda: parse(".".join(parts), verifier), MalformedStatusList)
    assert message.startswith(f"status list token {name} part is not strict base64url: ")
    parts[index] = ""
    message = _message(lambda: parse(".".join(parts), verifier), MalformedStatusList)
    assert message == f"status list token {name} part is empty"


# -- the header ----------------------------------------------------------------------


def test_a_header_that_is_no_json_object_says_so(verifier, forge):
    message = _message(lambda: parse(forge(b"[1]", b"{}"), verifier), UnsupportedStatusListHeader)
    assert message.startswith("status list header is not a JSON object: ")


def test_a_header_with_other_members_lists_them(verifier, sign_payload):
    assert (
        _message(
            lambda: parse(sign_payload(list_claims(), crit=["exp"]), verifier),
            UnsupportedStatusListHeader,
        )
        == "status list header must have exactly alg, kid, typ; has alg, crit, kid, typ"
    )


def test_an_empty_kid_says_what_a_kid_must_be(verifier, sign_payload):
    assert (
        _message(
            lambda: parse(sign_payload(list_claims(), kid=""), verifier),
            UnsupportedStatusListHeader,
        )
        == "status list header kid must be a non-empty string"
    )


def test_keys_of_another_type_name_the_type(token):
    with pytest.raises(TypeError) as caught:
        parse(token, ["not a key"])
    assert str(caught.value) == "keys must be VerifyingKey objects, not str"


# -- the claims ----------------------------------------------------------------------


def test_the_earliest_issue_time_and_shortest_ttl_are_accepted(verifier, sign_payload):
    status_list = parse(sign_payload(list_claims(iat=0, exp=1, ttl=1)), verifier)
    assert (status_list.issued_at, status_list.expires_at, status_list.ttl) == (0, 1, 1)


def test_every_missing_claim_is_named(verifier, sign_payload):
    payload = {name: value for name, value in list_claims().items() if name not in {"iat", "ttl"}}
    assert (
        _message(lambda: parse(sign_payload(payload), verifier), InvalidStatusListClaims)
        == "status list lacks the claims iat, ttl"
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (list_claims(sub=""), "status list sub must be a non-empty string"),
        (list_claims(status_list=[]), "status list status_list must be a JSON object"),
        (status_list_claim(lst=""), "status list lst must be a non-empty string"),
        (
            list_claims(exp=IAT),
            f"status list claims are invalid: exp must be between {IAT + 1} and 2**53 - 1, "
            f"got {IAT}",
        ),
    ],
)
def test_a_claim_of_the_wrong_kind_says_what_it_must_be(verifier, sign_payload, payload, message):
    assert (
        _message(lambda: parse(sign_payload(payload), verifier), InvalidStatusListClaims) == message
    )


def test_a_list_for_another_uri_names_both(verifier, token):
    assert (
        _message(lambda: parse(token, verifier, expected_uri=OTHER_URI), StatusListSubjectMismatch)
        == f"status list is for {URI!r}, not the expected {OTHER_URI!r}"
    )


# -- the compressed list -------------------------------------------------------------


@pytest.mark.parametrize(
    ("compressed", "message"),
    [
        (zlib.compress(b"\x01\x02")[:-3], "status list lst is a truncated ZLIB stream"),
        (zlib.compress(b"\x01\x02") + b"\x00", "status list lst has bytes after its ZLIB stream"),
        (zlib.compress(b""), "status list lst decompresses to no bytes"),
    ],
    ids=["truncated", "trailing_byte", "empty"],
)
def test_a_list_that_is_not_one_zlib_stream_says_how(verifier, sign_payload, compressed, message):
    payload = status_list_claim(lst=b64url_encode(compressed))
    assert (
        _message(lambda: parse(sign_payload(payload), verifier), StatusListBadEncoding) == message
    )


def test_a_list_inflating_past_the_bound_says_the_bound(verifier, sign_payload):
    payload = status_list_claim(lst=b64url_encode(zlib.compress(bytes(MAX_STATUS_LIST_BYTES + 1))))
    assert (
        _message(lambda: parse(sign_payload(payload), verifier), StatusListInflatesTooLarge)
        == "status list lst decompresses to more than 1048576 bytes"
    )


def test_nothing_after_the_byte_past_the_bound_is_inflated(verifier, sign_payload):
    # The bound and one byte beyond it inflate, the next byte is a literal, and the
    # stream is broken after it: inflating stops before the break, so the list is
    # refused for its size, as a zip bomb is, not for its encoding.
    deflater = zlib.compressobj(9)
    compressed = deflater.compress(bytes(MAX_STATUS_LIST_BYTES + 1) + b"\x01")
    compressed += deflater.flush(zlib.Z_FULL_FLUSH) + b"\xff\xff"  # a reserved block type
    with pytest.raises(zlib.error, match="invalid block type"):
        zlib.decompress(compressed)
    payload = status_list_claim(lst=b64url_encode(compressed))
    with pytest.raises(StatusListInflatesTooLarge):
        parse(sign_payload(payload), verifier)


# -- reading and checking ------------------------------------------------------------


@pytest.mark.parametrize("index", [-1, 12])
def test_an_index_outside_the_list_says_which_entries_it_has(verifier, token, index):
    status_list = parse(token, verifier)
    assert (
        _message(lambda: status_list.value(index), StatusIndexOutOfRange)
        == f"status list {URI!r} has entries 0 to 11; idx {index} is outside it"
    )


def test_a_list_that_is_not_the_keys_names_both_uris(verifier, token, ring, claims):
    keyed = dataclasses.replace(claims, status=StatusReference(index=0, uri=OTHER_URI))
    license = verifier.verify(ring.sign_license(keyed))
    assert (
        _message(lambda: check_status(license, parse(token, verifier), now=0), StatusListNotTheKeys)
        == f"the key's status is in {OTHER_URI!r}; the list given is {URI!r}"
    )
