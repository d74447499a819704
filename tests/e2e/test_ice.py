"""IssueIceCredentials over gRPC: covered neo-webconf contracts only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from pathlib import Path

import grpc
import pytest

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
)

from .server_process import bearer, create_token, error_info, keysvc_server

pytestmark = pytest.mark.e2e

SECRET = "e2e-turn-secret"  # noqa: S105 - a test value shared with the test server
URIS = "turn:127.0.0.1:3478?transport=udp,stun:127.0.0.1:3478"


@pytest.fixture(scope="module")
def ice(tmp_path_factory):
    data = tmp_path_factory.mktemp("ice") / "data"
    env = {"KEYSVC_TURN_SECRET": SECRET, "KEYSVC_TURN_URIS": URIS}
    with keysvc_server(data, env) as server, grpc.insecure_channel(server.address) as channel:
        admin = bearer(create_token(data, "admin"))
        site = bearer(create_token(data, "site"))
        admin_stub = admin_service_pb2_grpc.AdminServiceStub(channel)

        def contract(product: str, purchase: str) -> str:
            return admin_stub.CreateContract(
                admin_service_pb2.CreateContractRequest(
                    request_id=str(uuid.uuid4()),
                    product_code=product,
                    customer_name="株式会社アイス",
                    contact_email="ice@example.co.jp",
                    seats=1,
                    purchase_date=purchase,
                    accept_date=purchase,
                ),
                timeout=10,
                metadata=admin,
            ).contract_number

        def issue(number: str):
            return license_service_pb2_grpc.LicenseServiceStub(channel).IssueIceCredentials(
                license_service_pb2.IssueIceCredentialsRequest(contract_number=number),
                timeout=10,
                metadata=site,
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
    code, reason, _ = error_info(caught.value)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert reason != "SUPPORT_EXPIRED"


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
