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
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from keysvc.api.status import status_for
from keysvc.errors import ResourceExhausted
from keysvc.metrics import ServiceMetrics

DEFAULT_RETRY_AFTER: Final = 0.1
"""Seconds a refused client is asked to wait: about what the calls in flight take
to finish at the default limit, so that a retry finds room."""

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

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the limit must be at least 1, got {limit}")
        self.limit = limit
        self.in_flight = 0

    def try_enter(self) -> bool:
        """Counts one more call in flight and returns True, or False when at the limit."""
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        """Counts a call admitted by `try_enter` as finished."""
        self.in_flight -= 1


class AdmissionInterceptor(grpc.aio.ServerInterceptor):
    """Refuses calls of our services beyond the admission limit, at once, with RetryInfo."""

    def __init__(
        self,
        admission: Admission,
        services: Iterable[ServiceDescriptor],
        metrics: ServiceMetrics,
        *,
        retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        self._admission = admission
        self._methods = frozenset(
            f"/{service.full_name}/{method.name}"
            for service in services
            for method in service.methods
        )
        self._metrics = metrics
        self._retry_after = retry_after
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
        if (
            handler is None
            or handler.unary_unary is None
            or handler_call_details.method not in self._methods
        ):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._admitted(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _admitted(self, inner: Behavior) -> Behavior:
        async def behavior(
            request: Message, context: grpc.aio.ServicerContext[Message, Message]
        ) -> Message:
            if not self._admission.try_enter():
                self._metrics.record_overload_refusal()
                status = status_for(self._refusal())
                await context.abort(status.code, status.details, status.trailing_metadata)
            try:
                result = inner(request, context)
                response: Message = await result if inspect.isawaitable(result) else result
                return response
            finally:
                self._admission.leave()

        return behavior

    def _refusal(self) -> ResourceExhausted:
        limit = self._admission.limit
        return ResourceExhausted(
            f"the server has {limit} calls in flight, its limit; retry in {self._retry_after:g} s",
            retry_after=self._retry_after,
            reason="OVERLOADED",
            metadata={"limit": str(limit)},
        )
