"""Page tokens are opaque and tamper-proof; page sizes are bounded (AIP-158)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.api.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_PAGE_TOKEN_LENGTH,
    PageTokens,
)
from keysvc.domain.errors import InvalidArgument
from signing import b64url_decode, b64url_encode

TOKENS = PageTokens(b"k" * 32)
FILTERS = {"contract_number": "SS-2026-000001"}


def _token(after: str | int, tokens: PageTokens = TOKENS, filters=FILTERS) -> str:
    page = tokens.page_of(2, "", filters)
    return page.next_token(after, fetched=3)


def _refused(token: str, filters=FILTERS) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        TOKENS.page_of(2, token, filters)
    assert caught.value.field == "page_token"
    return caught.value


@pytest.mark.parametrize("after", ["SS-2026-000007", 41, "2026-11-22T03:00:00+00:00|kr_01"])
def test_a_token_this_service_made_opens_at_its_position(after):
    page = TOKENS.page_of(2, _token(after), FILTERS)
    assert (page.after, page.size) == (after, 2)


def test_the_last_page_has_no_token():
    page = TOKENS.page_of(2, "", FILTERS)
    assert page.next_token("x", fetched=2) == ""
    assert page.next_token(None, fetched=3) == ""


def test_a_token_whose_position_was_changed_is_refused():
    payload, seal = _token("SS-2026-000007").split(".")
    forged = json.loads(b64url_decode(payload)) | {"after": "SS-2026-000001"}
    token = f"{b64url_encode(json.dumps(forged, separators=(',', ':')).encode())}.{seal}"
    assert _refused(token).message == "page_token is not one this service made"


def test_a_token_with_one_bit_of_its_seal_flipped_is_refused():
    payload, seal = _token(41).split(".")
    raw = bytearray(b64url_decode(seal))
    raw[-1] ^= 1
    _refused(f"{payload}.{b64url_encode(bytes(raw))}")


def test_a_token_sealed_with_another_key_is_refused():
    _refused(_token(41, PageTokens(b"o" * 32)))


def test_a_token_for_other_filters_is_refused_naming_the_filters():
    token = _token(41, filters={"contract_number": "SS-2026-000002"})
    assert "other filters" in _refused(token).message


def test_an_unsealed_token_of_the_old_kind_is_refused():
    document = {"after": 41, "filters": "0" * 16}
    _refused(b64url_encode(json.dumps(document).encode()))


def test_a_forged_deeply_nested_document_is_refused_before_it_is_parsed():
    payload = b64url_encode(b"[" * 100_000)
    _refused(f"{payload}.{b64url_encode(b'0' * 16)}")


def test_a_token_one_character_over_the_limit_is_refused_unread():
    real = _token("x" * 300)
    assert len(real) <= MAX_PAGE_TOKEN_LENGTH  # real positions fit with room to spare
    _refused("A" * (MAX_PAGE_TOKEN_LENGTH + 1))


@given(st.text(max_size=MAX_PAGE_TOKEN_LENGTH + 10))
def test_any_text_is_either_no_token_or_refused_as_page_token(text):
    if text == "":
        return
    _refused(text)


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (0, DEFAULT_PAGE_SIZE),
        (1, 1),
        (MAX_PAGE_SIZE, MAX_PAGE_SIZE),
        (MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE),
    ],
)
def test_page_sizes_default_and_are_cut_at_the_maximum(asked, expected):
    assert TOKENS.page_of(asked, "", FILTERS).size == expected


def test_a_negative_page_size_is_refused_naming_it():
    with pytest.raises(InvalidArgument) as caught:
        TOKENS.page_of(-1, "", FILTERS)
    assert caught.value.field == "page_size"


def test_a_key_under_128_bits_is_refused():
    with pytest.raises(ValueError, match="128 bits"):
        PageTokens(b"k" * 15)
