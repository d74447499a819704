"""Who may call what: the roles allowed on each RPC (SPEC sections 1 and 6).

Methods not listed here are refused for every role, so a new RPC is closed
until someone decides who may call it. The health check and reflection need
no token: load balancers and tools call them.
"""

from __future__ import annotations

from collections.abc import Mapping

from keysvc.domain.tokens import Role
from keysvc.v1 import admin_service_pb2, license_service_pb2

PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_LICENSE_SERVICE = license_service_pb2.DESCRIPTOR.services_by_name["LicenseService"]
_ADMIN_SERVICE = admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"]

_ANY = frozenset(Role)
_SITE = frozenset({Role.SITE, Role.ADMIN})

# The migration tool submits re-issues (proving possession of the old key), follows
# them, verifies keys and fetches the published keys; support status and ICE
# credentials are for the product site.
_LICENSE_ROLES: dict[str, frozenset[Role]] = {
    "SubmitKeyRequest": _ANY,
    "GetKeyRequest": _ANY,
    "VerifyLicenseKey": _ANY,
    "GetSupportStatus": _SITE,
    "PreviewRelease": _ANY,
    "ListSigningKeys": _ANY,
    "IssueIceCredentials": _SITE,
}


def _method_path(service_full_name: str, method: str) -> str:
    return f"/{service_full_name}/{method}"


METHOD_ROLES: Mapping[str, frozenset[Role]] = {
    **{
        _method_path(_LICENSE_SERVICE.full_name, name): roles
        for name, roles in _LICENSE_ROLES.items()
    },
    **{
        _method_path(_ADMIN_SERVICE.full_name, method.name): frozenset({Role.ADMIN})
        for method in _ADMIN_SERVICE.methods
    },
}


def is_public(method: str) -> bool:
    """True for the methods that need no token (health check, reflection)."""
    return method.startswith(PUBLIC_PREFIXES)


def allowed_roles(method: str) -> frozenset[Role]:
    """The roles that may call `method` (a full path like ``/pkg.Service/Method``)."""
    return METHOD_ROLES.get(method, frozenset())
