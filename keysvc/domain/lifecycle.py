"""Lifecycles: key-request kinds and states, license statuses, signing-key states, period kinds.

Each enum's values are the strings stored in the database (the schema's CHECK
constraints list the same), so a value read from a row is looked up by value
and a member is bound as its string. SPEC section 2 describes the lifecycle
(staff may also reject a PENDING request)::

    PENDING ──release──▶ RELEASED
       │  ▲
     hold approve
       ▼  │
      HELD
    PENDING, HELD ──reject──▶ REJECTED

A release makes a license ACTIVE; the license it replaces becomes SUPERSEDED;
staff may revoke an ACTIVE or SUPERSEDED license (REVOKED). A signing key is
ACTIVE (exactly one signs) or RETIRED (it only verifies).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Final

__all__ = [
    "OPEN_STATES",
    "TRANSITIONS",
    "KeyRequestKind",
    "KeyRequestState",
    "LicenseStatus",
    "PeriodKind",
    "SigningKeyState",
    "can_move",
    "is_late",
]


class KeyRequestKind(StrEnum):
    """What a key request asks for."""

    INITIAL = "INITIAL"
    REISSUE = "REISSUE"
    SEATS_CHANGE = "SEATS_CHANGE"
    # Made by keysvc when a signing key is withdrawn: the same license signed again by
    # the active key (never submitted by a caller, never counted as a re-issue).
    REPLACEMENT = "REPLACEMENT"


class KeyRequestState(StrEnum):
    """Where a key request is in its lifecycle."""

    PENDING = "PENDING"
    HELD = "HELD"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"


class LicenseStatus(StrEnum):
    """Whether a license's key is the one in force."""

    ACTIVE = "ACTIVE"
    SUPERSEDED = "SUPERSEDED"
    REVOKED = "REVOKED"


class SigningKeyState(StrEnum):
    """Whether a signing key signs new licenses (ACTIVE, exactly one) or only verifies."""

    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


class PeriodKind(StrEnum):
    """How a support period began: with the purchase, a renewal, or a re-continuation
    after a lapse (SPEC section 4)."""

    INITIAL = "INITIAL"
    RENEWAL = "RENEWAL"
    RECONTINUATION = "RECONTINUATION"


OPEN_STATES: Final = (KeyRequestState.PENDING, KeyRequestState.HELD)
"""The states of a request still waiting for its key: one per contract at a time."""

TRANSITIONS: Final[Mapping[KeyRequestState, frozenset[KeyRequestState]]] = {
    # A release refused at its time (e.g. support ended meanwhile) holds the request.
    KeyRequestState.PENDING: frozenset(
        {KeyRequestState.HELD, KeyRequestState.RELEASED, KeyRequestState.REJECTED}
    ),
    # A HELD request is released only after staff approve it (back to PENDING).
    KeyRequestState.HELD: frozenset({KeyRequestState.PENDING, KeyRequestState.REJECTED}),
    KeyRequestState.RELEASED: frozenset(),
    KeyRequestState.REJECTED: frozenset(),
}
"""The states each state may move to."""


def can_move(current: KeyRequestState, to: KeyRequestState) -> bool:
    """Whether a request in `current` may move to `to`.

    >>> can_move(KeyRequestState.HELD, KeyRequestState.RELEASED)
    False
    """
    return to in TRANSITIONS[current]


def is_late(due_date: date, released_on: date) -> bool:
    """Whether a request released on the Tokyo day `released_on` missed its due date.

    Released on the due date itself is on time; the day after is late.

    >>> is_late(date(2026, 12, 7), date(2026, 12, 7)), is_late(date(2026, 12, 7), date(2026, 12, 8))
    (False, True)
    """
    return released_on > due_date
