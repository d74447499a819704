"""`keysvc.v1.AdminService` over gRPC (role admin only, see `keysvc.api.policy`).

Its methods arrive with the service issue; until then each answers
UNIMPLEMENTED, behind the same authentication and role checks as the rest.
"""

from __future__ import annotations

from keysvc.v1 import admin_service_pb2_grpc


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    """Support staff's operations."""
