"""Bearer tokens and roles, enforced by the server for every RPC of ours."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
)

from .server_process import bearer, create_token, error_info, keysvc_server, run_keysvc

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("auth") / "data"
    with keysvc_server(data) as running:
        running.tokens = {role: create_token(data, role) for role in ("site", "migration", "admin")}
        running.data_dir = data
        yield running


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(server.address) as ch:
        yield ch


def _list_signing_keys(channel, metadata=()):
    stub = license_service_pb2_grpc.LicenseServiceStub(channel)
    return stub.ListSigningKeys(
        license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=metadata
    )


def test_a_call_without_a_token_is_unauthenticated(channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _list_signing_keys(channel)
    code, reason, _ = error_info(caught.value)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert reason == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer ksv1.0000000000000000.unknown", "Basic dXNlcjpwYXNz", "Bearer nonsense"],
)
def test_an_unknown_or_malformed_token_is_unauthenticated(channel, authorization) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _list_signing_keys(channel, (("authorization", authorization),))
    assert error_info(caught.value)[:2] == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")


def test_a_known_id_with_a_wrong_secret_is_unauthenticated(server, channel) -> None:
    token_id = server.tokens["admin"].split(".")[1]
    with pytest.raises(grpc.RpcError) as caught:
        _list_signing_keys(channel, bearer(f"ksv1.{token_id}.wrong-secret"))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("role", ["site", "migration", "admin"])
def test_every_role_may_list_the_signing_keys(server, channel, role) -> None:
    assert _list_signing_keys(channel, bearer(server.tokens[role])).jwks_json


@pytest.mark.parametrize("role", ["site", "migration"])
def test_admin_service_refuses_other_roles(server, channel, role) -> None:
    stub = admin_service_pb2_grpc.AdminServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListContracts(
            admin_service_pb2.ListContractsRequest(),
            timeout=5,
            metadata=bearer(server.tokens[role]),
        )
    code, reason, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert reason == "PERMISSION_DENIED"
    assert metadata == {"role": role, "method": "/keysvc.v1.AdminService/ListContracts"}


def test_migration_tokens_may_not_read_support_status(server, channel) -> None:
    stub = license_service_pb2_grpc.LicenseServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetSupportStatus(
            license_service_pb2.GetSupportStatusRequest(contract_number="SS-2026-000001"),
            timeout=5,
            metadata=bearer(server.tokens["migration"]),
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_health_check_needs_no_token(channel) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_only_a_hash_of_each_token_is_stored(server) -> None:
    with sqlite3.connect(server.data_dir / "keysvc.db") as db:
        rows = db.execute("SELECT id, role, secret_hash FROM tokens").fetchall()
    stored = {row[0]: (row[1], bytes(row[2])) for row in rows}
    for role, token in server.tokens.items():
        _, token_id, secret = token.split(".")
        assert stored[token_id][0] == role
        assert len(stored[token_id][1]) == 32
        assert secret.encode() not in stored[token_id][1]
    database_bytes = (server.data_dir / "keysvc.db").read_bytes()
    assert all(t.split(".")[2].encode() not in database_bytes for t in server.tokens.values())


def test_tokens_create_refuses_an_unknown_role(tmp_path: Path) -> None:
    result = run_keysvc("tokens", "create", "--role", "root", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_admins_pass_the_role_check_on_the_admin_service(server, channel) -> None:
    stub = admin_service_pb2_grpc.AdminServiceStub(channel)
    reply = stub.ListContracts(
        admin_service_pb2.ListContractsRequest(),
        timeout=5,
        metadata=bearer(server.tokens["admin"]),
    )
    assert reply.next_page_token == ""
