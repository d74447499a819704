from __future__ import annotations

import base64
import hashlib

import pytest

from signing import InvalidFingerprint, SigningError, fingerprint_hash, normalise_fingerprint


def test_ascii_whitespace_at_both_ends_is_trimmed():
    assert normalise_fingerprint(" \t\r\n\x0b\x0cabcdefgh \t\r\n\x0b\x0c") == "abcdefgh"


def test_inner_spaces_are_kept():
    assert normalise_fingerprint("abcd  efgh") == "abcd  efgh"


def test_fingerprint_is_lowercased():
    assert normalise_fingerprint("FP1:ABCDEF") == "fp1:abcdef"


def test_eight_and_512_characters_are_the_limits():
    assert normalise_fingerprint("a" * 8) == "a" * 8
    assert normalise_fingerprint("a" * 512) == "a" * 512


@pytest.mark.parametrize("text", ["a" * 7, " " * 4 + "a" * 7 + "\n", "", "        "])
def test_fewer_than_eight_characters_after_trimming_are_rejected(text):
    with pytest.raises(InvalidFingerprint, match="8 to 512"):
        normalise_fingerprint(text)


def test_more_than_512_characters_are_rejected():
    with pytest.raises(InvalidFingerprint, match="8 to 512"):
        normalise_fingerprint("a" * 513)


@pytest.mark.parametrize(
    "text", ["abcd\tefgh", "abcdefgh\x7f", "abcdefgh\x00", "fingerprint\u00e9", "\u00a0abcdefgh"]
)
def test_characters_other_than_printable_ascii_are_rejected(text):
    with pytest.raises(InvalidFingerprint, match="printable ASCII"):
        normalise_fingerprint(text)


def test_invalid_fingerprint_is_a_signing_error_and_a_value_error():
    with pytest.raises(InvalidFingerprint) as caught:
        normalise_fingerprint("short")
    assert isinstance(caught.value, SigningError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.reason == "INVALID_FINGERPRINT"


def test_non_str_fingerprint_is_rejected():
    with pytest.raises(InvalidFingerprint):
        normalise_fingerprint(b"abcdefgh")  # type: ignore[arg-type]


def test_hash_is_base64url_sha256_of_prefixed_normal_form():
    digest = hashlib.sha256(b"keysvc-fp1:fp1:abcdef12").digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert fingerprint_hash("  FP1:ABCDEF12\n") == expected
    assert len(expected) == 43


def test_spellings_of_one_fingerprint_hash_equal():
    assert fingerprint_hash("Server-ABCDEFGH") == fingerprint_hash("\tserver-abcdefgh  ")
