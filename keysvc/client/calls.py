"""One call: deadline, token, a request_id for mutations, retries of transient failures."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from keysvc.client.channel import ClientConfig
from keysvc.client.errors import error_from_rpc

logger = logging.getLogger(__name__)

MAX_SERVER_DELAY = 60.0
"""The longest pause a service's RetryInfo may impose on one retry, in seconds: a
wrong server must not stall its clients for hours."""

RequestT = TypeVar("RequestT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)


def with_request_id(request: RequestT) -> RequestT:
    """A copy of a mutating request with a fresh `request_id` when it has none.

    The id is made once, before the first attempt, and every retry sends the
    same one: the service then answers a repeat with the first result instead
    of doing the work twice (AIP-155).
    """
    # Only mutating request types have the field, so it is reached by name.
    if "request_id" not in request.DESCRIPTOR.fields_by_name:
        return request
    if getattr(request, "request_id"):  # noqa: B009 - not on every request type
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    setattr(copy, "request_id", str(uuid.uuid4()))  # noqa: B010 - not on every request type
    return copy


class Caller:
    """Makes calls as `config` says; `sleep` is injectable for tests of the backoff."""

    def __init__(self, config: ClientConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self._config = config
        self._sleep = sleep

    def __call__(
        self, method: grpc.UnaryUnaryMultiCallable[RequestT, ResponseT], request: RequestT
    ) -> ResponseT:
        """Calls `method`, trying transient failures again; raises `KeysvcClientError`."""
        request = with_request_id(request)
        pauses = self._config.retry.pauses()
        attempt = 1
        while True:
            try:
                response: ResponseT = method(
                    request, timeout=self._config.timeout, metadata=self._config.metadata()
                )
                return response
            except grpc.RpcError as failure:
                error = error_from_rpc(failure)
                pause = next(pauses, None) if error.transient else None
                if pause is None:
                    raise error from None
                if error.retry_after is not None:
                    # At least what the service asked for, plus the jittered backoff, so
                    # that the clients it refused together do not come back together.
                    pause += min(error.retry_after, MAX_SERVER_DELAY)
                logger.info(
                    "retrying after a transient failure",
                    extra={"reason": error.reason, "attempt": attempt, "pause": round(pause, 3)},
                )
                self._sleep(pause)
                attempt += 1
