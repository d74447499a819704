"""The audit hash chain: its encoding, and the first break `verify_chain` names."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.domain.audit_chain import (
    GENESIS_HASH,
    AuditFacts,
    BreakKind,
    ChainedEvent,
    ChainHead,
    chain_events,
    event_hash,
    verify_chain,
)

WHEN = datetime(2026, 12, 7, 6, 30, 0, 123456, tzinfo=UTC)


def _facts(number: int) -> AuditFacts:
    return AuditFacts(
        WHEN + timedelta(seconds=number),
        f"token{number}",
        "admin",
        "/keysvc.v1.AdminService/RevokeLicense",
        f"licenses/L-{number}",
        "OK",
    )


def _chain(count: int) -> tuple[ChainHead, list[ChainedEvent]]:
    """A chain of `count` events as keysvc writes it (row ids from 101), and its head."""
    facts = [_facts(number) for number in range(1, count + 1)]
    links = chain_events(ChainHead(0, GENESIS_HASH), facts)
    events = [
        ChainedEvent(100 + seq, seq, hash_, fact)
        for (seq, hash_), fact in zip(links, facts, strict=True)
    ]
    head = ChainHead(*links[-1]) if links else ChainHead(0, GENESIS_HASH)
    return head, events


def test_the_encoding_is_length_prefixed_utf8_fields_after_the_previous_hash() -> None:
    # Rebuilt by hand from the format in the module's docstring, as an auditor's
    # script in another language would.
    facts = AuditFacts(WHEN, "t1", "admin", "/m", "契約/SS-1", "OK")
    fields = ["7", "2026-12-07T06:30:00.123456Z", "t1", "admin", "/m", "契約/SS-1", "OK"]
    encoded = b"".join(len(field.encode()).to_bytes(4, "big") + field.encode() for field in fields)
    previous = bytes(range(32))
    assert event_hash(previous, 7, facts) == hashlib.sha256(previous + encoded).digest()


def test_the_same_instant_in_another_time_zone_hashes_the_same() -> None:
    in_tokyo = replace(
        _facts(1), occurred_at=_facts(1).occurred_at.astimezone(timezone(timedelta(hours=9)))
    )
    assert event_hash(GENESIS_HASH, 1, in_tokyo) == event_hash(GENESIS_HASH, 1, _facts(1))


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    naive = replace(_facts(1), occurred_at=datetime(2026, 12, 7))
    with pytest.raises(ValueError, match="timezone-aware"):
        event_hash(GENESIS_HASH, 1, naive)


def test_moving_text_between_neighbouring_fields_changes_the_hash() -> None:
    one = replace(_facts(1), method="/ab", resource="c")
    other = replace(_facts(1), method="/a", resource="bc")
    assert event_hash(GENESIS_HASH, 1, one) != event_hash(GENESIS_HASH, 1, other)


def test_chaining_continues_from_the_head() -> None:
    head, events = _chain(5)
    first_three = chain_events(ChainHead(0, GENESIS_HASH), [e.facts for e in events[:3]])
    rest = chain_events(ChainHead(*first_three[-1]), [e.facts for e in events[3:]])
    assert [*first_three, *rest] == [(e.seq, e.hash) for e in events]
    assert ChainHead(*rest[-1]) == head


@pytest.mark.parametrize("count", [0, 1, 4])
def test_an_untouched_chain_is_intact(count: int) -> None:
    head, events = _chain(count)
    check = verify_chain(head, events)
    assert check.intact
    assert check.events == count
    assert check.head == head


@pytest.mark.parametrize(
    "field", ["occurred_at", "actor_token_id", "actor_role", "method", "resource", "outcome"]
)
def test_an_altered_field_breaks_the_chain_at_that_event(field: str) -> None:
    head, events = _chain(4)
    original = getattr(events[1].facts, field)
    changed = original + timedelta(microseconds=1) if field == "occurred_at" else original + "x"
    events[1] = replace(events[1], facts=replace(events[1].facts, **{field: changed}))
    broken = verify_chain(head, events).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ALTERED, 2, 102)


def test_an_altered_hash_breaks_the_chain_at_that_event() -> None:
    head, events = _chain(3)
    events[2] = replace(events[2], hash=bytes(32))
    broken = verify_chain(head, events).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ALTERED, 3, 103)


def test_a_deleted_event_is_named_by_its_missing_seq() -> None:
    head, events = _chain(5)
    del events[1:3]
    broken = verify_chain(head, events).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.MISSING, 2, None)
    assert "2..3" in broken.detail
    assert "id 104" in broken.detail


def test_a_deleted_first_event_is_missing_seq_1() -> None:
    head, events = _chain(3)
    broken = verify_chain(head, events[1:]).broken
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.MISSING, 1)


def test_deleting_the_newest_events_leaves_the_head_pointing_past_the_end() -> None:
    head, events = _chain(5)
    broken = verify_chain(head, events[:3]).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.TRUNCATED, 4, None)
    assert "4..5" in broken.detail


def test_deleting_every_event_is_seen_from_the_head() -> None:
    head, _events = _chain(2)
    broken = verify_chain(head, []).broken
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.TRUNCATED, 1)


def test_an_event_added_beyond_the_head_is_named() -> None:
    head, events = _chain(3)
    # Even with a correctly computed hash: the head was not moved.
    forged_facts = _facts(99)
    forged = ChainedEvent(999, 4, event_hash(events[-1].hash, 4, forged_facts), forged_facts)
    broken = verify_chain(head, [*events, forged]).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.BEYOND_HEAD, 4, 999)


def test_a_forged_event_in_a_deleted_event_s_place_is_altered() -> None:
    head, events = _chain(3)
    events[1] = ChainedEvent(555, 2, bytes(32), _facts(42))
    broken = verify_chain(head, events).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ALTERED, 2, 555)


def test_a_repeated_or_impossible_seq_is_out_of_order() -> None:
    head, events = _chain(3)
    broken = verify_chain(head, [events[0], events[0], *events[1:]]).broken
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.OUT_OF_ORDER, 1)


def test_a_missing_head_or_a_head_of_another_hash_is_a_head_mismatch() -> None:
    head, events = _chain(3)
    missing = verify_chain(None, events).broken
    assert missing is not None
    assert missing.kind == BreakKind.HEAD_MISMATCH
    other = verify_chain(replace(head, hash=bytes(32)), events).broken
    assert other is not None
    assert (other.kind, other.seq) == (BreakKind.HEAD_MISMATCH, 3)


def test_the_first_break_is_named_when_there_are_several() -> None:
    head, events = _chain(6)
    events[4] = replace(events[4], facts=replace(events[4].facts, outcome="REPLAYED"))
    del events[1]
    broken = verify_chain(head, events).broken
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.MISSING, 2)


@given(
    count=st.integers(min_value=1, max_value=12),
    data=st.data(),
    text=st.text(min_size=1, max_size=8),
)
def test_any_change_to_any_event_is_found_at_that_event(count: int, data, text: str) -> None:
    head, events = _chain(count)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    field = data.draw(st.sampled_from(["actor_token_id", "method", "resource", "outcome"]))
    facts = events[index].facts
    changed = replace(facts, **{field: getattr(facts, field) + text})
    events[index] = replace(events[index], facts=changed)
    broken = verify_chain(head, events).broken
    assert broken is not None
    assert (broken.kind, broken.seq) == (BreakKind.ALTERED, index + 1)


def _rewritten_from(events: list[ChainedEvent], index: int) -> tuple[ChainHead, list]:
    """The chain with event `index` changed and every hash from it recomputed."""
    changed = [e.facts for e in events]
    changed[index] = replace(changed[index], outcome="PERMISSION_DENIED")
    start = ChainHead(0, GENESIS_HASH) if index == 0 else ChainHead(index, events[index - 1].hash)
    links = chain_events(start, changed[index:])
    rewritten = events[:index] + [
        ChainedEvent(e.id, seq, hash_, facts)
        for e, (seq, hash_), facts in zip(events[index:], links, changed[index:], strict=True)
    ]
    return ChainHead(*links[-1]), rewritten


def test_a_rewritten_chain_passes_alone_but_not_against_an_anchor_after_the_change() -> None:
    _head, events = _chain(6)
    anchor = {4: events[3].hash}
    rewritten_head, rewritten = _rewritten_from(events, 1)
    assert verify_chain(rewritten_head, rewritten).intact
    broken = verify_chain(rewritten_head, rewritten, anchor).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ANCHOR_MISMATCH, 4, 104)


def test_an_anchor_before_the_change_still_holds() -> None:
    _head, events = _chain(6)
    rewritten_head, rewritten = _rewritten_from(events, 4)
    assert verify_chain(rewritten_head, rewritten, {3: events[2].hash}).intact


def test_a_log_cut_back_below_an_anchor_is_named() -> None:
    _head, events = _chain(6)
    cut_head = ChainHead(events[2].seq, events[2].hash)
    assert verify_chain(cut_head, events[:3]).intact  # consistent on its own
    broken = verify_chain(cut_head, events[:3], {5: events[4].hash}).broken
    assert broken is not None
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ANCHOR_MISMATCH, 5, None)
