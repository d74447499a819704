"""The audit log's hash chain: how an event is hashed, and how a chain is checked.

Every event of a database has a sequence number (1, 2, 3, … without gaps) and
a hash that covers the hash before it::

    hash(n) = SHA-256(hash(n-1) || encode(n, event))      hash(0) = 32 zero bytes

``encode`` is version 1 of the canonical encoding: each of ``seq`` (decimal),
``occurred_at`` (UTC, ISO 8601 with microseconds and ``Z``), ``actor_token_id``,
``actor_role``, ``method``, ``resource`` and ``outcome``, as UTF-8 preceded by
its length in 4 bytes, big-endian. Length prefixes make the encoding unambiguous
(no field can borrow from its neighbour), and a few lines of any language
rebuild it. The row's ``id`` is not covered: the sequence number is the event's
place in the chain.

The database also keeps the chain's head (the last sequence number and its
hash), which every writer updates in the event's transaction. `verify_chain`
walks the events in sequence order and names the first place where the chain
does not hold: an event altered, removed or inserted, events beyond the head,
or the newest events cut off. What it cannot see — a chain rewritten whole and
its head with it — is in docs/operations.md ("Audit log tampering").

No I/O here: the repository reads the rows, this module judges them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

__all__ = [
    "GENESIS_HASH",
    "AuditFacts",
    "BreakKind",
    "ChainBreak",
    "ChainCheck",
    "ChainHead",
    "ChainedEvent",
    "chain_events",
    "event_hash",
    "verify_chain",
]

# The "previous hash" of the first event.
GENESIS_HASH: Final = bytes(32)


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """What an audit event says: who did what to which resource, when, and how it ended."""

    occurred_at: datetime
    actor_token_id: str
    actor_role: str
    method: str
    resource: str
    outcome: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last link of a chain: its sequence number (0 when empty) and hash."""

    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """An event as stored: its row id (to name it), its place in the chain, its hash."""

    id: int
    seq: int
    hash: bytes
    facts: AuditFacts


def _encode(seq: int, facts: AuditFacts) -> bytes:
    if facts.occurred_at.tzinfo is None:
        raise ValueError("an audit event's time must be timezone-aware")
    instant = facts.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = (
        str(seq),
        instant,
        facts.actor_token_id,
        facts.actor_role,
        facts.method,
        facts.resource,
        facts.outcome,
    )
    parts: list[bytes] = []
    for field in fields:
        encoded = field.encode("utf-8")
        parts += (len(encoded).to_bytes(4, "big"), encoded)
    return b"".join(parts)


def event_hash(previous: bytes, seq: int, facts: AuditFacts) -> bytes:
    """The hash of event `seq`, chained to the hash of the event before it.

    >>> event_hash(GENESIS_HASH, 1, AuditFacts(
    ...     datetime(2026, 12, 7, tzinfo=UTC), "t1", "admin", "/m", "r", "OK")).hex()[:16]
    'b655bf157f50c425'
    """
    return hashlib.sha256(previous + _encode(seq, facts)).digest()


def chain_events(head: ChainHead, events: Iterable[AuditFacts]) -> list[tuple[int, bytes]]:
    """The sequence numbers and hashes of `events` appended, in order, after `head`."""
    links = []
    seq, previous = head.seq, head.hash
    for facts in events:
        seq += 1
        previous = event_hash(previous, seq, facts)
        links.append((seq, previous))
    return links


class BreakKind(StrEnum):
    """How a chain is broken at its first broken place."""

    # Its content or hash is not what was written: altered, or a row put in its place.
    ALTERED = "ALTERED"
    # Sequence numbers are missing before it: events deleted.
    MISSING = "MISSING"
    # Not where a chain has it (a sequence number below 1, or repeated).
    OUT_OF_ORDER = "OUT_OF_ORDER"
    # Beyond the recorded head: added outside keysvc.
    BEYOND_HEAD = "BEYOND_HEAD"
    # The head names events that are not there: the newest ones deleted.
    TRUNCATED = "TRUNCATED"
    # The head's hash is not the last event's, or the head is gone.
    HEAD_MISMATCH = "HEAD_MISMATCH"
    # Not the hash recorded outside the database for it (an anchor), or gone:
    # the chain was rewritten up to here, or cut back below it.
    ANCHOR_MISMATCH = "ANCHOR_MISMATCH"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where the chain does not hold.

    `seq` is the sequence number where it breaks; `event_id` the row found
    there (None when the event is missing); `detail` says what was found.
    """

    kind: BreakKind
    seq: int
    event_id: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of checking a chain: the events read, the head, the first break."""

    events: int
    head: ChainHead | None
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        """True when every event links to the one before it and the last one is the head."""
        return self.broken is None


