"""Admission control: a bounded number of our calls in flight; the rest refused at once.

Without a bound, every call that arrives is queued — in the event loop, the
database threads' queue, the submission batcher — and under overload all of
them wait: latency grows with the crowd and nobody is told to back off. With
one, the calls admitted run at about their unloaded speed, and the others are
answered at once with RESOURCE_EXHAUSTED, reason ``OVERLOADED``, and a
`google.rpc.RetryInfo` saying when to try again, which `keysvc.client`
honours. The one bound also bounds every queue behind it: the database
threads' and the batcher's never hold more than `limit` calls.

Only the methods of our services are counted and refused: the health check
and reflection pass, so a load balancer still sees SERVING under overload.

The time from a call's admission to its answer is a histogram of its own,
``keysvc_grpc_admitted_seconds``: the promise is about the calls admitted, and
``grpc_server_handling_seconds`` mixes them with the refusals, which take well
under a millisecond. Its buckets are finer at the low end, where an unloaded
call's 99th percentile lies (about 10 ms).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from prometheus_client import Histogram

from keysvc.api.status import status_for
from keysvc.domain.errors import ResourceExhausted
from keysvc.observability.metrics import ServiceMetrics

BASE_RETRY_AFTER: Final = 0.1
"""Seconds a refused client is asked to wait when refusals are rare: about what the
calls in flight take to finish at the default limit, so that a retry finds room."""

MAX_RETRY_AFTER: Final = 5.0
"""The longest wait asked, however many clients are refused."""

ADMITTED_SECONDS_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""From an unloaded call (milliseconds; its p99 about 10 ms) to one held by a slow database."""

Behavior = Callable[[Any, Any], Any]


class Admission:
    """Counts calls in flight and admits at most `limit` of them.

    Used from the event loop only (one thread), so it needs no lock.

    >>> admission = Admission(1)
    >>> admission.try_enter(), admission.try_enter()
    (True, False)
    >>> admission.leave(); admission.try_enter()
    True
    """

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"the limit must be at least 1, got {limit}")
        self.limit = limit
        self.in_flight = 0
        self._clock = clock
        # Refusals counted per whole second of the clock: this one's and the last one's.
        self._second = 0
        self._refused_this_second = 0
        self._refused_last_second = 0

    def try_enter(self) -> bool:
        """Counts one more call in flight and returns True, or False when at the limit."""
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        """Counts a call admitted by `try_enter` as finished."""
        self.in_flight -= 1

    def retry_after(self) -> float:
        """Counts a refusal; returns the seconds its client should wait before retrying.

        BASE_RETRY_AFTER, and as much again for every `limit` refusals in the past
        second, up to MAX_RETRY_AFTER. A fixed delay would bring a crowd of refused
        clients back faster than the server can even refuse them: their calls would
        then queue in gRPC ahead of the admission, and the admitted calls with them.
        Growing with the refusals, the delay spreads the crowd's retries until they
        arrive about as fast as they can be answered.
        """
        second = int(self._clock())
        if second != self._second:
            recent = self._refused_this_second if second == self._second + 1 else 0
            self._second, self._refused_last_second = second, recent
            self._refused_this_second = 0
        self._refused_this_second += 1
        recent = max(self._refused_last_second, self._refused_this_second)
        return min(BASE_RETRY_AFTER * (1 + recent / self.limit), MAX_RETRY_AFTER)


class AdmissionInterceptor(grpc.aio.ServerInterceptor):
    """Refuses calls of our services beyond the admission limit, at once, with RetryInfo."""

    def __init__(
        self,
        admission: Admission,
        services: Iterable[ServiceDescriptor],
        metrics: ServiceMetrics,
    ) -> None:
        self._admission = admission
        admitted_seconds = Histogram(
            "keysvc_grpc_admitted_seconds",
            "Time from a call's admission to its answer, on the server (calls refused "
            "for overload are not in it).",
            ("grpc_service", "grpc_method"),
            buckets=ADMITTED_SECONDS_BUCKETS,
            registry=metrics.registry,
        )
        # Bound once per method: this is the hot path.
        self._methods = {
            f"/{service.full_name}/{method.name}": admitted_seconds.labels(
                grpc_service=service.full_name, grpc_method=method.name
            )
            for service in services
            for method in service.methods
        }
        self._metrics = metrics
        metrics.watch_calls_in_flight(lambda: admission.in_flight)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wraps the handler of a method of ours; passes the others through."""
        handler = await continuation(handler_call_details)
        timed = self._methods.get(handler_call_details.method)
        if handler is None or handler.unary_unary is None or timed is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._admitted(handler.unary_unary, timed),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _admitted(self, inner: Behavior, timed: Histogram) -> Behavior:
        async def behavior(
            request: Message, context: grpc.aio.ServicerContext[Message, Message]
        ) -> Message:
            if not self._admission.try_enter():
                self._metrics.record_overload_refusal()
                status = status_for(self._refusal())
                await context.abort(status.code, status.details, status.trailing_metadata)
            admitted = time.perf_counter()
            try:
                result = inner(request, context)
                response: Message = await result if inspect.isawaitable(result) else result
                return response
            finally:
                self._admission.leave()
                timed.observe(time.perf_counter() - admitted)

        return behavior

    def _refusal(self) -> ResourceExhausted:
        limit = self._admission.limit
        retry_after = self._admission.retry_after()
        return ResourceExhausted(
            f"the server has {limit} calls in flight, its limit; retry in {retry_after:.2g} s",
            retry_after=retry_after,
            reason="OVERLOADED",
            metadata={"limit": str(limit)},
        )
