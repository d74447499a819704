"""The health service follows the database: NOT_SERVING while it cannot be reached.

A replica whose database is gone answers every call UNAVAILABLE; its health
check says so too, so that a load balancer sends the traffic to a replica that
can serve it, and back when the database returns. The probe reads one row on
a thread of its own, with a time limit, so that a hung connection neither
delays the loop nor takes a thread from the calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio
from sqlalchemy import Engine

from keysvc.service.database_access import database_unavailable, probe_database

__all__ = ["PROBE_INTERVAL_SECONDS", "PROBE_TIMEOUT_SECONDS", "DatabaseHealth"]

logger = logging.getLogger(__name__)

# How often the database is probed: a load balancer checks every few seconds,
# so it hears of an outage about as soon as it asks, for one small read.
PROBE_INTERVAL_SECONDS: Final = 2.0
# A probe that has not answered by then counts as a failure (a black-holed
# connection answers never).
PROBE_TIMEOUT_SECONDS: Final = 5.0

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DatabaseHealth:
    """Sets `names` (the overall "" and each service) SERVING or NOT_SERVING by the
    database's answer to a probe, every `interval` seconds until stopped."""

    def __init__(
        self,
        engine: Engine,
        health: health_aio.HealthServicer,
        names: Sequence[str],
        *,
        interval: float = PROBE_INTERVAL_SECONDS,
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self._engine = engine
        self._health = health
        self._names = tuple(names)
        self._interval = interval
        self._timeout = timeout
        self.serving = True

    async def watch(self, stop: asyncio.Event) -> None:
        """Probes until `stop` is set; the statuses are left as the last probe found."""
        executor = ThreadPoolExecutor(1, thread_name_prefix="keysvc-health")
        try:
            while not stop.is_set():
                await self._set(await self._reachable(executor))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._interval)
        finally:
            executor.shutdown(wait=False)  # a hung probe must not hold up the shutdown

    async def _reachable(self, executor: ThreadPoolExecutor) -> bool:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.run_in_executor(executor, self._probe), timeout=self._timeout
            )
        except TimeoutError:
            failure = f"no answer within {self._timeout} s"
        except Exception as error:
            if not database_unavailable(error):
                # Not an outage we know: a bug, or a schema gone. Either way the
                # calls fail too, so the replica is not serving; the traceback helps.
                logger.error("the health probe failed unexpectedly", exc_info=error)
            failure = f"{type(error).__name__}: {(str(error).strip() or '-').splitlines()[0][:200]}"
        else:
            return True
        if self.serving:
            logger.error(
                "the database is unreachable: health NOT_SERVING", extra={"error": failure}
            )
        return False

    async def _set(self, reachable: bool) -> None:
        if reachable == self.serving:
            return
        if reachable:
            logger.warning("the database answers again: health SERVING")
        self.serving = reachable
        for name in self._names:
            await self._health.set(name, _SERVING if reachable else _NOT_SERVING)

    def _probe(self) -> None:
        probe_database(self._engine)
