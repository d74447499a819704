"""Who may call what, and read whose key requests: every RPC for every role, over
gRPC against a real server, on SQLite and on PostgreSQL (docs/auth.md).

The matrix below is written out again rather than read from
`keysvc.api.access_rules`: it is the documented rule, and the server must follow it.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf.message_factory import GetMessageClass

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
    resources_pb2,
)

from .server_process import bearer, error_info, new_contract, submit_initial

pytestmark = pytest.mark.e2e

LICENSE = license_service_pb2.DESCRIPTOR.services_by_name["LicenseService"]
ADMIN = admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"]
ROLES = ("site", "migration", "admin")
EVERYONE = frozenset(ROLES)
SITE_AND_ADMIN = frozenset({"site", "admin"})
LICENSE_SERVICE_ROLES = {
    "SubmitKeyRequest": EVERYONE,
    "GetKeyRequest": EVERYONE,
    "VerifyLicenseKey": EVERYONE,
    "PreviewRelease": EVERYONE,
    "ListSigningKeys": EVERYONE,
    "GetSupportStatus": SITE_AND_ADMIN,
    "IssueIceCredentials": SITE_AND_ADMIN,
}
MATRIX = [
    *((LICENSE, name, roles) for name, roles in LICENSE_SERVICE_ROLES.items()),
    *((ADMIN, method.name, frozenset({"admin"})) for method in ADMIN.methods),
]


def test_the_matrix_names_every_rpc_of_both_services() -> None:
    assert {(s.name, name) for s, name, _ in MATRIX} == {
        (s.name, m.name) for s in (LICENSE, ADMIN) for m in s.methods
    }


def _call(channel, service, name: str, token: str):
    """Calls `name` with an empty request: enough to pass or fail the role check."""
    stub_type = (
        license_service_pb2_grpc.LicenseServiceStub
        if service is LICENSE
        else admin_service_pb2_grpc.AdminServiceStub
    )
    request = GetMessageClass(service.methods_by_name[name].input_type)()
    return getattr(stub_type(channel), name)(request, timeout=30, metadata=bearer(token))


@pytest.mark.parametrize("role", ROLES)
def test_every_rpc_refuses_exactly_the_roles_the_matrix_leaves_out(clients, role) -> None:
    wrong = []
    for service, name, allowed in MATRIX:
        try:
            _call(clients.channel, service, name, clients.tokens[role])
            refused = False
        except grpc.RpcError as error:
            code, reason, metadata = error_info(error)
            refused = code == grpc.StatusCode.PERMISSION_DENIED and reason == "PERMISSION_DENIED"
            if refused:
                assert metadata == {"role": role, "method": f"/{service.full_name}/{name}"}
        if refused == (role in allowed):
            wrong.append((name, "refused" if refused else "allowed"))
    assert wrong == []


def _get(clients, token: str, request_id: str):
    stub = license_service_pb2_grpc.LicenseServiceStub(clients.channel)
    return stub.GetKeyRequest(
        license_service_pb2.GetKeyRequestRequest(id=request_id), timeout=10, metadata=bearer(token)
    )


def _not_found(clients, token: str, request_id: str) -> tuple[object, str, dict[str, str], str]:
    with pytest.raises(grpc.RpcError) as caught:
        _get(clients, token, request_id)
    code, reason, metadata = error_info(caught.value)
    message = caught.value.details().replace(request_id, "<id>")
    return code, reason, {k: v.replace(request_id, "<id>") for k, v in metadata.items()}, message


def test_a_migration_token_reads_only_the_key_requests_it_made(clients) -> None:
    contract = new_contract(clients)
    sites = submit_initial(clients, contract.contract_number, "fp1:role-matrix-old-server")
    issued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=sites.id))
    ours = clients.migration(
        "SubmitKeyRequest",
        license_service_pb2.SubmitKeyRequestRequest(
            request_id=str(uuid.uuid4()),
            contract_number=contract.contract_number,
            kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
            fingerprint="fp1:role-matrix-new-server",
            previous_key=issued.license_key,
        ),
    )
    tokens = dict(clients.tokens) | {"other migration": clients.make_token("migration")}
    # Who reads what: its maker, the site and admins; no other migration token.
    readers = {
        sites.id: {"site", "admin"},
        ours.id: {"migration", "site", "admin"},
    }
    missing = _not_found(clients, tokens["migration"], "kr_does_not_exist")
    assert missing[:2] == (grpc.StatusCode.NOT_FOUND, "KEY_REQUEST_NOT_FOUND")
    for request_id, allowed in readers.items():
        for who, token in tokens.items():
            if who in allowed:
                assert _get(clients, token, request_id).id == request_id
            else:
                # Word for word the answer to an id that does not exist.
                assert _not_found(clients, token, request_id) == missing, (who, request_id)
    # The site's request carries the released key: exactly what must not leak.
    assert _get(clients, tokens["site"], sites.id).license_key == issued.license_key
