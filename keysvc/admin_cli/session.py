"""What one command works with: the output and the connections to the service."""

from __future__ import annotations

from types import TracebackType

from keysvc.admin_cli.output import Output
from keysvc.client import AdminClient, ClientConfig, LicenseClient, open_channel
from keysvc.client.calls import Caller
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc


class Session:
    """The clients a command needs, each connected on first use and all closed at the end."""

    def __init__(self, config: ClientConfig, out: Output) -> None:
        self.config = config
        self.out = out
        self._admin: AdminClient | None = None
        self._license: LicenseClient | None = None

    @property
    def admin(self) -> AdminClient:
        """`keysvc.v1.AdminService`."""
        if self._admin is None:
            self._admin = AdminClient(self.config)
        return self._admin

    @property
    def license(self) -> LicenseClient:
        """`keysvc.v1.LicenseService` (key requests by id, calendar previews, keys)."""
        if self._license is None:
            self._license = LicenseClient(self.config)
        return self._license

    def published_keys(self) -> license_service_pb2.ListSigningKeysResponse:
        """`ListSigningKeys` in full: the JWKS and each key's state and dates."""
        # LicenseClient.jwks() returns the JWKS text only; the key states come in
        # the same response, so call the method with the client's own Caller.
        with open_channel(self.config) as channel:
            stub = license_service_pb2_grpc.LicenseServiceStub(channel)
            request = license_service_pb2.ListSigningKeysRequest()
            return Caller(self.config)(stub.ListSigningKeys, request)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for client in (self._admin, self._license):
            if client is not None:
                client.close()
