"""The outbox table's operations, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from keysvc.persistence.database import create_database_engine
from keysvc.persistence.outbox_repository import (
    DEFAULT_LEASE,
    claim_due,
    delivery_state,
    find_outbox_entry,
    mark_failed_attempt,
    mark_sent,
    mark_sent_many,
    queue_mails,
)
from keysvc.persistence.schema import key_requests, mail_outbox
from tests.integration.persistence.rows import key_request

from .conftest import NOW, license_mail


def test_queued_mail_is_due_at_once_with_no_attempts(engine, outbox):
    mail = outbox.queue("kr1")
    with engine.connect() as connection:
        entry = find_outbox_entry(connection, "kr1")
        stored = connection.execute(select(mail_outbox.c.message)).scalar_one()
    assert entry is not None
    assert (entry.state, entry.attempts, entry.next_attempt_at) == ("QUEUED", 0, NOW)
    assert (entry.message_id, entry.recipient) == (mail.message_id, mail.recipient)
    assert (entry.created_at, entry.sent_at, entry.last_error) == (NOW, None, None)
    assert bytes(stored) == mail.message


def test_delivery_state_is_none_without_mail(engine, outbox):
    with engine.connect() as connection:
        assert delivery_state(connection, "kr-none") is None


def test_queued_mail_rolls_back_with_the_callers_transaction(engine, outbox):
    class Abort(Exception):
        pass

    def release_then_fail() -> None:
        with engine.begin() as connection:
            connection.execute(key_requests.insert(), key_request("kr1"))
            queue_mails(connection, {"kr1": license_mail("kr1")}, NOW)
            raise Abort

    with pytest.raises(Abort):
        release_then_fail()
    with engine.connect() as connection:
        assert delivery_state(connection, "kr1") is None


def test_a_message_is_never_queued_twice(engine, outbox):
    outbox.queue("kr1")
    # The same Message-ID again (a retried release, say) is refused.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        queue_mails(connection, {"kr1": license_mail("kr1")}, NOW)


def test_claim_takes_due_mail_oldest_first_and_leases_it(engine, outbox):
    outbox.queue_many(3)
    with engine.begin() as connection:
        items = claim_due(connection, NOW, 2)
    assert [item.key_request_id for item in items] == ["kr000", "kr001"]
    assert [item.attempts for item in items] == [1, 1]
    with engine.connect() as connection:
        entry = find_outbox_entry(connection, "kr000")
    assert entry is not None
    assert (entry.state, entry.attempts, entry.next_attempt_at) == (
        "QUEUED",
        1,
        NOW + DEFAULT_LEASE,
    )


def test_claimed_mail_is_not_due_again_until_its_lease_ends(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        assert len(claim_due(connection, NOW, 10)) == 1
    with engine.begin() as connection:
        assert claim_due(connection, NOW + DEFAULT_LEASE - timedelta(seconds=1), 10) == []
    with engine.begin() as connection:
        (again,) = claim_due(connection, NOW + DEFAULT_LEASE, 10)
    assert again.attempts == 2


def test_mail_due_later_is_not_claimed(engine, outbox):
    outbox.queue("kr1", now=NOW + timedelta(minutes=1))
    with engine.begin() as connection:
        assert claim_due(connection, NOW, 10) == []


def test_sent_mail_is_never_claimed_again(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        (item,) = claim_due(connection, NOW, 10)
        assert mark_sent(connection, item.id, NOW)
    with engine.begin() as connection:
        assert claim_due(connection, NOW + timedelta(days=1), 10) == []
        assert delivery_state(connection, "kr1") == "SENT"
        entry = find_outbox_entry(connection, "kr1")
    assert entry is not None
    assert entry.sent_at == NOW


def test_marking_sent_twice_reports_the_second_time(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        (item,) = claim_due(connection, NOW, 10)
        assert mark_sent(connection, item.id, NOW)
        assert not mark_sent(connection, item.id, NOW)


def test_mark_sent_many_marks_queued_rows_and_returns_their_ids(engine, outbox):
    outbox.queue_many(4)
    with engine.begin() as connection:
        items = claim_due(connection, NOW, 10)
    first, second, third, fourth = (item.id for item in items)
    later = NOW + timedelta(minutes=1)
    with engine.begin() as connection:
        assert mark_sent(connection, second, NOW)  # recorded by someone else first
        mark_failed_attempt(
            connection, third, now=NOW, error="550 no", next_attempt_at=NOW, give_up=True
        )
        marked = mark_sent_many(connection, [first, second, third, fourth], later)
    assert marked == {first, fourth}
    with engine.connect() as connection:
        entries = [find_outbox_entry(connection, f"kr{index:03d}") for index in range(4)]
    assert [(e.state, e.sent_at) for e in entries if e is not None] == [
        ("SENT", later),
        ("SENT", NOW),  # left as the first recorder wrote it
        ("FAILED", None),
        ("SENT", later),
    ]


def test_mark_sent_many_clears_the_last_error(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        (item,) = claim_due(connection, NOW, 10)
        mark_failed_attempt(
            connection, item.id, now=NOW, error="421 busy", next_attempt_at=NOW, give_up=False
        )
        assert mark_sent_many(connection, [item.id], NOW) == {item.id}
        entry = find_outbox_entry(connection, "kr1")
    assert entry is not None
    assert (entry.state, entry.last_error) == ("SENT", None)


def test_mark_sent_many_with_no_ids_does_nothing(engine, outbox):
    with engine.begin() as connection:
        assert mark_sent_many(connection, [], NOW) == frozenset()


def test_mark_sent_many_ignores_unknown_ids(engine, outbox):
    with engine.begin() as connection:
        assert mark_sent_many(connection, [12345], NOW) == frozenset()


def test_claim_returns_rows_oldest_first_with_their_stored_message(engine, outbox):
    queued = outbox.queue_many(12)
    with engine.begin() as connection:
        items = claim_due(connection, NOW, 12)
    assert [item.key_request_id for item in items] == [f"kr{index:03d}" for index in range(12)]
    assert [item.id for item in items] == sorted(item.id for item in items)
    assert [(item.message_id, item.recipient, item.message) for item in items] == [
        (mail.message_id, mail.recipient, mail.message) for mail in queued
    ]


def test_failed_attempt_schedules_the_next_one(engine, outbox):
    outbox.queue("kr1")
    retry_at = NOW + timedelta(seconds=30)
    with engine.begin() as connection:
        (item,) = claim_due(connection, NOW, 10)
        assert mark_failed_attempt(
            connection, item.id, now=NOW, error="421 busy", next_attempt_at=retry_at, give_up=False
        )
        entry = find_outbox_entry(connection, "kr1")
    assert entry is not None
    assert (entry.state, entry.attempts, entry.next_attempt_at) == ("QUEUED", 1, retry_at)
    assert entry.last_error == "421 busy"


def test_giving_up_fails_the_mail_for_good(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        (item,) = claim_due(connection, NOW, 10)
        mark_failed_attempt(
            connection, item.id, now=NOW, error="550 no", next_attempt_at=NOW, give_up=True
        )
    with engine.begin() as connection:
        assert delivery_state(connection, "kr1") == "FAILED"
        assert claim_due(connection, NOW + timedelta(days=1), 10) == []


def test_a_stale_failure_does_not_cut_a_newer_claim_short(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        (first,) = claim_due(connection, NOW, 10)
    later = NOW + DEFAULT_LEASE
    with engine.begin() as connection:
        (second,) = claim_due(connection, later, 10)
        assert not mark_failed_attempt(
            connection,
            first.id,
            now=later,
            error="late",
            next_attempt_at=later,
            give_up=False,
            claimed_attempts=first.attempts,
        )
        entry = find_outbox_entry(connection, "kr1")
    assert entry is not None
    assert (entry.attempts, entry.next_attempt_at) == (second.attempts, later + DEFAULT_LEASE)


def test_long_errors_are_cut(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection:
        (item,) = claim_due(connection, NOW, 10)
        mark_failed_attempt(
            connection, item.id, now=NOW, error="x" * 5000, next_attempt_at=NOW, give_up=False
        )
        entry = find_outbox_entry(connection, "kr1")
    assert entry is not None
    assert entry.last_error == "x" * 1000


def test_next_attempt_before_the_failure_is_refused(engine, outbox):
    outbox.queue("kr1")
    with engine.begin() as connection, pytest.raises(ValueError, match="before"):
        mark_failed_attempt(
            connection,
            1,
            now=NOW,
            error="e",
            next_attempt_at=NOW - timedelta(seconds=1),
            give_up=False,
        )


def test_claims_in_concurrent_transactions_never_overlap(engine, outbox, database_url):
    outbox.queue_many(30)
    engines = [create_database_engine(database_url) for _ in range(4)]
    claimed: list[list[int]] = [[] for _ in engines]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def claim(index: int) -> None:
        try:
            barrier.wait()
            while True:
                with engines[index].begin() as connection:
                    items = claim_due(connection, NOW, 3)
                if not items:
                    return
                claimed[index].extend(item.id for item in items)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for each in engines:
        each.dispose()
    assert errors == []
    every = [item_id for ids in claimed for item_id in ids]
    with engine.connect() as connection:
        queued = connection.scalars(select(mail_outbox.c.id).order_by(mail_outbox.c.id)).all()
    assert sorted(every) == queued
    assert len(queued) == 30
