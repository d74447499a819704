"""TLS and mutual TLS, by configuration, with certificates the test makes."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from keysvc.v1 import license_service_pb2, license_service_pb2_grpc

from .certificates import make_authority
from .server_process import bearer, create_token, keysvc_server, run_keysvc

pytestmark = pytest.mark.e2e


def _list_keys(channel: grpc.Channel, token: str):
    stub = license_service_pb2_grpc.LicenseServiceStub(channel)
    return stub.ListSigningKeys(
        license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=bearer(token)
    )


def _secure(address: str, ca: Path, client=None) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=client.key.read_bytes() if client else None,
        certificate_chain=client.cert.read_bytes() if client else None,
    )
    return grpc.secure_channel(address, credentials)


def test_tls_serves_clients_that_trust_the_ca_and_refuses_plaintext(tmp_path: Path) -> None:
    ca, server_pair, _ = make_authority(tmp_path)
    data = tmp_path / "data"
    env = {
        "KEYSVC_TLS_CERT_FILE": str(server_pair.cert),
        "KEYSVC_TLS_KEY_FILE": str(server_pair.key),
    }
    with keysvc_server(data, env) as server:
        token = create_token(data, "site")
        with _secure(server.address, ca.cert) as channel:
            assert _list_keys(channel, token).jwks_json
        with (
            grpc.insecure_channel(server.address) as channel,
            pytest.raises(grpc.RpcError) as caught,
        ):
            _list_keys(channel, token)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        health = run_keysvc("health", "--address", server.address, "--tls-ca", str(ca.cert))
        assert health.returncode == 0, health.stderr
        assert health.stdout.strip() == "SERVING"


def test_mutual_tls_needs_a_client_certificate_from_the_ca(tmp_path: Path) -> None:
    ca, server_pair, client = make_authority(tmp_path)
    data = tmp_path / "data"
    env = {
        "KEYSVC_TLS_CERT_FILE": str(server_pair.cert),
        "KEYSVC_TLS_KEY_FILE": str(server_pair.key),
        "KEYSVC_TLS_CLIENT_CA_FILE": str(ca.cert),
    }
    with keysvc_server(data, env) as server:
        token = create_token(data, "site")
        with _secure(server.address, ca.cert, client) as channel:
            assert _list_keys(channel, token).jwks_json
        with _secure(server.address, ca.cert) as channel, pytest.raises(grpc.RpcError) as caught:
            _list_keys(channel, token)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        (tmp_path / "other").mkdir()
        _, _, stranger = make_authority(tmp_path / "other")
        with _secure(server.address, ca.cert, stranger) as channel, pytest.raises(grpc.RpcError):
            _list_keys(channel, token)
        health = run_keysvc(
            "health",
            "--address",
            server.address,
            "--tls-ca",
            str(ca.cert),
            "--tls-cert",
            str(client.cert),
            "--tls-key",
            str(client.key),
        )
        assert health.returncode == 0, health.stderr


def test_a_certificate_without_its_key_is_refused_at_start(tmp_path: Path) -> None:
    _, server_pair, _ = make_authority(tmp_path)
    result = run_keysvc(
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        "--listen",
        "127.0.0.1:0",
        env={"KEYSVC_TLS_CERT_FILE": str(server_pair.cert)},
    )
    assert result.returncode == 2
    assert "KEYSVC_TLS_KEY_FILE" in result.stderr
