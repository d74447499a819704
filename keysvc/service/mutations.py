"""Every mutating call runs here: one transaction, idempotent, audited.

`MutationRunner.run` wraps a use case so that

- a repeat with the same ``request_id`` (AIP-155) returns the first answer and
  changes nothing, also when two repeats race: the second to commit hits the
  primary key of the remembered call, rolls back, and answers from the record;
- a reused ``request_id`` with a different request is refused
  (``REQUEST_ID_REUSED``);
- the audit log records who (token id and role), what (method), which resource,
  when, and the outcome ("OK", "REPLAYED" or the error reason) — successes in
  the same transaction as the change, failures in one of their own.

`MutationRunner.run_batch` runs several calls of one method so, together: one
transaction, one query for their remembered answers, one statement each for the
new records and the audit events, for a use case that decides every call before
writing anything (the submissions of SubmitKeyRequest).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from keysvc.domain.errors import InvalidArgument, KeysvcError
from keysvc.domain.tokens import Principal
from keysvc.persistence.audit_repository import NewAuditEvent, add_events
from keysvc.persistence.database import read_transaction
from keysvc.persistence.idempotency_repository import (
    CallKey,
    IdempotencyRecord,
    add_records,
    find_records,
)
from scheduler.clock import Clock
from signing import SigningError

logger = logging.getLogger(__name__)

ResponseT = TypeVar("ResponseT", bound=Message)
ItemT = TypeVar("ItemT")

MAX_REQUEST_ID_LENGTH = 128
OUTCOME_OK = "OK"
OUTCOME_REPLAYED = "REPLAYED"
# A racing writer makes an attempt fail now and then; three failures in a row is a bug.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Mutation:
    """What is being changed: the call, its idempotency key and the audited resource."""

    principal: Principal
    method: str
    request: Message
    request_id: str
    # The resource named in the audit log, e.g. "signingKeys" or "contracts/SS-2026-000001".
    resource: str

    @property
    def key(self) -> CallKey:
        """The call's identity among its repeats (meaningful when it has a request_id)."""
        return CallKey(self.principal.token_id, self.method, self.request_id)


@dataclass(frozen=True, slots=True)
class BatchCall(Generic[ItemT]):
    """One call of a batch: the mutation, and what the use case needs of it.

    Calls of one `group` (say, one contract) never share a batch: a later one
    runs after the batch has committed, and sees what the earlier one did just
    as it would a moment later.
    """

    mutation: Mutation
    item: ItemT
    group: str = ""


# What a batch's use case answers for each call: the response and the resource it
# changed, or the error that refused it (with nothing written for it).
BatchOutcome = tuple[ResponseT, str] | KeysvcError
BatchAction = Callable[[Connection, list[ItemT]], list[BatchOutcome[ResponseT]]]


def validate_request_id(request_id: str) -> None:
    """A request_id is optional; when given, 1-128 printable ASCII characters (a UUID fits)."""
    if len(request_id) > MAX_REQUEST_ID_LENGTH or not all(
        " " < character <= "~" for character in request_id
    ):
        raise InvalidArgument(
            "request_id",
            f"request_id must be at most {MAX_REQUEST_ID_LENGTH} printable ASCII characters "
            "without spaces (a UUID is a good choice)",
        )


