from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing import b64url_decode, b64url_encode


@given(st.binary(max_size=200))
def test_encoding_round_trips_without_padding(data):
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


def test_url_safe_alphabet_is_used():
    assert b64url_encode(b"\xfb\xff") == "-_8"


@pytest.mark.parametrize("text", ["QQ==", "QQ=", "QUI="])
def test_padding_is_rejected(text):
    with pytest.raises(ValueError, match="outside"):
        b64url_decode(text)


@pytest.mark.parametrize("text", ["a+b/", "ab c", "ab\n", "ab.c", "\u0661\u0662", "ab\u00e9"])
def test_characters_outside_the_alphabet_are_rejected(text):
    with pytest.raises(ValueError, match="outside"):
        b64url_decode(text)


@pytest.mark.parametrize("text", ["A", "AAAAA", "AAAAAAAAA"])
def test_length_one_more_than_a_multiple_of_four_is_rejected(text):
    with pytest.raises(ValueError, match="length"):
        b64url_decode(text)


@pytest.mark.parametrize("text", ["QR", "QUJ", "_-9"])
def test_non_zero_trailing_bits_are_rejected(text):
    with pytest.raises(ValueError, match="trailing bits"):
        b64url_decode(text)


def test_empty_text_decodes_to_empty_bytes():
    assert b64url_decode("") == b""


def reference_decode(text):
    """The rules spelled out slowly: alphabet, length, then re-encoding must give the text."""
    if re.fullmatch(r"[A-Za-z0-9_-]*", text) is None or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return data if b64url_encode(data) == text else None


@given(st.one_of(st.text(max_size=12), st.text("AQgwEIMB-_=+/ \n\u00e9", max_size=12)))
def test_decoding_agrees_with_the_slow_reference(text):
    expected = reference_decode(text)
    try:
        actual = b64url_decode(text)
    except ValueError:
        actual = None
    assert actual == expected
    if expected is not None:
        assert b64url_decode(text.encode()) == expected
