"""Counts and times the RPCs of our services, for Prometheus (`keysvc.observability.metrics`).

The outermost interceptor, so that it sees every call's end as the client
does: refused by authentication, failed in the handler, or answered. The
health check and reflection are not counted.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from keysvc.observability.metrics import MethodMetrics, ServiceMetrics

Behavior = Callable[[Any, Any], Any]


class RpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts started and handled calls (by status code) and their durations, per method."""

    def __init__(self, metrics: ServiceMetrics, services: Iterable[ServiceDescriptor]) -> None:
        self._methods: dict[str, MethodMetrics] = {
            f"/{service.full_name}/{method.name}": metrics.method(service.full_name, method.name)
            for service in services
            for method in service.methods
        }

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wraps the handler of a method of ours; passes others through."""
        handler = await continuation(handler_call_details)
        counted = self._methods.get(handler_call_details.method)
        if handler is None or counted is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _observed(counted, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _observed(counted: MethodMetrics, inner: Behavior) -> Behavior:
    async def behavior(
        request: Message, context: grpc.aio.ServicerContext[Message, Message]
    ) -> Message:
        counted.started()
        started = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN  # what the client sees of an exception not mapped
        try:
            result = inner(request, context)
            response: Message = await result if inspect.isawaitable(result) else result
            code = grpc.StatusCode.OK
            return response
        except grpc.aio.AbortError:
            # abort() has set the code it sends.
            code = context.code()
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        finally:
            counted.handled(code, time.perf_counter() - started)

    return behavior
