"""IssueIceCredentials over gRPC: covered neo-webconf contracts only, on SQLite and PostgreSQL.

The server runs on the test clock of conftest.py (Sunday 2026-11-22, 12:00 JST);
the test of the coverage cap moves it to the last evening of a period.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest

from keysvc.v1 import (
    admin_service_pb2,
    license_service_pb2,
    license_service_pb2_grpc,
)

from .clocked_keysvc import set_clock
from .conftest import BACKENDS, SERVER_NOW, backend_clients
from .server_process import bearer, create_token, error_info, keysvc_server, new_contract

pytestmark = pytest.mark.e2e

SECRET = "e2e-turn-secret"  # noqa: S105 - a test value shared with the test server
URIS = "turn:127.0.0.1:3478?transport=udp,stun:127.0.0.1:3478"
JST = ZoneInfo("Asia/Tokyo")
DAY = 24 * 3600


@pytest.fixture(scope="module", params=BACKENDS)
def clients(request, tmp_path_factory):
    env = {"KEYSVC_TURN_SECRET": SECRET, "KEYSVC_TURN_URIS": URIS}
    with backend_clients(request, tmp_path_factory, env) as clients:
        yield clients


def contract(clients, product: str, purchase: str) -> str:
    return new_contract(clients, product, purchase, seats=1).contract_number


def issue(clients, number: str):
    return clients.site(
        "IssueIceCredentials",
        license_service_pb2.IssueIceCredentialsRequest(contract_number=number),
    )


def test_a_covered_webconf_contract_gets_turn_credentials(clients) -> None:
    number = contract(clients, "neo-webconf", clients.today.isoformat())
    credential = issue(clients, number)
    expiry, name = credential.username.split(":")
    assert name == number
    # Covered until 2027-12-31: the 24-hour limit decides.
    assert credential.ttl_seconds == DAY
    assert credential.expire_time.ToSeconds() == int(expiry)
    # The server's clock ticks on from SERVER_NOW; the test module runs for minutes, not hours.
    assert 0 <= int(expiry) - (SERVER_NOW.timestamp() + DAY) < 3600
    expected = hmac.new(SECRET.encode(), credential.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential.password) == expected
    assert list(credential.uris) == URIS.split(",")


def test_credentials_expire_when_coverage_ends_within_a_day(clients) -> None:
    # Accepted 2025-10-15: the one period is 2025-12-01 .. 2026-11-30.
    number = contract(clients, "neo-webconf", "2025-10-15")
    four_hours_before_the_end = datetime(2026, 11, 30, 20, 0, tzinfo=JST)
    set_clock(clients.clock_file, four_hours_before_the_end)
    try:
        credential = issue(clients, number)
        coverage_end = int(datetime(2026, 12, 1, tzinfo=JST).timestamp())
        assert credential.username == f"{coverage_end}:{number}"
        assert credential.expire_time.ToSeconds() == coverage_end
        assert credential.ttl_seconds == 4 * 3600
        # Renewed on time, the contract is covered past tomorrow: 24 hours again.
        clients.admin(
            "RenewContract",
            admin_service_pb2.RenewContractRequest(
                request_id=str(uuid.uuid4()), contract_number=number, accept_date="2026-11-30"
            ),
        )
        renewed = issue(clients, number)
        expected = four_hours_before_the_end + timedelta(days=1)
        assert renewed.username == f"{int(expected.timestamp())}:{number}"
        assert renewed.ttl_seconds == DAY
    finally:
        set_clock(clients.clock_file, SERVER_NOW, ticking=True)


def test_backup_contracts_have_no_ice_service(clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        issue(clients, contract(clients, "neo-backup", "2026-11-02"))
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ICE_NOT_OFFERED",
    )


def test_an_expired_contract_gets_support_expired(clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        issue(clients, contract(clients, "neo-webconf", "2020-01-06"))
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
