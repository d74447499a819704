"""Delivered messages are recorded SENT in groups: what that saves, and what a crash costs.

The sender marks ``sent_marks_per_commit`` delivered messages per transaction
(and the rest at the end of the batch). A crash between a delivery and its
group's transaction re-sends at most that many messages, each with the same
Message-ID; a message another sender recorded in the meantime is left alone.
On SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

import keysvc.mail.outbox as outbox_module
from keysvc.mail import OutboxSender, transport_from_url
from keysvc.mail.outbox import DEFAULT_SENT_MARKS_PER_COMMIT
from keysvc.mail.testing import CapturingTransport, parse_message
from keysvc.persistence.outbox_repository import (
    DEFAULT_LEASE,
    claim_due,
    find_outbox_entry,
    mark_sent,
)
from scheduler.clock import FixedClock

from .conftest import NOW

SENT = "license e-mail sent"
TAKEN_OVER = "license e-mail sent, but another sender had already recorded it"


class SimulatedCrash(BaseException):
    """The process dying: not an Exception, so nothing in the sender catches it."""


def entry(engine, request_id):
    with engine.connect() as connection:
        found = find_outbox_entry(connection, request_id)
    assert found is not None
    return found


def request_id(index: int) -> str:
    return f"kr{index:03d}"


def message_id(index: int) -> str:
    return f"<keysvc.{request_id(index)}@keysvc.example.jp>"


@pytest.fixture
def mark_calls(monkeypatch) -> list[list[int]]:
    """The ids given to each `mark_sent_many` call the sender makes (one per transaction)."""
    calls: list[list[int]] = []
    original = outbox_module.mark_sent_many

    def recording(connection, outbox_ids, now):
        calls.append(list(outbox_ids))
        return original(connection, outbox_ids, now)

    monkeypatch.setattr(outbox_module, "mark_sent_many", recording)
    return calls


def records(caplog, *messages: str) -> list[tuple[str, str]]:
    """(message, message_id) of the sender's log records with these messages, in order."""
    return [
        (record.getMessage(), getattr(record, "message_id", ""))
        for record in caplog.records
        if record.name == "keysvc.mail.outbox" and record.getMessage().startswith(messages)
    ]


def test_the_default_group_is_ten():
    assert DEFAULT_SENT_MARKS_PER_COMMIT == 10


@pytest.mark.parametrize("grouping", [(10, [10, 10, 5]), (1, [1] * 25), (50, [25])])
def test_delivered_messages_are_marked_in_groups_and_at_the_end(
    engine, outbox, mark_calls, caplog, grouping
):
    per_commit, group_sizes = grouping
    outbox.queue_many(25)
    caplog.set_level(logging.INFO, logger="keysvc.mail.outbox")
    sender = OutboxSender(
        engine, CapturingTransport(), FixedClock(NOW), sent_marks_per_commit=per_commit
    )
    report = sender.send_batch()
    assert (report.claimed, report.sent) == (25, 25)
    assert [len(ids) for ids in mark_calls] == group_sizes
    assert all(entry(engine, request_id(index)).state == "SENT" for index in range(25))
    assert entry(engine, request_id(0)).sent_at == NOW
    # Still one INFO line per message, in delivery order.
    assert records(caplog, SENT) == [(SENT, message_id(index)) for index in range(25)]


def test_a_failure_is_recorded_after_the_marks_before_it(engine, outbox, mark_calls, caplog):
    outbox.queue("kr000")
    outbox.queue("kr001", recipient="nobody@example.co.jp")
    outbox.queue("kr002")
    caplog.set_level(logging.INFO, logger="keysvc.mail.outbox")

    class Refusing(CapturingTransport):
        def deliver(self, mail) -> None:
            if mail.recipient == "nobody@example.co.jp":
                raise outbox_module.PermanentDeliveryError("550 no such user")
            super().deliver(mail)

    report = OutboxSender(engine, Refusing(), FixedClock(NOW)).send_batch()
    assert (report.sent, report.gave_up) == (2, 1)
    ids = {index: entry(engine, request_id(index)).id for index in range(3)}
    assert mark_calls == [[ids[0]], [ids[2]]]
    assert [message for message, _ in records(caplog, SENT, "license e-mail FAILED")] == [
        SENT,
        "license e-mail FAILED (refused permanently); not retrying",
        SENT,
    ]


