"""Publishing the status lists: built from the database, signed, stored for serving.

A job of the scheduler (`keysvc.background`) runs `StatusPublisher.publish_batch`
every `PUBLICATION_INTERVAL`. Each run publishes at most one list that is due
(`keysvc.domain.status_entries.publication_due`): one whose entries changed, whose
overlaps ended since it was built, or whose token is a day old. The list is read
in one snapshot, signed outside any transaction, and stored only if no replica
stored a more recent one meanwhile: replicas may all publish, the database keeps
the most recent token, and none ever replaces it with an older one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from keysvc.domain.status_entries import EXPIRY, TTL, entry_value, publication_due
from keysvc.persistence.database import snapshot_transaction
from keysvc.persistence.status_list_repository import (
    ListState,
    entry_rows,
    list_states,
    next_supersede_at,
    store_token,
)
from keysvc.service.signing_keys import SigningKeys
from scheduler.clock import Clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Build:
    """A list read for publishing: its state, size and entry values as of `as_of`."""

    state: ListState
    values: bytearray
    as_of: datetime


class StatusPublisher:
    """Builds, signs and stores the status lists that are due (SPEC section 5a)."""

    def __init__(self, engine: Engine, signing_keys: SigningKeys, clock: Clock) -> None:
        self._engine = engine
        self._signing_keys = signing_keys
        self._clock = clock

    def publish_batch(self) -> bool:
        """Publishes one list that is due, if any; returns whether more may be due."""
        now = self._clock.now()
        with snapshot_transaction(self._engine) as connection:
            due = self._due_lists(connection, now)
            if not due:
                return False
            build = _read(connection, due[0], now)
            key_ring = self._signing_keys.key_ring(connection)
        issued_at = int(now.timestamp())
        token = key_ring.sign_status_list(
            build.values,
            uri=build.state.uri,
            issued_at=issued_at,
            expires_at=issued_at + int(EXPIRY.total_seconds()),
            ttl=int(TTL.total_seconds()),
        )
        with self._engine.begin() as connection:
            stored = store_token(
                connection,
                build.state.number,
                token=token,
                revision=build.state.revision,
                as_of=build.as_of,
                issued_at=now,
                expires_at=now + EXPIRY,
            )
        logger.info(
            "published a status list" if stored else "a replica published this status list first",
            extra={"status_list": build.state.number, "revision": build.state.revision},
        )
        return len(due) > 1

    @staticmethod
    def _due_lists(connection: Connection, now: datetime) -> list[ListState]:
        return [
            state
            for state in list_states(connection)
            if publication_due(
                state.published,
                revision=state.revision,
                next_supersede_at=(
                    None
                    if state.published is None
                    else next_supersede_at(connection, state.number, state.published.as_of)
                ),
                now=now,
            )
        ]


def _read(connection: Connection, state: ListState, as_of: datetime) -> _Build:
    """The list's entry values at `as_of`, one byte each, from the snapshot."""
    values = bytearray(state.size)
    for row in entry_rows(connection, state.number):
        values[row.index] = entry_value(
            row.status,
            row.supersede_at,
            signed_by_withdrawn_key=row.signed_by_withdrawn_key,
            at=as_of,
        )
    return _Build(state, values, as_of)
