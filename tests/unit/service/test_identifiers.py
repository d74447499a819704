"""Key request ids: unguessable, and in the order they were made; license serials."""

from __future__ import annotations

import base64
import doctest
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.service import identifiers
from keysvc.service.identifiers import (
    key_request_id_at,
    new_key_request_id,
    new_license_serial,
    new_license_serials,
)

KEY_REQUEST_ID = re.compile(r"kr_[0-9a-hjkmnp-tv-z]{36}")
instants = st.integers(min_value=0, max_value=(1 << 48) - 1)
random_parts = st.binary(min_size=16, max_size=16)


@given(instants, random_parts)
def test_an_id_is_kr_and_36_crockford_characters_holding_time_and_chance(unix_ms, random_part):
    made = key_request_id_at(unix_ms, random_part)
    assert KEY_REQUEST_ID.fullmatch(made)
    # Decoding Crockford's alphabet back gives the two parts again.
    rfc = made[3:].translate(
        str.maketrans("0123456789abcdefghjkmnpqrstvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    )
    raw = base64.b32decode(rfc + "====")
    assert (int.from_bytes(raw[:6], "big"), raw[6:]) == (unix_ms, random_part)


@given(instants, instants, random_parts, random_parts)
def test_ids_sort_as_their_instants_then_their_random_parts(ms_a, ms_b, random_a, random_b):
    a, b = key_request_id_at(ms_a, random_a), key_request_id_at(ms_b, random_b)
    assert (a < b) == ((ms_a, random_a) < (ms_b, random_b))


def test_out_of_range_parts_are_refused():
    with pytest.raises(ValueError, match="milliseconds"):
        key_request_id_at(1 << 48, bytes(16))
    with pytest.raises(ValueError, match="milliseconds"):
        key_request_id_at(-1, bytes(16))
    with pytest.raises(ValueError, match="16 random bytes"):
        key_request_id_at(0, bytes(8))


def test_new_ids_are_distinct_and_later_ones_sort_after():
    first = [new_key_request_id() for _ in range(10_000)]
    assert len(set(first)) == len(first)
    assert all(KEY_REQUEST_ID.fullmatch(made) for made in first)
    time.sleep(0.002)
    later = new_key_request_id()
    assert later > max(first)


def test_new_ids_carry_the_current_time():
    before = time.time_ns() // 1_000_000
    made = new_key_request_id()
    after = time.time_ns() // 1_000_000
    assert key_request_id_at(before, bytes(16)) <= made < key_request_id_at(after + 1, bytes(16))


def test_license_serials_read_l_year_and_ten_base32_characters():
    serials = {new_license_serial(2026) for _ in range(1_000)}
    assert len(serials) == 1_000
    assert all(re.fullmatch(r"L-2026-[A-Z2-7]{10}", serial) for serial in serials)


@given(st.integers(min_value=0, max_value=300))
def test_serials_made_together_are_as_many_distinct_serials_of_the_year(count):
    serials = new_license_serials(2027, count)
    assert len(set(serials)) == count
    assert all(re.fullmatch(r"L-2027-[A-Z2-7]{10}", serial) for serial in serials)


def test_serials_made_together_share_their_first_half_and_vary_in_the_second():
    serials = new_license_serials(2026, 2_000)
    random_parts = [serial.removeprefix("L-2026-") for serial in serials]
    assert len({part[:5] for part in random_parts}) == 1
    for position in range(5, 10):
        assert len({part[position] for part in random_parts}) == 32


def test_every_character_of_serials_made_apart_takes_every_value():
    random_parts = [new_license_serial(2026).removeprefix("L-2026-") for _ in range(2_000)]
    for position in range(10):
        assert len({part[position] for part in random_parts}) == 32


def test_serials_made_together_never_repeat_even_when_their_halves_would():
    # 50,000 halves of 25 random bits repeat with near certainty (about 37 repeats
    # expected): those are drawn again.
    serials = new_license_serials(2026, 50_000)
    assert len(set(serials)) == 50_000


@pytest.mark.parametrize("count", [-1, 32**5 + 1])
def test_a_number_of_serials_that_cannot_be_distinct_is_refused(count):
    with pytest.raises(ValueError, match="count"):
        new_license_serials(2026, count)


def test_docstring_examples_hold():
    result = doctest.testmod(identifiers)
    assert result.attempted > 0
    assert result.failed == 0
