"""IssueIceCredentials over gRPC: covered neo-webconf contracts only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

import grpc
import pytest

from keysvc.v1 import (
    license_service_pb2,
    license_service_pb2_grpc,
)

from .server_process import (
    Clients,
    bearer,
    create_token,
    error_info,
    keysvc_server,
    new_contract,
)

pytestmark = pytest.mark.e2e

SECRET = "e2e-turn-secret"  # noqa: S105 - a test value shared with the test server
URIS = "turn:127.0.0.1:3478?transport=udp,stun:127.0.0.1:3478"


@pytest.fixture(scope="module")
def ice(tmp_path_factory):
    data = tmp_path_factory.mktemp("ice") / "data"
    env = {"KEYSVC_TURN_SECRET": SECRET, "KEYSVC_TURN_URIS": URIS}
    with keysvc_server(data, env) as server, grpc.insecure_channel(server.address) as channel:
        clients = Clients(channel, {role: create_token(data, role) for role in ("site", "admin")})

        def contract(product: str, purchase: str) -> str:
            return new_contract(clients, product, purchase, seats=1).contract_number

        def issue(number: str):
            return clients.site(
                "IssueIceCredentials",
                license_service_pb2.IssueIceCredentialsRequest(contract_number=number),
            )

        yield contract, issue


def test_a_covered_webconf_contract_gets_turn_credentials(ice) -> None:
    contract, issue = ice
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
    number = contract("neo-webconf", today)
    credential = issue(number)
    expiry, name = credential.username.split(":")
    assert name == number
    assert 0 < credential.ttl_seconds <= 24 * 3600
    assert abs(int(expiry) - (time.time() + credential.ttl_seconds)) < 60
    expected = hmac.new(SECRET.encode(), credential.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential.password) == expected
    assert list(credential.uris) == URIS.split(",")


def test_backup_contracts_have_no_ice_service(ice) -> None:
    contract, issue = ice
    with pytest.raises(grpc.RpcError) as caught:
        issue(contract("neo-backup", "2026-11-02"))
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ICE_NOT_OFFERED",
    )


def test_an_expired_contract_gets_support_expired(ice) -> None:
    contract, issue = ice
    with pytest.raises(grpc.RpcError) as caught:
        issue(contract("neo-webconf", "2020-01-06"))
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SUPPORT_EXPIRED",
    )


def test_without_a_turn_secret_ice_is_not_configured(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        keysvc_server(data) as server,
        grpc.insecure_channel(server.address) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        license_service_pb2_grpc.LicenseServiceStub(channel).IssueIceCredentials(
            license_service_pb2.IssueIceCredentialsRequest(contract_number="SS-2026-000001"),
            timeout=10,
            metadata=bearer(create_token(data, "site")),
        )
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ICE_NOT_CONFIGURED",
    )
