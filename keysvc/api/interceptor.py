"""The one interceptor every RPC of ours passes through.

It refuses callers whose address failed to authenticate too often, authenticates
the bearer token, checks the role against `keysvc.api.access_rules` (refusals are
counted, logged and audited by `keysvc.api.auth_watch`), makes the caller
available to the handler (`current_principal`), and turns whatever the handler
raises into a proper status (`keysvc.api.status`), so servicers only validate,
call and map.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.message import DecodeError, Message

from keysvc.api.access_rules import allowed_roles, is_public
from keysvc.api.auth_watch import AuthWatch
from keysvc.api.request_bounds import MALFORMED_REQUEST, check_request, undecodable_field
from keysvc.api.status import internal_status, status_for
from keysvc.domain.errors import (
    InvalidArgument,
    KeysvcError,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from keysvc.domain.tokens import Principal
from keysvc.service.authentication import Authenticator
from keysvc.service.database_access import database_unavailable
from signing import SigningError

logger = logging.getLogger(__name__)

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("keysvc_principal")

# grpc types a handler's behavior with the sync context; the aio server passes its own.
Behavior = Callable[[Any, Any], Any]


DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
"""The reason of a call that failed because the database is unreachable or failing."""


def current_principal() -> Principal:
    """The authenticated caller of the RPC being handled."""
    return _principal.get()


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates, authorizes and maps errors for every unary RPC of ours."""

    def __init__(self, authenticator: Authenticator, executor: Executor, watch: AuthWatch) -> None:
        self._authenticator = authenticator
        self._executor = executor
        self._watch = watch

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Wraps the method's handler; public methods pass through untouched."""
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or is_public(method) or handler.unary_unary is None:
            return handler
        authorization = _metadata_value(handler_call_details, "authorization")
        return grpc.unary_unary_rpc_method_handler(
            self._guarded(method, authorization, handler.unary_unary),
            request_deserializer=_tolerant(method, handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    def _guarded(self, method: str, authorization: str | None, inner: Behavior) -> Behavior:
        async def behavior(
            request: Message, context: grpc.aio.ServicerContext[Message, Message]
        ) -> Message:
            try:
                refusal = self._watch.refusal(context, method)
                if refusal is not None:
                    raise refusal
                principal = self._authenticator.cached(authorization)
                if principal is None:
                    try:
                        principal = await asyncio.get_running_loop().run_in_executor(
                            self._executor, self._authenticator.authenticate, authorization
                        )
                    except Unauthenticated as error:
                        raise self._watch.unauthenticated(
                            context, authorization, method, error
                        ) from None
                if principal.role not in allowed_roles(method):
                    await self._watch.permission_denied(context, principal, method)
                    raise PermissionDenied(
                        f"role {principal.role.value!r} may not call {method}",
                        metadata={"role": principal.role.value, "method": method},
                    )
                if isinstance(request, _Undecodable):
                    raise request.error
                check_request(request)
                token = _principal.set(principal)
                try:
                    result = inner(request, context)
                    response: Message = await result if inspect.isawaitable(result) else result
                    return response
                finally:
                    _principal.reset(token)
            except grpc.aio.AbortError:
                raise
            except Exception as error:
                status = _status_of(method, error)
                await context.abort(status.code, status.details, status.trailing_metadata)
                raise  # not reached: abort() raises

        return behavior


class _Undecodable:
    """Stands for a request whose bytes did not decode, until the caller is known."""

    def __init__(self, error: InvalidArgument) -> None:
        self.error = error


def _tolerant(
    method: str, deserializer: Callable[[bytes], Message] | None
) -> Callable[[bytes], Message | _Undecodable]:
    """`deserializer`, answering an `_Undecodable` where it would raise: gRPC would
    answer that INTERNAL, before authentication and without our ErrorInfo."""
    assert deserializer is not None, "our generated handlers deserialize their requests"

    def deserialize(data: bytes) -> Message | _Undecodable:
        try:
            return deserializer(data)
        except DecodeError:
            # Looked up only here: every call goes through this wrapper.
            input_type = (
                descriptor_pool.Default().FindMethodByName(method[1:].replace("/", ".")).input_type
            )
            field = undecodable_field(input_type, data)
            return _Undecodable(
                InvalidArgument(
                    field or "request",
                    f"{field} is not valid UTF-8"
                    if field
                    else f"the request is not a valid {input_type.full_name}",
                    reason=MALFORMED_REQUEST,
                )
            )

    return deserialize


def _status_of(method: str, error: Exception) -> grpc.Status:
    if isinstance(error, KeysvcError | SigningError):
        return status_for(error)
    if database_unavailable(error):
        # An outage, not a bug: one line per call, no traceback (DatabaseHealth
        # logs the outage itself once).
        logger.warning(
            "the database is unavailable",
            extra={"method": method, "error": type(error).__name__},
        )
        return status_for(
            Unavailable("the database is unavailable; retry shortly", reason=DATABASE_UNAVAILABLE)
        )
    logger.error("unexpected error", exc_info=error, extra={"method": method})
    return internal_status()


def _metadata_value(details: grpc.HandlerCallDetails, key: str) -> str | None:
    for name, value in details.invocation_metadata or ():
        if name == key:
            return value if isinstance(value, str) else value.decode("ascii", "replace")
    return None