class MutationRunner:
    """Runs use cases in a transaction with idempotency and audit."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def run(
        self,
        mutation: Mutation,
        response_type: type[ResponseT],
        action: Callable[[Connection], tuple[ResponseT, str]],
    ) -> ResponseT:
        """Runs `action` (which returns the response and the resource it changed) once.

        Our own errors roll the transaction back, are audited, and propagate.
        """
        digest = _request_hash(mutation)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._engine.begin() as connection:
                    return self._run_once(mutation, response_type, action, connection, digest)
            except IntegrityError:
                # A racing twin, or a racing writer of the same unique value (the next
                # contract number): everything was rolled back, so running again is safe.
                if attempt == _ATTEMPTS:
                    raise
                logger.info("retrying after a concurrent write", extra={"method": mutation.method})
            except (KeysvcError, SigningError) as error:
                self._audit_failure(mutation, error.reason)
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def run_batch(
        self,
        calls: Sequence[BatchCall[ItemT]],
        response_type: type[ResponseT],
        action: BatchAction[ItemT, ResponseT],
    ) -> list[ResponseT | Exception]:
        """Runs calls of one method together, each answered as `run` would answer it.

        `action` decides every item it is given before writing anything, and
        answers each with its response or its error. Repeats of a request_id are
        answered from the record (or refused when the request differs), in the same
        transaction. When the batch as a whole fails — a twin racing in another
        process, a deadlock, a bug — it is rolled back and its calls are run one
        by one with `run`, so a call fails only for a reason of its own.
        """
        firsts, repeats = _split_deferred(calls)
        try:
            with self._engine.begin() as connection:
                results = self._run_batch_once(
                    [calls[index] for index in firsts], response_type, action, connection
                )
        except Exception as error:  # every call is run again on its own
            if not isinstance(error, IntegrityError):
                logger.warning(
                    "a batch failed; running its calls one by one",
                    exc_info=error,
                    extra={"method": calls[0].mutation.method, "calls": len(firsts)},
                )
            results = [self._run_alone(calls[index], response_type, action) for index in firsts]
        answers = dict(zip(firsts, results, strict=True))
        # A repeat, or another call of a group, comes after the first, committed by now.
        for index in repeats:
            answers[index] = self._run_alone(calls[index], response_type, action)
        return [answers[index] for index in range(len(calls))]

    def run_committing_work(
        self, mutation: Mutation, response_type: type[ResponseT], work: Callable[[], ResponseT]
    ) -> ResponseT:
        """Like `run`, for work too large for one transaction (ReleaseDue's morning
        queue): `work` commits as it goes, and the call is recorded after it.

        A repeat of a request_id recorded before answers from the record without
        running `work` again. Twins racing past that check both run `work`, which
        must therefore be harmless to repeat; the second to record answers with
        the first's response.
        """
        if mutation.request_id:
            with read_transaction(self._engine) as connection:
                seen = find_records(connection, mutation.method, [mutation.key])
            if seen:
                return self.run(mutation, response_type, _recorded_already)
        try:
            response = work()
        except (KeysvcError, SigningError) as error:
            self._audit_failure(mutation, error.reason)
            raise
        return self.run(mutation, response_type, lambda connection: (response, mutation.resource))

    def _run_once(
        self,
        mutation: Mutation,
        response_type: type[ResponseT],
        action: Callable[[Connection], tuple[ResponseT, str]],
        connection: Connection,
        request_hash: bytes,
    ) -> ResponseT:
        if not mutation.request_id:
            response, resource = action(connection)
            self._audit(connection, [(mutation, resource, OUTCOME_OK)])
            return response
        recorded = find_records(connection, mutation.method, [mutation.key])
        if not recorded:
            try:
                with connection.begin_nested():
                    response, resource = action(connection)
            except (KeysvcError, SigningError):
                # Refused: unless a twin on another replica committed first (found now
                # that the refusal's locks have been waited for), whose answer is this one's.
                recorded = _recorded_meanwhile(connection, mutation.method, [mutation])
                if not recorded:
                    raise
        if recorded:
            response = _replay(mutation, recorded[mutation.key], request_hash, response_type)
            self._audit(connection, [(mutation, mutation.resource, OUTCOME_REPLAYED)])
            return response
        add_records(
            connection, [(mutation.key, _record(request_hash, response))], self._clock.now()
        )
        self._audit(connection, [(mutation, resource, OUTCOME_OK)])
        return response

    def _run_batch_once(
        self,
        calls: list[BatchCall[ItemT]],
        response_type: type[ResponseT],
        action: BatchAction[ItemT, ResponseT],
        connection: Connection,
    ) -> list[ResponseT | Exception]:
        method = calls[0].mutation.method
        # Only a call with a request_id is remembered or replayed.
        hashes = [
            _request_hash(call.mutation) if call.mutation.request_id else b"" for call in calls
        ]
        keyed = [call.mutation.key for call in calls if call.mutation.request_id]
        recorded = find_records(connection, method, keyed)
        results: list[ResponseT | Exception | None] = [None] * len(calls)
        events: list[tuple[int, Mutation, str, str]] = []

        def answer(index: int, outcome: ResponseT | KeysvcError, resource: str) -> None:
            results[index] = outcome
            reason = outcome.reason if isinstance(outcome, KeysvcError) else None
            events.append((index, calls[index].mutation, resource, reason or OUTCOME_OK))

        def replay(index: int, record: IdempotencyRecord) -> None:
            mutation = calls[index].mutation
            try:
                response = _replay(mutation, record, hashes[index], response_type)
            except KeysvcError as error:
                answer(index, error, mutation.resource)
                return
            results[index] = response
            events.append((index, mutation, mutation.resource, OUTCOME_REPLAYED))

        fresh: list[int] = []
        for index, call in enumerate(calls):
            record = recorded.get(call.mutation.key) if call.mutation.request_id else None
            if record is None:
                fresh.append(index)
            else:
                replay(index, record)
        outcomes = action(connection, [calls[index].item for index in fresh]) if fresh else []
        refused = [
            calls[index].mutation
            for index, outcome in zip(fresh, outcomes, strict=True)
            if isinstance(outcome, KeysvcError)
        ]
        late = _recorded_meanwhile(connection, method, refused)
        new_records: list[tuple[CallKey, IdempotencyRecord]] = []
        for index, outcome in zip(fresh, outcomes, strict=True):
            mutation = calls[index].mutation
            if isinstance(outcome, KeysvcError):
                record = late.get(mutation.key) if mutation.request_id else None
                if record is None:
                    answer(index, outcome, mutation.resource)
                else:  # a twin on another replica committed first: its answer is this one's
                    replay(index, record)
                continue
            response, resource = outcome
            answer(index, response, resource)
            if mutation.request_id:
                new_records.append((mutation.key, _record(hashes[index], response)))
        add_records(connection, new_records, self._clock.now())
        events.sort(key=lambda event: event[0])
        self._audit(connection, [event[1:] for event in events])
        return [_decided(result) for result in results]

    def _run_alone(
        self,
        call: BatchCall[ItemT],
        response_type: type[ResponseT],
        action: BatchAction[ItemT, ResponseT],
    ) -> ResponseT | Exception:
        def single(connection: Connection) -> tuple[ResponseT, str]:
            (outcome,) = action(connection, [call.item])
            if isinstance(outcome, KeysvcError):
                raise outcome
            return outcome

        try:
            return self.run(call.mutation, response_type, single)
        except Exception as error:  # handed to the caller of this call
            return error

    def _audit(self, connection: Connection, events: Sequence[tuple[Mutation, str, str]]) -> None:
        # Always the transaction's last statement: appending holds the audit chain's
        # head locked (every replica's writers queue on it) until COMMIT.
        now = self._clock.now()
        add_events(
            connection,
            [
                NewAuditEvent(
                    occurred_at=now,
                    actor_token_id=mutation.principal.token_id,
                    actor_role=mutation.principal.role.value,
                    method=mutation.method,
                    resource=resource,
                    outcome=outcome,
                )
                for mutation, resource, outcome in events
            ],
        )

    def _audit_failure(self, mutation: Mutation, reason: str) -> None:
        with self._engine.begin() as connection:
            self._audit(connection, [(mutation, mutation.resource, reason)])


def _request_hash(mutation: Mutation) -> bytes:
    return hashlib.sha256(mutation.request.SerializeToString(deterministic=True)).digest()


def _recorded_meanwhile(
    connection: Connection, method: str, refused: Sequence[Mutation]
) -> dict[CallKey, IdempotencyRecord]:
    """The records of refused calls' request_ids that a twin committed after the call
    looked for them. On PostgreSQL a new statement sees them, the refusal having
    waited for the twin's locks; SQLite has one writer, so no twin commits inside
    a transaction there and this finds nothing new."""
    keys = [mutation.key for mutation in refused if mutation.request_id]
    return find_records(connection, method, keys) if keys else {}


def _record(request_hash: bytes, response: Message) -> IdempotencyRecord:
    return IdempotencyRecord(request_hash, response.SerializeToString(deterministic=True))


def _replay(
    mutation: Mutation,
    record: IdempotencyRecord,
    request_hash: bytes,
    response_type: type[ResponseT],
) -> ResponseT:
    """The first answer to a repeat, or `REQUEST_ID_REUSED` when the request differs."""
    if record.request_hash != request_hash:
        raise InvalidArgument(
            "request_id",
            "this request_id was used before with a different request",
            reason="REQUEST_ID_REUSED",
        )
    return response_type.FromString(record.response)


def _split_deferred(calls: Sequence[BatchCall[ItemT]]) -> tuple[list[int], list[int]]:
    """The positions of the calls that go in the batch, and of those run after it: the
    repeats of a request_id, and the later calls of a group."""
    firsts: list[int] = []
    deferred: list[int] = []
    keys: set[CallKey] = set()
    groups: set[str] = set()
    for index, call in enumerate(calls):
        key = call.mutation.key
        if (call.mutation.request_id and key in keys) or (call.group and call.group in groups):
            deferred.append(index)
            continue
        keys.add(key)
        if call.group:
            groups.add(call.group)
        firsts.append(index)
    return firsts, deferred


def _decided(result: ResponseT | Exception | None) -> ResponseT | Exception:
    assert result is not None, "every call of a batch is answered"
    return result


def _recorded_already(connection: Connection) -> tuple[ResponseT, str]:
    # `run` answers a recorded request_id from its record before calling the action.
    raise AssertionError("idempotency records are never deleted")
