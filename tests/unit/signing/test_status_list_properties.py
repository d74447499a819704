"""Properties of the status-list parser over generated input: it raises only our own errors."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing import (
    StatusListError,
    b64url_encode,
    build_status_list_token,
    parse_status_list_token,
)

URI = "https://keys.example.com/status/1"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= \r\n\t+/\u00e9\0"
STATUSES = [0, 1, 2, 3, 0, 0, 3, 1, 2]

# Every reason parse_status_list_token may give.
PARSE_REASONS = {
    "STATUS_LIST_TOO_LARGE",
    "STATUS_LIST_MALFORMED",
    "STATUS_LIST_BAD_HEADER",
    "STATUS_LIST_UNKNOWN_KID",
    "STATUS_LIST_BAD_SIGNATURE",
    "STATUS_LIST_BAD_CLAIMS",
    "STATUS_LIST_WRONG_SUBJECT",
    "STATUS_LIST_BAD_ENCODING",
    "STATUS_LIST_DECOMPRESSED_TOO_LARGE",
}


def outcome(verifier, text):
    """The entries, or the reason of the StatusListError; anything else propagates."""
    try:
        status_list = parse_status_list_token(text, verifier, expected_uri=URI)
    except StatusListError as error:
        return error.reason
    return [int(status_list.value(i)) for i in range(len(status_list))]


@pytest.fixture(scope="module")
def token(test_key):
    return build_status_list_token(
        STATUSES, uri=URI, issued_at=1795305600, expires_at=1795392000, ttl=60, signing_key=test_key
    )


@given(st.one_of(st.text(max_size=600), st.binary(max_size=600), st.text(ALPHABET)))
def test_parse_raises_only_status_list_errors_on_arbitrary_input(verifier, text):
    assert outcome(verifier, text) in PARSE_REASONS


@st.composite
def mutations(draw, token: str) -> str | bytes:
    """Apply a few byte flips, insertions, deletions and segment swaps to ``token``."""
    data = bytearray(token.encode())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "swap"]))
        if kind == "swap":
            parts = bytes(data).split(b".")
            i, j = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
            data = bytearray(b".".join(parts))
            continue
        position = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif data and position < len(data):
            if kind == "flip":
                data[position] ^= 1 << draw(st.integers(0, 7))
            else:
                del data[position : position + draw(st.integers(1, 8))]
    as_text = draw(st.booleans())
    return data.decode("utf-8", "replace") if as_text else bytes(data)


@settings(max_examples=300)
@given(data=st.data())
def test_a_mutated_list_is_refused_with_our_error_or_reads_the_same(verifier, token, data):
    expected = outcome(verifier, token)
    mutant = data.draw(mutations(token))
    # A mutation survives only by touching surrounding whitespace or nothing at all.
    result = outcome(verifier, mutant)
    assert result == expected or result in PARSE_REASONS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
lst_values = st.one_of(
    json_values,
    st.binary(max_size=64).map(b64url_encode),
    st.binary(max_size=64).map(lambda raw: b64url_encode(zlib.compress(raw))),
    st.binary(max_size=64).map(lambda raw: b64url_encode(zlib.compress(raw)[:-2])),
)


@st.composite
def payloads(draw) -> dict:
    """A good payload with some claims replaced by arbitrary JSON, or removed."""
    payload: dict = {
        "sub": URI,
        "iat": 1795305600,
        "exp": 1795392000,
        "ttl": 60,
        "status_list": {"bits": 2, "lst": draw(lst_values)},
    }
    if draw(st.booleans()):
        payload["status_list"]["bits"] = draw(json_values)
    for name in draw(st.sets(st.sampled_from(list(payload)))):
        if draw(st.booleans()):
            del payload[name]
        else:
            payload[name] = draw(json_values)
    return payload


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(payload=payloads())
def test_signed_payloads_of_any_shape_raise_only_our_errors(verifier, forge, test_key, payload):
    header = f'{{"alg":"EdDSA","kid":"{test_key.kid}","typ":"statuslist+jwt"}}'.encode()
    result = outcome(verifier, forge(header, json.dumps(payload).encode()))
    assert isinstance(result, list) or result in PARSE_REASONS


@settings(max_examples=100)
@given(header=json_values)
def test_signed_headers_of_any_shape_raise_only_our_errors(verifier, forge, header):
    assert outcome(verifier, forge(json.dumps(header).encode(), b"{}")) in PARSE_REASONS