class CrashAfter:
    """Delivers through ``transport``; the process 'dies' right after the ``count``-th delivery."""

    def __init__(self, transport, count: int) -> None:
        self._transport = transport
        self._count = count

    @contextlib.contextmanager
    def session(self) -> Iterator[CrashAfter]:
        with self._transport.session() as inner:
            self._inner = inner
            yield self

    def deliver(self, mail) -> None:
        self._inner.deliver(mail)
        self._count -= 1
        if self._count == 0:
            self._inner.flush()  # out for good, as an SMTP server's acceptance
            raise SimulatedCrash

    def flush(self) -> None:
        self._inner.flush()


@pytest.mark.parametrize(
    ("crash_after", "resent"),
    [
        # Worst case: the N-th message of a group is out, its group not yet recorded.
        (20, range(10, 20)),
        # Mid-group: the first 10 are recorded, 11 to 15 are not.
        (15, range(10, 15)),
        # Before the first group was recorded.
        (1, range(0, 1)),
    ],
)
def test_a_crash_before_the_group_is_recorded_resends_at_most_n_with_the_same_message_id(
    engine, outbox, smtp_server, crash_after, resent
):
    queued = outbox.queue_many(25)
    clock = FixedClock(NOW)
    transport = transport_from_url(smtp_server.url)
    with pytest.raises(SimulatedCrash):
        OutboxSender(engine, CrashAfter(transport, crash_after), clock).send_batch()
    unrecorded = [
        index for index in range(crash_after) if entry(engine, request_id(index)).state == "QUEUED"
    ]
    assert unrecorded == list(resent)
    assert len(unrecorded) <= DEFAULT_SENT_MARKS_PER_COMMIT

    # After the lease a restarted sender delivers the rest, re-sending the unrecorded.
    clock.advance(DEFAULT_LEASE)
    restarted = OutboxSender(engine, transport, clock)
    assert restarted.send_due() == 25 - crash_after + len(unrecorded)

    received = smtp_server.handler.messages()
    ids = [str(parse_message(each.content)["Message-ID"]) for each in received]
    twice = sorted({each for each in ids if ids.count(each) > 1})
    assert twice == sorted(message_id(index) for index in resent)
    assert all(ids.count(each) == 2 for each in twice)
    assert sorted(set(ids)) == sorted(mail.message_id for mail in queued)
    # A re-send is the same message, byte for byte.
    for each in twice:
        first, second = (item.content for item in received if each.encode() in item.content)
        assert first == second
    assert all(entry(engine, request_id(index)).state == "SENT" for index in range(25))


def test_a_crash_during_the_group_transaction_leaves_the_group_queued(
    engine, outbox, smtp_server, monkeypatch
):
    outbox.queue_many(12)
    clock = FixedClock(NOW)

    def crash(connection, outbox_ids, now):
        raise SimulatedCrash

    monkeypatch.setattr(outbox_module, "mark_sent_many", crash)
    with pytest.raises(SimulatedCrash):
        OutboxSender(engine, transport_from_url(smtp_server.url), clock).send_batch()
    assert len(smtp_server.handler.messages()) == 10
    assert all(entry(engine, request_id(index)).state == "QUEUED" for index in range(12))
    monkeypatch.undo()

    clock.advance(DEFAULT_LEASE)
    assert OutboxSender(engine, transport_from_url(smtp_server.url), clock).send_due() == 12
    assert len(smtp_server.handler.messages()) == 22  # the first 10 twice


def test_a_message_another_sender_recorded_is_not_marked_by_us_and_is_logged(
    engine, outbox, caplog
):
    outbox.queue_many(2)
    caplog.set_level(logging.INFO, logger="keysvc.mail.outbox")
    later = NOW + DEFAULT_LEASE + timedelta(minutes=1)

    class TakenOverMeanwhile(CapturingTransport):
        """While kr001 is delivered, kr000's lease runs out and another sender records it."""

        def deliver(self, mail) -> None:
            super().deliver(mail)
            if mail.message_id == message_id(1):
                with engine.begin() as connection:
                    (taken,) = claim_due(connection, later, 1)
                    assert taken.key_request_id == request_id(0)
                    assert mark_sent(connection, taken.id, later)

    report = OutboxSender(engine, TakenOverMeanwhile(), FixedClock(NOW)).send_batch()
    assert (report.claimed, report.sent) == (2, 2)

    theirs, ours = entry(engine, request_id(0)), entry(engine, request_id(1))
    assert (theirs.state, theirs.attempts, theirs.sent_at) == ("SENT", 2, later)
    assert (ours.state, ours.attempts, ours.sent_at) == ("SENT", 1, NOW)
    assert records(caplog, SENT) == [(TAKEN_OVER, message_id(0)), (SENT, message_id(1))]
    (warning,) = [record for record in caplog.records if record.getMessage() == TAKEN_OVER]
    assert warning.levelno == logging.WARNING


