"""MutationRunner over real SQLite and PostgreSQL: idempotency, races, audit."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, func, insert, select

from keysvc.domain.errors import FailedPrecondition, InvalidArgument
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.audit_repository import list_events
from keysvc.persistence.schema import closures
from keysvc.service.mutations import Mutation, MutationRunner, validate_request_id
from keysvc.v1 import admin_service_pb2, resources_pb2
from scheduler.clock import FixedClock

METHOD = "/keysvc.v1.AdminService/AddClosure"
ADMIN = Principal("0123456789abcdef", Role.ADMIN)


def _request(label: str, request_id: str) -> admin_service_pb2.AddClosureRequest:
    return admin_service_pb2.AddClosureRequest(
        start_date="2026-08-13", end_date="2026-08-16", label=label, request_id=request_id
    )


def _add_closure(request: admin_service_pb2.AddClosureRequest, before_insert=None):
    def action(connection: Connection) -> tuple[resources_pb2.Closure, str]:
        closure_id = uuid.uuid4().hex
        if before_insert is not None:
            before_insert()
        connection.execute(
            insert(closures).values(
                id=closure_id,
                start_date=date.fromisoformat(request.start_date),
                end_date=date.fromisoformat(request.end_date),
                label=request.label,
                created_at=datetime.now(UTC),
            )
        )
        message = resources_pb2.Closure(
            id=closure_id,
            start_date=request.start_date,
            end_date=request.end_date,
            label=request.label,
        )
        return message, f"closures/{closure_id}"

    return action


def _run(runner, request, principal=ADMIN, before_insert=None):
    mutation = Mutation(principal, METHOD, request, request.request_id, "closures")
    return runner.run(mutation, resources_pb2.Closure, _add_closure(request, before_insert))


def _closure_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(closures)).scalar_one()


@pytest.fixture
def runner(engine):
    return MutationRunner(engine, FixedClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC)))


def test_a_repeat_returns_the_first_answer_and_changes_nothing(engine, runner) -> None:
    request = _request("夏期休暇", str(uuid.uuid4()))
    first = _run(runner, request)
    again = _run(runner, request)
    assert again == first
    assert _closure_count(engine) == 1


def test_without_a_request_id_every_call_is_new(engine, runner) -> None:
    _run(runner, _request("夏期休暇", ""))
    _run(runner, _request("夏期休暇", ""))
    assert _closure_count(engine) == 2


def test_request_ids_are_per_client(engine, runner) -> None:
    request = _request("夏期休暇", "same-id")
    first = _run(runner, request)
    other = _run(runner, request, principal=Principal("fedcba9876543210", Role.ADMIN))
    assert other.id != first.id
    assert _closure_count(engine) == 2


def test_a_reused_request_id_with_another_request_is_refused(engine, runner) -> None:
    request_id = str(uuid.uuid4())
    _run(runner, _request("夏期休暇", request_id))
    with pytest.raises(InvalidArgument) as caught:
        _run(runner, _request("臨時休業", request_id))
    assert caught.value.reason == "REQUEST_ID_REUSED"
    assert caught.value.field == "request_id"
    assert _closure_count(engine) == 1


def test_racing_repeats_make_one_change_and_get_one_answer(engine, runner) -> None:
    request = _request("年末年始休暇", str(uuid.uuid4()))
    backend = engine.dialect.name
    # On PostgreSQL both transactions get inside the action before either commits, the
    # worst case; SQLite's BEGIN IMMEDIATE lets only one writer in at a time.
    barrier = threading.Barrier(2, timeout=10) if backend == "postgresql" else None
    arrivals = []

    def before_insert() -> None:
        arrivals.append(1)
        if barrier is not None and len(arrivals) <= 2:
            barrier.wait()

    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: _run(runner, request, before_insert=before_insert), [0, 1])
        )
    assert answers[0] == answers[1]
    assert _closure_count(engine) == 1
    if backend == "postgresql":
        assert len(arrivals) == 2, "both twins reached the action: the race really happened"


def test_success_and_replay_are_audited_in_order(engine, runner) -> None:
    request = _request("夏期休暇", str(uuid.uuid4()))
    created = _run(runner, request)
    _run(runner, request)
    with engine.connect() as connection:
        events = list_events(connection, limit=10)
    assert [(e.outcome, e.resource) for e in events] == [
        ("REPLAYED", "closures"),
        ("OK", f"closures/{created.id}"),
    ]
    assert {(e.actor_token_id, e.actor_role, e.method) for e in events} == {
        (ADMIN.token_id, "admin", METHOD)
    }


def test_a_refused_mutation_changes_nothing_and_is_audited_with_its_reason(engine, runner) -> None:
    def refuse(connection: Connection):
        connection.execute(
            insert(closures).values(
                id="x",
                start_date=date(2026, 8, 13),
                end_date=date(2026, 8, 16),
                label="half done",
                created_at=datetime.now(UTC),
            )
        )
        raise FailedPrecondition("not now", reason="SOMETHING_REFUSED")

    request = _request("夏期休暇", str(uuid.uuid4()))
    with pytest.raises(FailedPrecondition):
        runner.run(
            Mutation(ADMIN, METHOD, request, request.request_id, "closures"),
            resources_pb2.Closure,
            refuse,
        )
    assert _closure_count(engine) == 0
    with engine.connect() as connection:
        (event,) = list_events(connection, limit=10)
    assert event.outcome == "SOMETHING_REFUSED"
    assert event.resource == "closures"


@pytest.mark.parametrize("request_id", ["", "a", "0" * 128, str(uuid.uuid4()), "order-42/try-1"])
def test_request_ids_that_are_accepted(request_id: str) -> None:
    validate_request_id(request_id)


@pytest.mark.parametrize("request_id", ["0" * 129, "has space", "tab\tin", "日本語"])
def test_request_ids_that_are_refused(request_id: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_request_id(request_id)
