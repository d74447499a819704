"""`keysvc.v1.LicenseService` over gRPC.

Only `ListSigningKeys` is served so far; the other methods answer
UNIMPLEMENTED until the service issue lands them.
"""

from __future__ import annotations

import json

import grpc

from keysvc.v1 import license_service_pb2, license_service_pb2_grpc, resources_pb2
from signing import KeyRing


class LicenseServicer(license_service_pb2_grpc.LicenseServiceServicer):
    """Serves the public signing keys from the key ring."""

    def __init__(self, key_ring: KeyRing) -> None:
        self._key_ring = key_ring

    async def ListSigningKeys(
        self,
        request: license_service_pb2.ListSigningKeysRequest,
        context: grpc.aio.ServicerContext[
            license_service_pb2.ListSigningKeysRequest,
            license_service_pb2.ListSigningKeysResponse,
        ],
    ) -> license_service_pb2.ListSigningKeysResponse:
        """Returns the JWKS, active key first, and each key's state."""
        jwks = self._key_ring.jwks()
        active_kid = self._key_ring.active.kid
        return license_service_pb2.ListSigningKeysResponse(
            jwks_json=json.dumps(jwks, separators=(",", ":")),
            signing_keys=[
                resources_pb2.SigningKey(
                    kid=jwk["kid"],
                    state=(
                        resources_pb2.SIGNING_KEY_STATE_ACTIVE
                        if jwk["kid"] == active_kid
                        else resources_pb2.SIGNING_KEY_STATE_RETIRED
                    ),
                    public_jwk_json=json.dumps(jwk, separators=(",", ":")),
                )
                for jwk in jwks["keys"]
            ],
        )
