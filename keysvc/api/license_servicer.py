"""`keysvc.v1.LicenseService` over gRPC.

Servicers validate, call the service layer, and map results; errors are mapped
by the interceptor. Methods not implemented here yet are inherited from the
generated base and answer UNIMPLEMENTED until the service issue lands them.
"""

from __future__ import annotations

from typing import Any

import grpc

from keysvc.api import messages
from keysvc.api.runner import Runner
from keysvc.signing_keys import SigningKeys
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class LicenseServicer(license_service_pb2_grpc.LicenseServiceServicer):
    """Key requests, verification and the published keys."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def ListSigningKeys(
        self, request: license_service_pb2.ListSigningKeysRequest, context: Context
    ) -> license_service_pb2.ListSigningKeysResponse:
        """The JWKS of every published key, active first, and each key's state."""
        keys = await self._runner.read(SigningKeys.published)
        return license_service_pb2.ListSigningKeysResponse(
            jwks_json=messages.jwks_json(keys),
            signing_keys=[messages.signing_key(key) for key in keys],
        )
