"""Python clients of the keysvc gRPC API, for the product site and the staff's tools.

    from keysvc.client import ClientConfig, LicenseClient

    config = ClientConfig(address="keysvc.internal:50051", token=token, tls_ca=ca_path)
    with LicenseClient(config) as keysvc:
        request = keysvc.submit_key_request(
            "SS-2026-000123", KeyRequestKind.KEY_REQUEST_KIND_REISSUE, fingerprint=fp,
            previous_license_serial=serial, request_id=order_id,
        )

Calls have deadlines, transient failures are retried with backoff, and
mutations carry a `request_id` that every retry reuses, so nothing is done
twice. Failures raise `KeysvcClientError` subclasses with the service's reason.
This package needs grpcio and protobuf only (not SQLAlchemy nor the server).
See docs/client.md.
"""

from __future__ import annotations

from keysvc.client.admin_client import AdminClient
from keysvc.client.channel import ClientConfig, open_channel
from keysvc.client.errors import (
    TLS_HANDSHAKE_FAILED,
    AlreadyExistsError,
    AuthenticationError,
    FailedPreconditionError,
    InvalidArgumentError,
    KeysvcClientError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from keysvc.client.license_client import (
    KeyRequestKind,
    KeyRequestState,
    LicenseClient,
    StillWaiting,
)
from keysvc.client.retry import NO_RETRY, RetryPolicy

__all__ = [
    "NO_RETRY",
    "TLS_HANDSHAKE_FAILED",
    "AdminClient",
    "AlreadyExistsError",
    "AuthenticationError",
    "ClientConfig",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "KeyRequestKind",
    "KeyRequestState",
    "KeysvcClientError",
    "LicenseClient",
    "NotFoundError",
    "PermissionDeniedError",
    "RetryPolicy",
    "StillWaiting",
    "UnavailableError",
    "open_channel",
]
