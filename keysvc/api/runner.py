"""Runs database work off the event loop, for the async servicers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from keysvc.api.batching import CallBatcher
from keysvc.api.interceptor import current_principal
from keysvc.service.database_access import read_transaction
from keysvc.service.mutations import (
    BatchAction,
    BatchCall,
    ItemT,
    Mutation,
    MutationRunner,
    ResponseT,
    validate_request_id,
)

T = TypeVar("T")


class Runner:
    """Reads in a read-only transaction; mutates through the `MutationRunner`."""

    def __init__(self, engine: Engine, executor: Executor, mutations: MutationRunner) -> None:
        self._engine = engine
        self._executor = executor
        self._mutations = mutations

    async def read(self, query: Callable[[Connection], T]) -> T:
        """Runs `query` in a read-only transaction (it never takes SQLite's write lock)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, query)

    async def mutate(
        self,
        mutation: Mutation,
        response_type: type[ResponseT],
        action: Callable[[Connection], tuple[ResponseT, str]],
    ) -> ResponseT:
        """Runs `action` once, idempotently and audited (see `MutationRunner.run`)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._mutations.run, mutation, response_type, action
        )

    async def change(
        self,
        method: str,
        request: Any,  # noqa: ANN401 - any mutating request message: each has request_id
        resource: str,
        response_type: type[ResponseT],
        action: Callable[[Connection], tuple[ResponseT, str]],
    ) -> ResponseT:
        """Runs `action` for the current caller as an idempotent, audited mutation.

        `method` is the full RPC path; `resource` names what a refusal is audited
        against, `action` returns the response and the resource it changed.
        """
        validate_request_id(request.request_id)
        mutation = Mutation(current_principal(), method, request, request.request_id, resource)
        return await self.mutate(mutation, response_type, action)

    async def change_committing(
        self,
        method: str,
        request: Any,  # noqa: ANN401 - any mutating request message: each has request_id
        resource: str,
        response_type: type[ResponseT],
        work: Callable[[], ResponseT],
    ) -> ResponseT:
        """Like `change`, for work that commits batch by batch itself (see
        `MutationRunner.run_committing_work`)."""
        validate_request_id(request.request_id)
        mutation = Mutation(current_principal(), method, request, request.request_id, resource)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._mutations.run_committing_work, mutation, response_type, work
        )

    def batched(
        self, response_type: type[ResponseT], action: BatchAction[ItemT, ResponseT]
    ) -> BatchedChange[ItemT, ResponseT]:
        """A `change` for a use case that decides many calls at once (see `BatchedChange`)."""
        return BatchedChange(self._executor, self._mutations, response_type, action)

    def _read(self, query: Callable[[Connection], T]) -> T:
        with read_transaction(self._engine) as connection:
            return query(connection)


class BatchedChange(Generic[ItemT, ResponseT]):
    """Idempotent, audited calls of one method, run in batches (`CallBatcher`) through
    `MutationRunner.run_batch`: the calls waiting at a moment share one transaction."""

    def __init__(
        self,
        executor: Executor,
        mutations: MutationRunner,
        response_type: type[ResponseT],
        action: BatchAction[ItemT, ResponseT],
    ) -> None:
        def run_batch(calls: list[BatchCall[ItemT]]) -> list[ResponseT | Exception]:
            return mutations.run_batch(calls, response_type, action)

        self._batcher: CallBatcher[BatchCall[ItemT], ResponseT] = CallBatcher(executor, run_batch)

    async def change(
        self,
        method: str,
        request: Any,  # noqa: ANN401 - any mutating request message: each has request_id
        resource: str,
        item: ItemT,
        *,
        group: str = "",
    ) -> ResponseT:
        """Runs one call for the current caller, like `Runner.change`, with what the
        batch's action needs of it (`item`); calls of one `group` run one after the
        other (`BatchCall`)."""
        validate_request_id(request.request_id)
        mutation = Mutation(current_principal(), method, request, request.request_id, resource)
        return await self._batcher.run(BatchCall(mutation, item, group))
