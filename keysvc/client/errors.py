"""Failed calls as Python exceptions that carry the service's `ErrorInfo` reason."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

# Failures worth trying again: nothing was done, or what was done is replayed
# (mutations carry a request_id, so the service answers a repeat with the
# first result). DEADLINE_EXCEEDED is here because the call may have
# committed after the client gave up: the repeat finds out. CANCELLED too: a
# server stopping cancels the calls still running when its grace period ends,
# and for the same reason a repeat is safe — this client sends nothing but
# reads and mutations with a request_id.
TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
    }
)

TLS_HANDSHAKE_FAILED = "TLS_HANDSHAKE_FAILED"
"""The reason of an UNAVAILABLE whose TLS handshake failed (this client's own, not the service's).

A server certificate the configured CA did not sign, one for another name, or
TLS towards a plaintext server: gRPC reports each as UNAVAILABLE, like a server
that is down, and only its message tells. Trying again does not help.
"""


class KeysvcClientError(Exception):
    """A call the service (or the network) refused.

    `reason` is the stable UPPER_SNAKE reason of the service's ErrorInfo (or
    the status code's name when there is none, as for a network failure);
    `metadata` its details, e.g. ``{"field": "contract_number"}``;
    `retry_after` the seconds the service asked to wait before trying again
    (its `google.rpc.RetryInfo`), None when it said nothing.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        metadata: dict[str, str],
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata = metadata
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """True when trying again later may succeed."""
        return self.code in TRANSIENT_CODES and self.reason != TLS_HANDSHAKE_FAILED

    @property
    def field(self) -> str | None:
        """The request field an INVALID_ARGUMENT names, if any."""
        return self.metadata.get("field")


class InvalidArgumentError(KeysvcClientError):
    """The request was malformed; `field` names the culprit."""


class NotFoundError(KeysvcClientError):
    """A named resource (contract, request, license, ...) does not exist."""


class AlreadyExistsError(KeysvcClientError):
    """The resource exists already (e.g. a contract number)."""


class FailedPreconditionError(KeysvcClientError):
    """Valid, but the current state refuses it (e.g. SUPPORT_EXPIRED)."""


class AuthenticationError(KeysvcClientError):
    """No token, or one the service does not know."""


class PermissionDeniedError(KeysvcClientError):
    """The token's role may not call this method."""


class UnavailableError(KeysvcClientError):
    """The service could not be reached, or answered too late, even after retries."""


_CLASSES: dict[grpc.StatusCode, type[KeysvcClientError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    **dict.fromkeys(TRANSIENT_CODES, UnavailableError),
}


def error_from_rpc(error: grpc.RpcError) -> KeysvcClientError:
    """The exception for a failed call, with the ErrorInfo reason when the service sent one."""
    if not isinstance(error, grpc.Call):
        return UnavailableError(grpc.StatusCode.UNKNOWN, "UNKNOWN", str(error), {})
    code = error.code()
    message = error.details() or ""
    reason, metadata = code.name, {}
    retry_after: float | None = None
    status = rpc_status.from_call(error)
    if status is not None:
        message = status.message or message
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            delay = error_details_pb2.RetryInfo()
            if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(delay.DESCRIPTOR) and detail.Unpack(delay):
                # A negative delay is nonsense: no wait asked.
                retry_after = max(delay.retry_delay.ToNanoseconds() / 1e9, 0.0)
    # grpc core's words ("Tls handshake failed", "Ssl handshake failed" before 1.60).
    if reason == "UNAVAILABLE" and "handshake failed" in message.lower():
        reason = TLS_HANDSHAKE_FAILED
    return _CLASSES.get(code, KeysvcClientError)(
        code, reason, message, metadata, retry_after=retry_after
    )