def test_a_database_error_while_marking_is_raised_after_one_more_try(engine, outbox, monkeypatch):
    outbox.queue_many(3)
    original = outbox_module.mark_sent_many
    failures = [OperationalError("UPDATE", {}, Exception("connection lost"))]

    def failing_once(connection, outbox_ids, now):
        if failures:
            raise failures.pop()
        return original(connection, outbox_ids, now)

    monkeypatch.setattr(outbox_module, "mark_sent_many", failing_once)
    sender = OutboxSender(engine, CapturingTransport(), FixedClock(NOW), sent_marks_per_commit=2)
    with pytest.raises(OperationalError):
        sender.send_batch()
    # The group that failed was recorded on the second try; the third message,
    # never delivered, waits for its lease.
    states = [entry(engine, request_id(index)).state for index in range(3)]
    assert states == ["SENT", "SENT", "QUEUED"]


def test_when_marking_fails_twice_the_messages_stay_queued_and_it_is_logged(
    engine, outbox, monkeypatch, caplog
):
    outbox.queue_many(2)

    def failing(connection, outbox_ids, now):
        raise OperationalError("UPDATE", {}, Exception("database down"))

    monkeypatch.setattr(outbox_module, "mark_sent_many", failing)
    sender = OutboxSender(engine, CapturingTransport(), FixedClock(NOW))
    with pytest.raises(OperationalError):
        sender.send_batch()
    assert [entry(engine, request_id(index)).state for index in range(2)] == ["QUEUED"] * 2
    (logged,) = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert logged.getMessage().startswith("license e-mails sent but not recorded")
    assert logged.message_ids == [message_id(0), message_id(1)]  # type: ignore[attr-defined]


def test_the_half_lease_cut_off_records_what_was_delivered(engine, outbox, mark_calls):
    outbox.queue_many(3)
    clock = FixedClock(NOW)
    lease = timedelta(minutes=4)

    class Slow(CapturingTransport):
        def deliver(self, mail) -> None:
            super().deliver(mail)
            clock.advance(timedelta(minutes=1))

    report = OutboxSender(engine, Slow(), clock, lease=lease).send_batch()
    assert (report.sent, report.deferred) == (2, 1)
    assert [len(ids) for ids in mark_calls] == [2]
    assert [entry(engine, request_id(index)).state for index in range(3)] == [
        "SENT",
        "SENT",
        "QUEUED",
    ]


def test_sent_marks_per_commit_must_be_positive(engine):
    with pytest.raises(ValueError, match="sent_marks_per_commit"):
        OutboxSender(engine, CapturingTransport(), FixedClock(NOW), sent_marks_per_commit=0)


class FlushRecording(CapturingTransport):
    """Notes each delivery and each flush, in order, beside the sender's marks."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def deliver(self, mail) -> None:
        super().deliver(mail)
        self.events.append("deliver")

    def flush(self) -> None:
        self.events.append("flush")


def test_each_group_is_flushed_before_it_is_marked(engine, outbox, monkeypatch):
    outbox.queue_many(12)
    events: list[str] = []
    original = outbox_module.mark_sent_many

    def recording(connection, outbox_ids, now):
        events.append(f"mark {len(outbox_ids)}")
        return original(connection, outbox_ids, now)

    monkeypatch.setattr(outbox_module, "mark_sent_many", recording)
    report = OutboxSender(engine, FlushRecording(events), FixedClock(NOW)).send_batch()
    assert report.sent == 12
    first_group = [*["deliver"] * 10, "flush", "mark 10"]
    assert events == [*first_group, "deliver", "deliver", "flush", "mark 2"]


def test_a_failed_flush_is_a_failed_attempt_for_each_message_of_its_group(
    engine, outbox, mark_calls
):
    outbox.queue_many(12)

    class LosingTheSecondGroup(CapturingTransport):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1
            if self.flushes == 2:
                raise outbox_module.DeliveryError("cannot write to the Maildir: disk full")

    report = OutboxSender(engine, LosingTheSecondGroup(), FixedClock(NOW)).send_batch()
    assert (report.claimed, report.sent, report.retrying) == (12, 10, 2)
    assert [len(ids) for ids in mark_calls] == [10]
    for index in (10, 11):
        lost = entry(engine, request_id(index))
        assert (lost.state, lost.attempts) == ("QUEUED", 1)
        assert lost.last_error == "cannot write to the Maildir: disk full"
        assert lost.next_attempt_at == NOW + outbox_module.DEFAULT_FIRST_RETRY_DELAY
    assert entry(engine, request_id(9)).state == "SENT"
