"""`LicenseService` for the product site's backend (and the migration tool)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from types import TracebackType

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.client.calls import Caller
from keysvc.client.channel import ClientConfig, open_channel
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc, resources_pb2

KeyRequestKind = resources_pb2.KeyRequestKind
KeyRequestState = resources_pb2.KeyRequestState
WAITING_STATES = frozenset(
    {resources_pb2.KEY_REQUEST_STATE_PENDING, resources_pb2.KEY_REQUEST_STATE_HELD}
)


class StillWaiting(TimeoutError):
    """`wait_for_release` ran out of time; `key_request` is the last state seen."""

    def __init__(self, key_request: resources_pb2.KeyRequest, timeout: float) -> None:
        super().__init__(f"key request {key_request.id} still waiting after {timeout} s")
        self.key_request = key_request


class LicenseClient:
    """Typed calls to `keysvc.v1.LicenseService`.

    Every call has a deadline; transient failures are retried with backoff;
    mutations get a `request_id` that all their retries reuse, so a retry can
    never submit a second request. Errors are raised as `KeysvcClientError`
    subclasses carrying the service's reason. Use it as a context manager, or
    call `close()`.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._channel = open_channel(config, interceptors)
        self._stub = license_service_pb2_grpc.LicenseServiceStub(self._channel)
        self._call = Caller(config, sleep)
        self._sleep = sleep

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> LicenseClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def submit_key_request(
        self,
        contract_number: str,
        kind: KeyRequestKind.ValueType,
        *,
        fingerprint: str = "",
        contact_email: str = "",
        previous_license_serial: str = "",
        previous_key: str = "",
        request_id: str = "",
    ) -> resources_pb2.KeyRequest:
        """Submits a key request; the same `request_id` never makes a second one.

        Leave `request_id` empty to have one made for this call and its retries;
        pass your own (e.g. stored with the order) to make your own retries safe too.
        """
        request = license_service_pb2.SubmitKeyRequestRequest(
            request_id=request_id,
            contract_number=contract_number,
            kind=kind,
            fingerprint=fingerprint,
            contact_email=contact_email,
            previous_license_serial=previous_license_serial,
            previous_key=previous_key,
        )
        return self._call(self._stub.SubmitKeyRequest, request)

    def get_key_request(self, request_id: str) -> resources_pb2.KeyRequest:
        """A key request: its state, due date, scheduled release, and the key once released."""
        request = license_service_pb2.GetKeyRequestRequest(id=request_id)
        return self._call(self._stub.GetKeyRequest, request)

    def wait_for_release(
        self,
        request_id: str,
        *,
        timeout: float,
        poll_interval: float = 2.0,
        on_poll: Callable[[resources_pb2.KeyRequest], None] | None = None,
    ) -> resources_pb2.KeyRequest:
        """Polls until the request is no longer waiting (released, or rejected) and
        returns it; `StillWaiting` (a `TimeoutError` carrying the last state seen) if
        it is still waiting after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.get_key_request(request_id)
            if on_poll is not None:
                on_poll(current)
            if current.state not in WAITING_STATES:
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StillWaiting(current, timeout)
            self._sleep(min(poll_interval, remaining))

    def verify_license_key(
        self, license_key: str, fingerprint: str = ""
    ) -> license_service_pb2.VerifyLicenseKeyResponse:
        """Whether a key verifies (and matches `fingerprint`), and its license's status."""
        request = license_service_pb2.VerifyLicenseKeyRequest(
            license_key=license_key, fingerprint=fingerprint
        )
        return self._call(self._stub.VerifyLicenseKey, request)

    def get_support_status(
        self, contract_number: str, on: date | None = None
    ) -> resources_pb2.SupportStatus:
        """Coverage of a contract on a day (default: today in Tokyo)."""
        request = license_service_pb2.GetSupportStatusRequest(
            contract_number=contract_number, date=on.isoformat() if on else ""
        )
        return self._call(self._stub.GetSupportStatus, request)

    def preview_release(self, accept_time: datetime) -> license_service_pb2.PreviewReleaseResponse:
        """The due date and release time a request accepted at `accept_time` would get."""
        stamp = Timestamp()
        stamp.FromDatetime(accept_time)
        request = license_service_pb2.PreviewReleaseRequest(accept_time=stamp)
        return self._call(self._stub.PreviewRelease, request)

    def jwks(self) -> str:
        """The published verification keys, as JWKS JSON text."""
        request = license_service_pb2.ListSigningKeysRequest()
        return self._call(self._stub.ListSigningKeys, request).jwks_json

    def issue_ice_credentials(self, contract_number: str) -> resources_pb2.IceCredentials:
        """TURN credentials for a covered web-conference contract."""
        request = license_service_pb2.IssueIceCredentialsRequest(contract_number=contract_number)
        return self._call(self._stub.IssueIceCredentials, request)
