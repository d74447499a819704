"""Runs database work off the event loop, for the async servicers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from sqlalchemy import Connection, Engine

from keysvc.service.mutations import Mutation, MutationRunner, ResponseT

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

    def _read(self, query: Callable[[Connection], T]) -> T:
        with (
            self._engine.connect().execution_options(sqlite_begin="DEFERRED") as connection,
            connection.begin(),
        ):
            return query(connection)
