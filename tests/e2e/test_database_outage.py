"""A database outage, as a replica on PostgreSQL lives it: the network between them
refuses, resets or black-holes connections (`tests/faults/tcp_proxy.py`).

Every call answers UNAVAILABLE with DATABASE_UNAVAILABLE, never INTERNAL; health
turns NOT_SERVING while the database is unreachable and SERVING again after;
the pool recovers without a restart; a retry with the same request_id after the
outage answers with one request, not two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2
from tests.faults.tcp_proxy import TcpProxy

from .conftest import PASSPHRASE
from .server_process import (
    Clients,
    create_token,
    error_info,
    keysvc_server,
    new_contract,
    run_keysvc,
)

pytestmark = pytest.mark.e2e

# The probe runs every 2 s and gives up after 5 s; a little more for a slow machine.
HEALTH_FOLLOWS_WITHIN = 15.0


@pytest.fixture
def outage(postgres_url: str, tmp_path: Path) -> Iterator[tuple[TcpProxy, Clients]]:
    """A server whose database connections pass through a proxy the test controls."""
    data = tmp_path / "data"
    direct = dict(PASSPHRASE, KEYSVC_DATABASE_URL=postgres_url)
    upgraded = run_keysvc("db", "upgrade", "--data-dir", str(data), env=direct)
    assert upgraded.returncode == 0, upgraded.stderr
    tokens = {role: create_token(data, role, direct) for role in ("site", "admin")}
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with (
            keysvc_server(data, dict(direct, KEYSVC_DATABASE_URL=proxied)) as server,
            grpc.insecure_channel(server.address) as channel,
        ):
            clients = Clients(channel, tokens, server.address)
            clients.server = server
            yield proxy, clients
            assert not [
                record for record in server.logs() if record.get("message") == "unexpected error"
            ], "an outage was answered as a bug"


def _health(clients: Clients) -> int:
    stub = health_pb2_grpc.HealthStub(clients.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status


def _eventually(condition: Callable[[], bool], within: float = HEALTH_FOLLOWS_WITHIN) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def _answers(call: Callable[[], object]) -> bool:
    try:
        call()
    except grpc.RpcError as error:
        failure = error
    else:
        return True
    assert error_info(failure)[:2] == (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE")
    return False


def _submit(clients: Clients, contract_number: str, request_id: str):
    return clients.site(
        "SubmitKeyRequest",
        license_service_pb2.SubmitKeyRequestRequest(
            request_id=request_id,
            contract_number=contract_number,
            kind=resources_pb2.KEY_REQUEST_KIND_INITIAL,
            fingerprint="fp1:outage-test-server",
            contact_email="it@example.co.jp",
        ),
    )


def test_refused_connections_answer_unavailable_turn_health_and_recover(outage) -> None:
    proxy, clients = outage
    contract = new_contract(clients)
    get = admin_service_pb2.GetContractRequest(contract_number=contract.contract_number)
    assert _health(clients) == health_pb2.HealthCheckResponse.SERVING

    proxy.refuse()
    calls = {
        "GetContract": lambda: clients.admin("GetContract", get),
        "ListContracts": lambda: clients.admin(
            "ListContracts", admin_service_pb2.ListContractsRequest()
        ),
        "SubmitKeyRequest": lambda: _submit(clients, contract.contract_number, "outage-1"),
        "GetSupportStatus": lambda: clients.site(
            "GetSupportStatus",
            license_service_pb2.GetSupportStatusRequest(contract_number=contract.contract_number),
        ),
    }
    for name, call in calls.items():
        assert not _answers(call), f"{name} answered during the outage"
    _eventually(lambda: _health(clients) == health_pb2.HealthCheckResponse.NOT_SERVING)
    # After the token cache's 2 s, authenticating needs the database too.
    time.sleep(2.1)
    assert not _answers(calls["GetContract"])

    proxy.restore()
    _eventually(lambda: _answers(calls["GetContract"]))
    _eventually(lambda: _health(clients) == health_pb2.HealthCheckResponse.SERVING)
    # The request refused during the outage, retried with its request_id: one request.
    first = _submit(clients, contract.contract_number, "outage-1")
    again = _submit(clients, contract.contract_number, "outage-1")
    assert first.id == again.id
    listed = clients.admin(
        "ListKeyRequests",
        admin_service_pb2.ListKeyRequestsRequest(contract_number=contract.contract_number),
    )
    assert [request.id for request in listed.key_requests] == [first.id]
    assert any(
        record.get("message") == "the database is unreachable: health NOT_SERVING"
        for record in clients.server.logs()
    )


def test_reset_connections_are_replaced_without_a_failed_call(outage) -> None:
    proxy, clients = outage
    contract = new_contract(clients)
    get = admin_service_pb2.GetContractRequest(contract_number=contract.contract_number)
    for _ in range(3):
        proxy.reset()
        assert clients.admin("GetContract", get).contract_number == contract.contract_number


def test_a_black_holed_database_turns_health_not_serving_until_it_answers(outage) -> None:
    proxy, clients = outage
    contract = new_contract(clients)
    proxy.blackhole()
    _eventually(lambda: _health(clients) == health_pb2.HealthCheckResponse.NOT_SERVING)
    proxy.restore()
    _eventually(lambda: _health(clients) == health_pb2.HealthCheckResponse.SERVING)
    get = admin_service_pb2.GetContractRequest(contract_number=contract.contract_number)
    _eventually(lambda: _answers(lambda: clients.admin("GetContract", get)))
