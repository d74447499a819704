"""SubmitKeyRequest's calls run in batches (MutationRunner.run_batch over the submission
use case), over real SQLite and PostgreSQL: each caller gets the answer it would get
alone, a moment apart from the others."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from keysvc.api import messages
from keysvc.domain.errors import KeysvcError
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.schema import key_requests
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, Submitted, submit_key_requests
from keysvc.service.mutations import BatchCall, Mutation, MutationRunner
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser
from keysvc.v1 import license_service_pb2, resources_pb2
from scheduler.calendar import BusinessCalendar
from scheduler.clock import FixedClock
from signing import KeyRing, SigningKey, encrypt_private_key

METHOD = "/keysvc.v1.LicenseService/SubmitKeyRequest"
SITE = Principal("site0000site0000", Role.SITE)
# Friday 2026-11-20, 10:00 JST: requests are released at once.
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
KEY_RING = KeyRing(SigningKey.generate())
RELEASER = Releaser(
    KEY_RING, MailIdentity("keysvc <keysvc@example.jp>", "example.jp"), BusinessCalendar()
)
KINDS = {
    "INITIAL": resources_pb2.KEY_REQUEST_KIND_INITIAL,
    "SEATS_CHANGE": resources_pb2.KEY_REQUEST_KIND_SEATS_CHANGE,
}


def _submit_batch(connection, submitted):
    """The servicer's batch action, on the fixed clock."""
    outcomes = submit_key_requests(connection, submitted, NOW, BusinessCalendar(), lambda: RELEASER)
    return [
        outcome
        if isinstance(outcome, KeysvcError)
        else (
            messages.key_request(
                outcome.request,
                license_key=outcome.license.license_key if outcome.license else "",
            ),
            f"keyRequests/{outcome.request.id}",
        )
        for outcome in outcomes
    ]


def _call(contract_number: str, kind: str, fingerprint: str = "", request_id: str = ""):
    request = license_service_pb2.SubmitKeyRequestRequest(
        request_id=request_id,
        contract_number=contract_number,
        kind=KINDS[kind],
        fingerprint=fingerprint,
    )
    submission = Submission(contract_number, kind, fingerprint, "", "", "")
    mutation = Mutation(SITE, METHOD, request, request_id, f"contracts/{contract_number}")
    return BatchCall(mutation, Submitted(submission, SITE), group=contract_number)


@pytest.fixture
def runner(engine):
    with engine.begin() as connection:
        pem = encrypt_private_key(KEY_RING.active, b"p")
        add_active_key(connection, KEY_RING.active.verifying_key, pem, NOW)
    return MutationRunner(engine, FixedClock(NOW))


def _contract(engine) -> str:
    with engine.begin() as connection:
        purchase = date(2026, 11, 2)
        new = NewContract(
            "", "neo-backup", "株式会社バッチ", "it@example.co.jp", 5, purchase, purchase
        )
        return create_contract(connection, new, NOW, ProductCatalogue()).contract_number


def _outcome(answer) -> str:
    if isinstance(answer, KeysvcError):
        return answer.reason
    return resources_pb2.KeyRequestState.Name(answer.state)


def test_one_contracts_calls_in_one_batch_are_answered_as_one_after_the_other(
    engine, runner
) -> None:
    together, apart = _contract(engine), _contract(engine)
    script = [("INITIAL", "fp1:server-a"), ("INITIAL", "fp1:server-b"), ("SEATS_CHANGE", "")]
    batched = runner.run_batch(
        [_call(together, kind, fp) for kind, fp in script], resources_pb2.KeyRequest, _submit_batch
    )
    alone = [
        runner.run_batch([_call(apart, kind, fp)], resources_pb2.KeyRequest, _submit_batch)[0]
        for kind, fp in script
    ]
    assert [_outcome(answer) for answer in batched] == [_outcome(answer) for answer in alone]
    assert [_outcome(answer) for answer in batched] == [
        "KEY_REQUEST_STATE_RELEASED",
        "LICENSE_ALREADY_ISSUED",
        "KEY_REQUEST_STATE_RELEASED",
    ]


# SQLite admits one writer: no twin can commit while a batch is open.
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@POSTGRES_ONLY
@pytest.mark.parametrize("path", ["batch", "alone"])
def test_a_retry_that_meets_its_twin_committed_on_another_replica_gets_the_twins_answer(
    engine, runner, path: str
) -> None:
    # The client's first try went to another replica, slow; its retry (same request_id)
    # looked for a recorded answer here before the first one committed, then found the
    # contract's request waiting: it must answer with the first try's request, not
    # refuse its own request as KEY_REQUEST_PENDING.
    number = _contract(engine)
    call = _call(number, "INITIAL", "fp1:server-a", request_id=str(uuid.uuid4()))
    first_try = []

    def with_the_first_try_committing_meanwhile(connection, submitted):
        if not first_try:
            first_try.append(runner.run_batch([call], resources_pb2.KeyRequest, _submit_batch)[0])
        return _submit_batch(connection, submitted)

    if path == "batch":
        (retry,) = runner.run_batch(
            [call], resources_pb2.KeyRequest, with_the_first_try_committing_meanwhile
        )
    else:

        def alone(connection):
            (outcome,) = with_the_first_try_committing_meanwhile(connection, [call.item])
            if isinstance(outcome, KeysvcError):
                raise outcome
            return outcome

        retry = runner.run(call.mutation, resources_pb2.KeyRequest, alone)
    assert retry == first_try[0]
    with engine.connect() as connection:
        stored = connection.execute(
            key_requests.select().where(key_requests.c.contract_number == number)
        ).all()
    assert len(stored) == 1