def verify_chain(
    head: ChainHead | None,
    events: Iterable[ChainedEvent],
    anchors: Mapping[int, bytes] | None = None,
) -> ChainCheck:
    """Checks `events`, given in sequence order, against each other and the recorded `head`.

    `anchors` maps sequence numbers to hashes recorded outside the database
    (heads printed by earlier checks): each must still be the hash at its place,
    which a chain rewritten from an earlier event, or cut back below it, is not.
    Stops at the first break. `head` is None when the head row is missing.
    """
    anchors = anchors or {}
    count = 0
    last = ChainHead(0, GENESIS_HASH)
    for event in events:
        count += 1
        broken = _check_link(head, last, event) or _check_anchor(anchors, event)
        if broken is not None:
            return ChainCheck(count, head, broken)
        last = ChainHead(event.seq, event.hash)
    lost = sorted(seq for seq in anchors if seq > last.seq)
    if lost:
        return ChainCheck(
            count,
            head,
            ChainBreak(
                BreakKind.ANCHOR_MISMATCH,
                lost[0],
                None,
                f"記録された seq {lost[0]} がもうありません (巻き戻し) / "
                f"the anchored seq {lost[0]} is gone: the log was cut back below it",
            ),
        )
    return ChainCheck(count, head, _check_head(head, last))


def _check_anchor(anchors: Mapping[int, bytes], event: ChainedEvent) -> ChainBreak | None:
    anchored = anchors.get(event.seq)
    if anchored is None or anchored == event.hash:
        return None
    return ChainBreak(
        BreakKind.ANCHOR_MISMATCH,
        event.seq,
        event.id,
        f"id {event.id} のハッシュが記録されたものと異なります (チェーンの書き換え) / "
        "its hash is not the one recorded: the chain was rewritten up to here",
    )


def _check_link(head: ChainHead | None, last: ChainHead, event: ChainedEvent) -> ChainBreak | None:
    expected = last.seq + 1
    if event.seq > expected:
        return ChainBreak(
            BreakKind.MISSING,
            expected,
            None,
            f"seq {_span(expected, event.seq - 1)} がありません (削除) / missing (deleted); "
            f"next present: seq {event.seq}, id {event.id}",
        )
    if event.seq < expected:
        return ChainBreak(
            BreakKind.OUT_OF_ORDER,
            event.seq,
            event.id,
            f"seq {event.seq} は {expected} の位置にあり得ません / "
            f"cannot follow seq {last.seq} (id {event.id})",
        )
    if head is not None and event.seq > head.seq:
        return ChainBreak(
            BreakKind.BEYOND_HEAD,
            event.seq,
            event.id,
            f"id {event.id} はチェーンの先頭 (seq {head.seq}) より後にあります (外部から追加) / "
            f"lies beyond the chain head (seq {head.seq}): added outside keysvc",
        )
    if event_hash(last.hash, event.seq, event.facts) != event.hash:
        return ChainBreak(
            BreakKind.ALTERED,
            event.seq,
            event.id,
            f"id {event.id} の内容かハッシュが書き込まれたときと異なります (改変) / "
            "content or hash differs from what was written (altered, or a forged row)",
        )
    return None


def _check_head(head: ChainHead | None, last: ChainHead) -> ChainBreak | None:
    if head is None:
        return ChainBreak(
            BreakKind.HEAD_MISMATCH,
            last.seq,
            None,
            "チェーンの先頭 (audit_chain_head) がありません / the chain head row is missing",
        )
    if head.seq > last.seq:
        return ChainBreak(
            BreakKind.TRUNCATED,
            last.seq + 1,
            None,
            f"最新の seq {_span(last.seq + 1, head.seq)} がありません (末尾の削除) / "
            "the newest events are missing (deleted from the end)",
        )
    if head.hash != last.hash:
        return ChainBreak(
            BreakKind.HEAD_MISMATCH,
            last.seq,
            None,
            f"チェーンの先頭のハッシュが seq {last.seq} のものと異なります / "
            f"the head's hash is not that of seq {last.seq}",
        )
    return None


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"
