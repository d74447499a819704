"""The service's errors: what went wrong, in terms a client can act on.

Every error carries a stable UPPER_SNAKE ``reason`` (the ``ErrorInfo.reason``
clients match on), a message for people, and ``metadata`` (field names,
resource ids). Each branch maps to one gRPC status code in
`keysvc.api.status`, the one place that translates errors for the wire::

    KeysvcError
    ├── InvalidArgument        INVALID_ARGUMENT   bad input; metadata["field"] names it
    ├── Unauthenticated        UNAUTHENTICATED    no token, or an unknown one
    ├── PermissionDenied       PERMISSION_DENIED  the token's role may not do this
    ├── NotFound               NOT_FOUND          metadata["resource"] names what is missing
    ├── AlreadyExists          ALREADY_EXISTS
    ├── FailedPrecondition     FAILED_PRECONDITION  valid input the current state refuses
    ├── ResourceExhausted      RESOURCE_EXHAUSTED   refused for now; retry_after says when to retry
    │   └── TooManyFailures    the caller's address failed to authenticate too often
    └── Unavailable            UNAVAILABLE        a dependency (the database, SMTP) failed; retry

Errors from `signing` (a key that does not verify, a bad fingerprint) keep
their own tree and reasons; the mapping treats them as invalid arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class KeysvcError(Exception):
    """Base of the service's errors."""

    reason: ClassVar[str] = "KEYSVC_ERROR"

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason  # type: ignore[misc]  # an instance may refine its class's reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(KeysvcError):
    """A request field is missing or malformed."""

    reason = "INVALID_ARGUMENT"

    def __init__(
        self, field: str, message: str, *, reason: str | None = None, **metadata: str
    ) -> None:
        super().__init__(message, reason=reason, metadata={"field": field, **metadata})
        self.field = field


class Unauthenticated(KeysvcError):
    """The call carries no bearer token, or one the service does not know."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(KeysvcError):
    """The caller's role does not allow this call."""

    reason = "PERMISSION_DENIED"


class NotFound(KeysvcError):
    """A named resource does not exist."""

    reason = "NOT_FOUND"

    def __init__(
        self, resource: str, message: str | None = None, *, reason: str | None = None
    ) -> None:
        super().__init__(
            message or f"{resource} not found", reason=reason, metadata={"resource": resource}
        )
        self.resource = resource


class AlreadyExists(KeysvcError):
    """A resource with that name exists already."""

    reason = "ALREADY_EXISTS"


class FailedPrecondition(KeysvcError):
    """The request is well formed but the current state does not allow it."""

    reason = "FAILED_PRECONDITION"


class ResourceExhausted(KeysvcError):
    """Refused for now (overload, too many failed attempts): retry after `retry_after` s.

    The status carries a `google.rpc.RetryInfo` with that delay.
    """

    reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after = retry_after


class TooManyFailures(ResourceExhausted):
    """The caller's address failed to authenticate too often: every call from it is
    refused until `retry_after` (docs/auth.md)."""

    reason = "TOO_MANY_AUTHENTICATION_FAILURES"


class Unavailable(KeysvcError):
    """A dependency the call needs (the database, an SMTP server) failed or is unreachable.

    Retrying is safe: mutations carry a `request_id`, and nothing was committed
    unless the first answer can be found under it.
    """

    reason = "UNAVAILABLE"
