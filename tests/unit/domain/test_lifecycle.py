"""The key-request lifecycle: which moves are allowed, and when a release is late."""

from __future__ import annotations

from datetime import date

import pytest

from keysvc.domain.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    KeyRequestKind,
    KeyRequestState,
    LicenseStatus,
    PeriodKind,
    SigningKeyState,
    can_move,
    is_late,
)

PENDING, HELD, RELEASED, REJECTED = (
    KeyRequestState.PENDING,
    KeyRequestState.HELD,
    KeyRequestState.RELEASED,
    KeyRequestState.REJECTED,
)
ALLOWED = {
    (PENDING, HELD),
    (PENDING, RELEASED),
    (PENDING, REJECTED),
    (HELD, PENDING),
    (HELD, REJECTED),
}


@pytest.mark.parametrize("current", list(KeyRequestState))
@pytest.mark.parametrize("to", list(KeyRequestState))
def test_only_the_documented_moves_are_allowed(current, to):
    assert can_move(current, to) is ((current, to) in ALLOWED)


def test_every_state_has_its_moves_listed():
    assert set(TRANSITIONS) == set(KeyRequestState)


def test_a_held_request_is_released_only_after_approval():
    assert not can_move(HELD, RELEASED)
    assert can_move(HELD, PENDING)
    assert can_move(PENDING, RELEASED)


def test_released_and_rejected_are_final():
    assert all(not can_move(final, to) for final in (RELEASED, REJECTED) for to in KeyRequestState)


def test_open_states_are_those_that_can_still_move():
    assert set(OPEN_STATES) == {state for state in KeyRequestState if TRANSITIONS[state]}


@pytest.mark.parametrize(
    ("released_on", "late"),
    [
        (date(2026, 12, 6), False),  # early
        (date(2026, 12, 7), False),  # on the due date itself
        (date(2026, 12, 8), True),  # the day after
        (date(2027, 12, 7), True),
    ],
)
def test_late_means_released_after_the_due_date(released_on, late):
    assert is_late(date(2026, 12, 7), released_on) is late


@pytest.mark.parametrize(
    ("enum", "stored"),
    [
        (KeyRequestKind, ["INITIAL", "REISSUE", "SEATS_CHANGE", "REPLACEMENT"]),
        (KeyRequestState, ["PENDING", "HELD", "RELEASED", "REJECTED"]),
        (LicenseStatus, ["ACTIVE", "SUPERSEDED", "REVOKED"]),
        (SigningKeyState, ["ACTIVE", "RETIRED"]),
        (PeriodKind, ["INITIAL", "RENEWAL", "RECONTINUATION"]),
    ],
)
def test_values_are_the_stored_strings(enum, stored):
    assert [member.value for member in enum] == stored
    assert all(enum(value) == value for value in stored)
