"""The one place where errors become gRPC statuses (AIP-193).

Every status carries a `google.rpc.ErrorInfo` detail with domain ``keysvc``,
the error's stable ``reason`` and its ``metadata``. Anything that is not one of
our errors is a bug: it is logged with its traceback and answered INTERNAL
without details, so nothing internal leaks to a client.
"""

from __future__ import annotations

# Imported by full path: mypy does not see google.rpc's submodules through `from google.rpc`.
import google.rpc.code_pb2 as rpc_code
import google.rpc.error_details_pb2 as rpc_error_details
import google.rpc.status_pb2 as rpc_status_pb2
import grpc
from google.protobuf import any_pb2
from grpc_status import rpc_status

from keysvc.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    KeysvcError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from signing import InvalidFingerprint, LicenseKeyError, SigningError

DOMAIN = "keysvc"
INTERNAL_REASON = "INTERNAL"
# What an error may say, at most. Messages and metadata may quote a caller's
# value (an id not found); requests are bounded (`request_bounds`), and so is
# what goes back, well inside gRPC's 8 KiB of metadata.
MAX_MESSAGE_CHARACTERS = 300
MAX_METADATA_CHARACTERS = 128

_CODES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidArgument, rpc_code.INVALID_ARGUMENT),
    (Unauthenticated, rpc_code.UNAUTHENTICATED),
    (PermissionDenied, rpc_code.PERMISSION_DENIED),
    (NotFound, rpc_code.NOT_FOUND),
    (AlreadyExists, rpc_code.ALREADY_EXISTS),
    (FailedPrecondition, rpc_code.FAILED_PRECONDITION),
    (ResourceExhausted, rpc_code.RESOURCE_EXHAUSTED),
    (Unavailable, rpc_code.UNAVAILABLE),
    (InvalidFingerprint, rpc_code.INVALID_ARGUMENT),
    (LicenseKeyError, rpc_code.INVALID_ARGUMENT),
)


def status_for(error: KeysvcError | SigningError) -> grpc.Status:
    """The status for one of our errors: its code, message and ErrorInfo."""
    code = next((c for cls, c in _CODES if isinstance(error, cls)), rpc_code.INTERNAL)
    if isinstance(error, KeysvcError):
        message, metadata = error.message, error.metadata
    else:
        message, metadata = str(error), {}
    retry_after = error.retry_after if isinstance(error, ResourceExhausted) else None
    return _status(code, message, error.reason, metadata, retry_after)


def internal_status() -> grpc.Status:
    """The answer to an unexpected failure: INTERNAL, nothing else disclosed."""
    return _status(rpc_code.INTERNAL, "internal error", INTERNAL_REASON, {})


def _status(
    code: int,
    message: str,
    reason: str,
    metadata: dict[str, str],
    retry_after: float | None = None,
) -> grpc.Status:
    message = _shortened(message, MAX_MESSAGE_CHARACTERS)
    metadata = {key: _shortened(value, MAX_METADATA_CHARACTERS) for key, value in metadata.items()}
    detail = any_pb2.Any()
    detail.Pack(rpc_error_details.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata))
    details = [detail]
    if retry_after is not None:
        retry = any_pb2.Any()
        delay = rpc_error_details.RetryInfo()
        delay.retry_delay.FromNanoseconds(round(retry_after * 1e9))
        retry.Pack(delay)
        details.append(retry)
    status: grpc.Status = rpc_status.to_status(
        rpc_status_pb2.Status(code=code, message=message, details=details)
    )
    return status


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
