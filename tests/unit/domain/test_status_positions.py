"""Status list positions: a keyed permutation, so indexes are never shared nor reused."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.domain.status_positions import LIST_SIZE_BITS, list_size, position

KEY = bytes(range(32))


@pytest.mark.parametrize("bits", [2, 4, 8, 12])
def test_every_position_of_a_small_list_is_handed_out_exactly_once(bits):
    positions = [position(KEY, n, bits=bits) for n in range(list_size(bits))]
    assert sorted(positions) == list(range(list_size(bits)))


def test_the_default_list_has_a_million_entries_and_positions_within_it():
    assert list_size() == 1_048_576 == 1 << LIST_SIZE_BITS
    first, last = position(KEY, 0), position(KEY, list_size() - 1)
    assert 0 <= first < list_size()
    assert 0 <= last < list_size()
    assert first != last


def test_positions_do_not_follow_the_order_they_are_handed_out_in():
    positions = [position(KEY, n) for n in range(1000)]
    assert len(set(positions)) == 1000
    ascending = sum(a < b for a, b in itertools.pairwise(positions))
    # A random order rises about half the time; the identity always would.
    assert 400 < ascending < 600


def test_another_key_gives_other_positions():
    other = bytes(reversed(range(32)))
    assert [position(KEY, n) for n in range(50)] != [position(other, n) for n in range(50)]


@pytest.mark.parametrize("counter", [-1, 1 << LIST_SIZE_BITS])
def test_a_counter_outside_the_list_is_refused(counter):
    with pytest.raises(ValueError, match="counter"):
        position(KEY, counter)


@pytest.mark.parametrize("bits", [0, 1, 3, 64])
def test_an_odd_or_out_of_range_width_is_refused(bits):
    with pytest.raises(ValueError, match="bits"):
        position(KEY, 0, bits=bits)


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="key"):
        position(b"short", 0)


@given(
    st.binary(min_size=16, max_size=64),
    st.integers(0, (1 << 10) - 1),
    st.integers(0, (1 << 10) - 1),
)
def test_distinct_counters_never_share_a_position(key, a, b):
    assert (position(key, a, bits=10) == position(key, b, bits=10)) == (a == b)


def test_positions_are_the_same_in_every_release():
    # The database keeps each list's counter, not the positions handed out: were the
    # permutation to change, the next keys could be given positions already taken.
    assert [position(KEY, n) for n in (0, 1, 2, list_size() - 1)] == [
        782882,
        982655,
        806564,
        283743,
    ]
    assert [position(KEY, n, bits=4) for n in range(16)] == [
        6, 0, 3, 5, 4, 7, 1, 2, 15, 11, 8, 12, 10, 9, 13, 14
    ]  # fmt: skip


def test_the_widest_list_of_62_bits_is_allowed():
    assert [position(KEY, n, bits=62) for n in (0, 1, (1 << 62) - 1)] == [
        2937744105318038050,
        1337603424076948123,
        1524169390922399915,
    ]


def test_refusals_say_the_rule_and_the_value():
    with pytest.raises(ValueError, match="counter") as counter:
        position(KEY, list_size())
    assert str(counter.value) == "counter must be within 0 and 1048575, got 1048576"
    with pytest.raises(ValueError, match="bits") as bits:
        position(KEY, 0, bits=64)
    assert str(bits.value) == "bits must be even and between 2 and 62, got 64"
    with pytest.raises(ValueError, match="key") as key:
        position(b"k" * 15, 0)
    assert str(key.value) == "the list's key must be at least 16 bytes"
