"""`keysvc serve` as a process: health, reflection, the signing key, shutdown."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from keysvc.v1 import (
    license_service_pb2,
    license_service_pb2_grpc,
)
from signing import LicenseVerifier, decrypt_private_key, read_passphrase_file

from .server_process import bearer, create_token, keysvc_server, run_keysvc

pytestmark = pytest.mark.e2e


def _jwks(address: str, token: str) -> dict:
    with grpc.insecure_channel(address) as channel:
        stub = license_service_pb2_grpc.LicenseServiceStub(channel)
        response = stub.ListSigningKeys(
            license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=bearer(token)
        )
    return json.loads(response.jwks_json)


def test_server_answers_the_standard_health_check_as_serving(tmp_path: Path) -> None:
    with keysvc_server(tmp_path / "data") as server, grpc.insecure_channel(server.address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for service in ("", "keysvc.v1.LicenseService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        result = run_keysvc("health", "--address", server.address)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "SERVING"


def test_health_command_fails_when_no_server_answers() -> None:
    result = run_keysvc("health", "--address", "127.0.0.1:9", "--timeout", "1")
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def test_server_offers_reflection_of_its_services(tmp_path: Path) -> None:
    with keysvc_server(tmp_path / "data") as server, grpc.insecure_channel(server.address) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (reply,) = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        names = {service.name for service in reply.list_services_response.service}
        assert {"keysvc.v1.LicenseService", "grpc.health.v1.Health"} <= names
        symbol = reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="keysvc.v1.LicenseService"
        )
        (reply,) = list(stub.ServerReflectionInfo(iter([symbol]), timeout=5))
        assert reply.file_descriptor_response.file_descriptor_proto


def _stored_private_keys(data: Path) -> dict[str, bytes]:
    with sqlite3.connect(data / "keysvc.db") as db:
        rows = db.execute("SELECT kid, private_key_pem FROM signing_keys").fetchall()
    return {kid: pem.encode() for kid, pem in rows}


def test_first_start_creates_an_encrypted_development_key_and_warns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with keysvc_server(data) as server:
        jwks = _jwks(server.address, create_token(data, "site"))
        warnings = [r for r in server.logs() if r["level"] == "warning"]
    assert any("DEVELOPMENT signing key" in str(r["message"]) for r in warnings)
    (jwk,) = jwks["keys"]
    assert "d" not in jwk
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    passphrase_file = data / "keys" / "dev-passphrase"
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    (pem,) = _stored_private_keys(data).values()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = decrypt_private_key(pem, read_passphrase_file(passphrase_file))
    assert jwk["kid"] == key.kid
    assert LicenseVerifier.from_jwks(jwks)  # the published document is a usable key set


def test_restart_keeps_the_same_signing_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with keysvc_server(data) as first:
        token = create_token(data, "migration")
        before = _jwks(first.address, token)
    with keysvc_server(data) as second:
        after = _jwks(second.address, token)
    assert before == after


def test_configured_passphrase_makes_a_production_key_without_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"KEYSVC_SIGNING_KEY_PASSPHRASE": "correct horse battery staple"}
    with keysvc_server(data, env) as server:
        (jwk,) = _jwks(server.address, create_token(data, "admin", env))["keys"]
        assert not [r for r in server.logs() if r["level"] == "warning"]
    assert not (data / "keys" / "dev-passphrase").exists()
    (pem,) = _stored_private_keys(data).values()
    assert decrypt_private_key(pem, b"correct horse battery staple").kid == jwk["kid"]
    assert "correct horse" not in "".join(server.log_lines)


def test_serve_refuses_a_wrong_passphrase(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with keysvc_server(data, {"KEYSVC_SIGNING_KEY_PASSPHRASE": "the right one"}):
        pass
    result = run_keysvc(
        "serve",
        "--data-dir",
        str(data),
        "--listen",
        "127.0.0.1:0",
        env={"KEYSVC_SIGNING_KEY_PASSPHRASE": "a wrong one"},
    )
    assert result.returncode == 2
    assert "cannot start" in result.stderr
    assert "wrong one" not in result.stderr


def test_serve_refuses_a_passphrase_file_others_can_read(tmp_path: Path) -> None:
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text("correct horse battery staple\n")
    passphrase_file.chmod(0o644)
    result = run_keysvc(
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        "--listen",
        "127.0.0.1:0",
        env={"KEYSVC_SIGNING_KEY_PASSPHRASE_FILE": str(passphrase_file)},
    )
    assert result.returncode == 2
    assert "cannot start" in result.stderr
    assert str(passphrase_file) in result.stderr


def test_serve_refuses_a_product_whose_row_names_no_policy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with keysvc_server(data):
        pass
    with sqlite3.connect(data / "keysvc.db") as db:
        db.execute("UPDATE products SET policy = 'neo-gone' WHERE code = 'neo-backup'")
    result = run_keysvc("serve", "--data-dir", str(data), "--listen", "127.0.0.1:0")
    assert result.returncode == 2
    assert "cannot start" in result.stderr
    assert "'neo-backup' names no support policy: 'neo-gone'" in result.stderr


def test_sigterm_stops_the_server_cleanly(tmp_path: Path) -> None:
    with keysvc_server(tmp_path / "data") as server:
        pass
    assert server.process.returncode == 0
    messages = [r["message"] for r in server.logs()]
    assert messages[-3:] == ["draining", "shutting down", "stopped"]


def test_a_method_the_server_lacks_answers_unimplemented(tmp_path: Path) -> None:
    # What a newer client meets on an older server: gRPC's own UNIMPLEMENTED.
    data = tmp_path / "data"
    with keysvc_server(data) as server, grpc.insecure_channel(server.address) as ch:
        token = create_token(data, "admin")
        missing = ch.unary_unary("/keysvc.v1.AdminService/NoSuchMethod")
        with pytest.raises(grpc.RpcError) as caught:
            missing(b"", timeout=5, metadata=bearer(token))
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        # The server keeps serving afterwards.
        assert _jwks(server.address, token)["keys"]


def test_a_second_server_on_a_taken_address_refuses_to_start(tmp_path: Path) -> None:
    # gRPC would otherwise share the port (SO_REUSEPORT) and split the calls.
    with keysvc_server(tmp_path / "first") as first:
        result = run_keysvc(
            "serve", "--data-dir", str(tmp_path / "second"), "--listen", first.address
        )
        assert result.returncode == 2
        assert "cannot listen" in result.stderr
        assert first.process.poll() is None
