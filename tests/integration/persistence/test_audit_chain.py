"""The audit log's hash chain on real databases: tampering by direct SQL is named.

Events are appended as keysvc appends them (`add_events`, one transaction per
call, some calls several events at once as a batch of submissions does), then
rows are changed behind keysvc's back with plain SQL, as a DBA or an intruder
with database access would, and `verify_audit_log` must name the first broken
event.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from keysvc.domain.audit_chain import AuditFacts, BreakKind, ChainHead, event_hash
from keysvc.persistence.audit_repository import (
    ChainHeadMissing,
    NewAuditEvent,
    add_events,
    read_chain_head,
)
from keysvc.persistence.database import create_database_engine
from keysvc.persistence.schema import audit_chain_head, audit_events
from keysvc.persistence.schema_migrations import upgrade_database
from keysvc.service.audit import verify_audit_log

from .rows import NOW


def _event(number: int, actor: str = "t1") -> NewAuditEvent:
    return NewAuditEvent(
        NOW + timedelta(milliseconds=number),
        actor,
        "admin",
        "/keysvc.v1.AdminService/RevokeLicense",
        f"licenses/L-{number}",
        "OK",
    )


def _append(engine, *batches: int) -> None:
    """Appends batches of the given sizes, each in a transaction of its own."""
    number = 0
    for size in batches:
        with engine.begin() as connection:
            add_events(connection, [_event(number + offset) for offset in range(size)])
        number += size


def _ids_by_seq(engine) -> dict[int, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(audit_events.c.seq, audit_events.c.id)).all())


def _tamper(engine, statement) -> None:
    with engine.begin() as connection:
        connection.execute(statement)


def _broken(engine):
    check = verify_audit_log(engine)
    assert check.broken is not None, "the tampering went unnoticed"
    return check.broken


def test_events_get_consecutive_seqs_and_the_head_follows_the_last(engine) -> None:
    _append(engine, 1, 3, 1)
    check = verify_audit_log(engine)
    assert check.intact, check.broken
    assert check.events == 5
    with engine.connect() as connection:
        seqs = connection.scalars(select(audit_events.c.seq).order_by(audit_events.c.id)).all()
        last_hash = connection.scalar(select(audit_events.c.hash).where(audit_events.c.seq == 5))
        assert read_chain_head(connection) == ChainHead(5, bytes(last_hash))
    assert seqs == [1, 2, 3, 4, 5]
    assert check.head == ChainHead(5, bytes(last_hash))


def test_an_empty_log_is_intact(engine) -> None:
    check = verify_audit_log(engine)
    assert check.intact
    assert check.events == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [("outcome", "PERMISSION_DENIED"), ("actor_token_id", "someone-else"), ("resource", "x")],
)
def test_an_updated_field_is_named_as_the_first_broken_event(engine, column, value) -> None:
    _append(engine, 2, 3)
    ids = _ids_by_seq(engine)
    _tamper(engine, update(audit_events).where(audit_events.c.seq == 3).values({column: value}))
    broken = _broken(engine)
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ALTERED, 3, ids[3])


def test_an_updated_time_is_named(engine) -> None:
    _append(engine, 4)
    ids = _ids_by_seq(engine)
    _tamper(
        engine,
        update(audit_events)
        .where(audit_events.c.seq == 2)
        .values(occurred_at=NOW + timedelta(days=1)),
    )
    broken = _broken(engine)
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ALTERED, 2, ids[2])


def test_a_deleted_event_is_named_by_its_seq(engine) -> None:
    _append(engine, 5)
    ids = _ids_by_seq(engine)
    _tamper(engine, delete(audit_events).where(audit_events.c.seq == 2))
    broken = _broken(engine)
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.MISSING, 2, None)
    assert f"id {ids[3]}" in broken.detail


def test_a_deleted_newest_event_is_seen_from_the_head(engine) -> None:
    _append(engine, 3, 1)
    _tamper(engine, delete(audit_events).where(audit_events.c.seq == 4))
    broken = _broken(engine)
    assert (broken.kind, broken.seq) == (BreakKind.TRUNCATED, 4)


def test_deleting_every_event_is_seen_from_the_head(engine) -> None:
    _append(engine, 2)
    _tamper(engine, delete(audit_events))
    broken = _broken(engine)
    assert (broken.kind, broken.seq) == (BreakKind.TRUNCATED, 1)


def test_a_forged_event_appended_with_a_correct_hash_is_beyond_the_head(engine) -> None:
    _append(engine, 3)
    with engine.begin() as connection:
        last = bytes(connection.scalar(select(audit_events.c.hash).where(audit_events.c.seq == 3)))
        forged = _event(99, actor="intruder")
        facts_hash = event_hash(last, 4, _facts_of(forged))
        forged_id = connection.execute(
            insert(audit_events)
            .values(**_columns_of(forged), seq=4, hash=facts_hash)
            .returning(audit_events.c.id)
        ).scalar_one()
    broken = _broken(engine)
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.BEYOND_HEAD, 4, forged_id)


def test_a_forged_event_in_a_deleted_one_s_place_is_named(engine) -> None:
    _append(engine, 4)
    with engine.begin() as connection:
        connection.execute(delete(audit_events).where(audit_events.c.seq == 2))
        forged_id = connection.execute(
            insert(audit_events)
            .values(**_columns_of(_event(42, actor="intruder")), seq=2, hash=bytes(32))
            .returning(audit_events.c.id)
        ).scalar_one()
    broken = _broken(engine)
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.ALTERED, 2, forged_id)


def test_a_rewound_head_exposes_the_events_after_it(engine) -> None:
    _append(engine, 4)
    ids = _ids_by_seq(engine)
    with engine.begin() as connection:
        second = connection.scalar(select(audit_events.c.hash).where(audit_events.c.seq == 2))
        connection.execute(update(audit_chain_head).values(seq=2, hash=second))
    broken = _broken(engine)
    assert (broken.kind, broken.seq, broken.event_id) == (BreakKind.BEYOND_HEAD, 3, ids[3])


def test_without_its_head_the_chain_is_not_appended_to_and_verify_says_so(engine) -> None:
    _append(engine, 2)
    _tamper(engine, delete(audit_chain_head))
    with pytest.raises(ChainHeadMissing), engine.begin() as connection:
        add_events(connection, [_event(3)])
    broken = _broken(engine)
    assert broken.kind == BreakKind.HEAD_MISMATCH


def test_verify_reads_a_long_log_page_by_page(engine) -> None:
    _append(engine, *([250] * 10))
    check = verify_audit_log(engine)
    assert (check.intact, check.events) == (True, 2500)


@pytest.mark.postgres
def test_concurrent_writers_on_two_engines_keep_one_intact_chain(postgres_url) -> None:
    # Two engines with their own pools, as two replicas on one database would be,
    # each with threads appending at once; a reader verifies meanwhile.
    engines = [create_database_engine(postgres_url) for _ in range(2)]
    upgrade_database(engines[0])
    writers, appends = 4, 25
    start = threading.Barrier(writers * len(engines) + 1)
    errors: list[BaseException] = []
    seen_while_writing: list[bool] = []

    def write(engine, name: str) -> None:
        try:
            start.wait()
            for number in range(appends):
                with engine.begin() as connection:
                    # Some work before the audit, as a mutation has, so that the
                    # transactions overlap and meet at the head's lock.
                    connection.execute(text("SELECT pg_sleep(0.001)"))
                    add_events(connection, [_event(number, actor=name)] * (1 + number % 3))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def verify_meanwhile() -> None:
        start.wait()
        while any(thread.is_alive() for thread in threads):
            seen_while_writing.append(verify_audit_log(engines[1]).intact)

    threads = [
        threading.Thread(target=write, args=(engine, f"e{e}w{w}"))
        for e, engine in enumerate(engines)
        for w in range(writers)
    ]
    reader = threading.Thread(target=verify_meanwhile)
    try:
        for thread in [*threads, reader]:
            thread.start()
        for thread in [*threads, reader]:
            thread.join(timeout=120)
        assert errors == []
        check = verify_audit_log(engines[0])
        assert check.intact, check.broken
        expected = writers * len(engines) * sum(1 + n % 3 for n in range(appends))
        assert check.events == expected
        with engines[0].connect() as connection:
            assert connection.scalar(select(func.max(audit_events.c.seq))) == expected
        assert seen_while_writing
        assert all(seen_while_writing)
    finally:
        for engine in engines:
            engine.dispose()


def _columns_of(event: NewAuditEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in NewAuditEvent.__slots__}


def _facts_of(event: NewAuditEvent) -> AuditFacts:
    return AuditFacts(**_columns_of(event))
