"""MutationRunner.run_batch over real SQLite and PostgreSQL: each call of a batch is
answered as if it had run alone, with one transaction for all."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, event, insert, select

from keysvc.domain.errors import FailedPrecondition, InvalidArgument
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.audit_repository import list_events
from keysvc.persistence.schema import closures
from keysvc.service.mutations import BatchCall, Mutation, MutationRunner
from keysvc.v1 import admin_service_pb2, resources_pb2
from scheduler.clock import FixedClock

METHOD = "/keysvc.v1.AdminService/AddClosure"
ADMIN = Principal("0123456789abcdef", Role.ADMIN)
OTHER_ADMIN = Principal("fedcba9876543210", Role.ADMIN)
REFUSED_LABEL = "refuse me"
BROKEN_LABEL = "break me"


def _request(label: str, request_id: str = "") -> admin_service_pb2.AddClosureRequest:
    return admin_service_pb2.AddClosureRequest(
        start_date="2026-08-13", end_date="2026-08-16", label=label, request_id=request_id
    )


def _call(request, principal=ADMIN) -> BatchCall[admin_service_pb2.AddClosureRequest]:
    return BatchCall(Mutation(principal, METHOD, request, request.request_id, "closures"), request)


def _add_closures(connection: Connection, requests):
    """A batch use case: refuses REFUSED_LABEL, stores the others with one statement, and
    fails as a whole (a bug) when one is BROKEN_LABEL."""
    if any(request.label == BROKEN_LABEL for request in requests):
        raise RuntimeError("a bug in the use case")
    outcomes, rows = [], []
    for request in requests:
        if request.label == REFUSED_LABEL:
            outcomes.append(FailedPrecondition("not this one", reason="SOMETHING_REFUSED"))
            continue
        closure_id = uuid.uuid4().hex
        rows.append(
            {
                "id": closure_id,
                "start_date": date.fromisoformat(request.start_date),
                "end_date": date.fromisoformat(request.end_date),
                "label": request.label,
                "created_at": datetime.now(UTC),
            }
        )
        message = resources_pb2.Closure(id=closure_id, label=request.label)
        outcomes.append((message, f"closures/{closure_id}"))
    if rows:
        connection.execute(insert(closures), rows)
    return outcomes


def _labels(engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(closures.c.label)).scalars())


def _transactions(engine) -> list[int]:
    """Counts the transactions begun on `engine` from now on (in a one-item list)."""
    count = [0]
    event.listen(engine, "begin", lambda connection: count.__setitem__(0, count[0] + 1))
    return count


@pytest.fixture
def runner(engine):
    return MutationRunner(engine, FixedClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC)))


def test_a_batch_answers_each_call_in_one_transaction(engine, runner) -> None:
    transactions = _transactions(engine)
    calls = [_call(_request(f"休業 {index}", str(uuid.uuid4()))) for index in range(5)]
    answers = runner.run_batch(calls, resources_pb2.Closure, _add_closures)
    assert [answer.label for answer in answers] == [f"休業 {index}" for index in range(5)]
    assert transactions == [1]
    assert _labels(engine) == sorted(f"休業 {index}" for index in range(5))


def test_a_refused_call_of_a_batch_changes_nothing_and_the_others_go_through(
    engine, runner
) -> None:
    calls = [_call(_request("夏期休暇")), _call(_request(REFUSED_LABEL)), _call(_request("臨時"))]
    first, refused, third = runner.run_batch(calls, resources_pb2.Closure, _add_closures)
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == "SOMETHING_REFUSED"
    assert (first.label, third.label) == ("夏期休暇", "臨時")
    with engine.connect() as connection:
        events = list_events(connection, limit=10)
    assert [event.outcome for event in reversed(events)] == ["OK", "SOMETHING_REFUSED", "OK"]
    assert _labels(engine) == sorted(["夏期休暇", "臨時"])


def test_repeats_within_a_batch_and_after_it_get_the_first_answer(engine, runner) -> None:
    request = _request("夏期休暇", str(uuid.uuid4()))
    first, twin = runner.run_batch(
        [_call(request), _call(request)], resources_pb2.Closure, _add_closures
    )
    (later,) = runner.run_batch([_call(request)], resources_pb2.Closure, _add_closures)
    assert first == twin == later
    assert _labels(engine) == ["夏期休暇"]
    with engine.connect() as connection:
        outcomes = [event.outcome for event in reversed(list_events(connection, limit=10))]
    assert outcomes == ["OK", "REPLAYED", "REPLAYED"]


def test_a_request_id_is_per_client_within_a_batch(engine, runner) -> None:
    request = _request("夏期休暇", "same-id")
    mine, theirs = runner.run_batch(
        [_call(request), _call(request, OTHER_ADMIN)], resources_pb2.Closure, _add_closures
    )
    assert mine.id != theirs.id
    assert len(_labels(engine)) == 2


def test_a_reused_request_id_with_another_request_is_refused_in_a_batch(engine, runner) -> None:
    request_id = str(uuid.uuid4())
    runner.run_batch(
        [_call(_request("夏期休暇", request_id))], resources_pb2.Closure, _add_closures
    )
    (refused, fine) = runner.run_batch(
        [_call(_request("臨時休業", request_id)), _call(_request("臨時休業"))],
        resources_pb2.Closure,
        _add_closures,
    )
    assert isinstance(refused, InvalidArgument)
    assert refused.reason == "REQUEST_ID_REUSED"
    assert fine.label == "臨時休業"
    assert _labels(engine) == sorted(["夏期休暇", "臨時休業"])


def test_a_batch_that_fails_as_a_whole_is_run_call_by_call(engine, runner) -> None:
    calls = [_call(_request("夏期休暇")), _call(_request(BROKEN_LABEL)), _call(_request("臨時"))]
    first, broken, third = runner.run_batch(calls, resources_pb2.Closure, _add_closures)
    assert isinstance(broken, RuntimeError)
    assert (first.label, third.label) == ("夏期休暇", "臨時")
    assert _labels(engine) == sorted(["夏期休暇", "臨時"])


# SQLite admits one writer: no twin can commit while a batch is open.
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_twin_committed_behind_the_batch_makes_it_run_call_by_call(engine, runner) -> None:
    # Another replica commits the same request_id after this batch looked for it: the
    # batch's record fails on the primary key, everything is rolled back, and running
    # alone the call finds the twin's record and answers with it.
    request = _request("夏期休暇", str(uuid.uuid4()))
    twins = []

    def with_a_twin(connection: Connection, requests):
        if not twins:
            twins.append(runner.run(_call(request).mutation, resources_pb2.Closure, alone))
        return _add_closures(connection, requests)

    def alone(connection: Connection):
        (outcome,) = _add_closures(connection, [request])
        return outcome

    other = _request("臨時")
    answers = runner.run_batch([_call(other), _call(request)], resources_pb2.Closure, with_a_twin)
    assert answers[1] == twins[0]
    assert answers[0].label == "臨時"
    assert _labels(engine) == sorted(["夏期休暇", "臨時"])
