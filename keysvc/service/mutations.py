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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from keysvc.errors import InvalidArgument, KeysvcError
from keysvc.persistence.audit_repository import add_event
from keysvc.persistence.idempotency_repository import IdempotencyRecord, add_record, find_record
from keysvc.tokens import Principal
from scheduler.clock import Clock
from signing import SigningError

logger = logging.getLogger(__name__)

ResponseT = TypeVar("ResponseT", bound=Message)

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
        request_hash = hashlib.sha256(mutation.request.SerializeToString(deterministic=True))
        digest = request_hash.digest()
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
            with self._engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
                seen = find_record(
                    connection, mutation.principal.token_id, mutation.method, mutation.request_id
                )
            if seen is not None:
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
        client_id = mutation.principal.token_id
        if mutation.request_id:
            record = find_record(connection, client_id, mutation.method, mutation.request_id)
            if record is not None:
                if record.request_hash != request_hash:
                    raise InvalidArgument(
                        "request_id",
                        "this request_id was used before with a different request",
                        reason="REQUEST_ID_REUSED",
                    )
                self._audit(connection, mutation, mutation.resource, OUTCOME_REPLAYED)
                return response_type.FromString(record.response)
        response, resource = action(connection)
        if mutation.request_id:
            add_record(
                connection,
                client_id=client_id,
                method=mutation.method,
                request_id=mutation.request_id,
                record=IdempotencyRecord(
                    request_hash, response.SerializeToString(deterministic=True)
                ),
                now=self._clock.now(),
            )
        self._audit(connection, mutation, resource, OUTCOME_OK)
        return response

    def _audit(
        self, connection: Connection, mutation: Mutation, resource: str, outcome: str
    ) -> None:
        add_event(
            connection,
            occurred_at=self._clock.now(),
            actor_token_id=mutation.principal.token_id,
            actor_role=mutation.principal.role.value,
            method=mutation.method,
            resource=resource,
            outcome=outcome,
        )

    def _audit_failure(self, mutation: Mutation, reason: str) -> None:
        with self._engine.begin() as connection:
            self._audit(connection, mutation, mutation.resource, reason)


def _recorded_already(connection: Connection) -> tuple[ResponseT, str]:
    # `run` answers a recorded request_id from its record before calling the action.
    raise AssertionError("idempotency records are never deleted")
