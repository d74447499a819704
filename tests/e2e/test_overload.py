"""Overload over real gRPC: beyond the limit of calls in flight, refused at once with RetryInfo.

A write transaction held on the server's SQLite file keeps its mutations in
flight for as long as a test wants, which makes "exactly N in flight" exact.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from keysvc.client import ClientConfig, LicenseClient, RetryPolicy, UnavailableError
from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
)

from .server_process import (
    Clients,
    ServerProcess,
    bearer,
    create_token,
    error_info,
    keysvc_server,
    new_contract,
    submit_initial,
)

pytestmark = pytest.mark.e2e


@contextmanager
def write_lock(data: Path) -> Iterator[None]:
    """Holds SQLite's write lock on the server's database: its mutations wait."""
    connection = sqlite3.connect(data / "keysvc.db", isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def create_contract_request() -> admin_service_pb2.CreateContractRequest:
    return admin_service_pb2.CreateContractRequest(
        request_id=str(uuid.uuid4()),
        product_code="neo-backup",
        customer_name="株式会社過負荷",
        contact_email="it@example.co.jp",
        seats=5,
        purchase_date="2026-11-02",
    )


def refusal(error: grpc.Call | grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, float]:
    """The code, ErrorInfo reason and RetryInfo delay (s) of a refused call (sync or aio)."""
    (encoded,) = [v for k, v in error.trailing_metadata() or () if k == "grpc-status-details-bin"]
    status = status_pb2.Status.FromString(encoded)
    info, delay = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    (info_detail,) = [d for d in status.details if d.Is(info.DESCRIPTOR)]
    (delay_detail,) = [d for d in status.details if d.Is(delay.DESCRIPTOR)]
    assert info_detail.Unpack(info)
    assert delay_detail.Unpack(delay)
    return error.code(), info.reason, delay.retry_delay.ToNanoseconds() / 1e9


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """A sample of the server's Prometheus endpoint (the first with these labels)."""
    (record,) = [r for r in server.logs() if r.get("message") == "serving metrics"]
    url = str(record["metrics"])
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - checked just above
        text = answer.read().decode("utf-8")
    return next(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def serving(channel: grpc.Channel) -> int:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return reply.status


def test_n_calls_in_flight_are_admitted_and_the_next_refused_while_health_answers(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = {"KEYSVC_MAX_CALLS_IN_FLIGHT": "2", "KEYSVC_METRICS_LISTEN": "127.0.0.1:0"}
    with keysvc_server(data, env) as server:
        admin, site = create_token(data, "admin"), create_token(data, "site")
        with grpc.insecure_channel(server.address) as channel:
            admin_stub = admin_service_pb2_grpc.AdminServiceStub(channel)
            license_stub = license_service_pb2_grpc.LicenseServiceStub(channel)
            with write_lock(data):
                held = [
                    admin_stub.CreateContract.future(
                        create_contract_request(), timeout=30, metadata=bearer(admin)
                    )
                    for _ in range(2)
                ]
                # Time for both to reach the server (its metrics cannot say: a scrape reads
                # the database, and waits for the lock too).
                time.sleep(2)
                # Both are in flight, waiting for the lock: a third call of ours is refused.
                with pytest.raises(grpc.RpcError) as refused:
                    license_stub.ListSigningKeys(
                        license_service_pb2.ListSigningKeysRequest(),
                        timeout=5,
                        metadata=bearer(site),
                    )
                code, reason, metadata = error_info(refused.value)
                assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "OVERLOADED")
                assert metadata == {"limit": "2"}
                assert 0 < refusal(refused.value)[2] <= 1
                assert serving(channel) == health_pb2.HealthCheckResponse.SERVING
                assert not any(call.done() for call in held)
            # The lock released, the calls admitted finish, and there is room again.
            assert all(call.result().contract_number for call in held)
            license_stub.ListSigningKeys(
                license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=bearer(site)
            )
        assert metric(server, "keysvc_grpc_overload_refused_total") == 1
        assert metric(server, "keysvc_grpc_calls_in_flight") == 0
        # Timed from admission to answer: the calls admitted, not the one refused.
        admitted = "keysvc_grpc_admitted_seconds_count"
        assert metric(server, admitted, grpc_method="CreateContract") == 2
        assert metric(server, admitted, grpc_method="ListSigningKeys") == 1
        assert metric(server, admitted, grpc_method="SubmitKeyRequest") == 0


def test_keysvc_client_waits_the_servers_delay_and_reports_the_refusal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with keysvc_server(data, {"KEYSVC_MAX_CALLS_IN_FLIGHT": "1"}) as server:
        admin, site = create_token(data, "admin"), create_token(data, "site")
        config = ClientConfig(
            address=server.address,
            token=site,
            retry=RetryPolicy(attempts=3, initial_backoff=0),  # only the server's delay
        )
        with grpc.insecure_channel(server.address) as channel:
            with write_lock(data):
                held = admin_service_pb2_grpc.AdminServiceStub(channel).CreateContract.future(
                    create_contract_request(), timeout=30, metadata=bearer(admin)
                )
                time.sleep(2)  # the one call admitted, waiting for the lock
                started = time.monotonic()
                with LicenseClient(config) as client, pytest.raises(UnavailableError) as refused:
                    client.jwks()
                waited = time.monotonic() - started
            assert held.result(timeout=30).contract_number
    assert refused.value.reason == "OVERLOADED"
    assert refused.value.retry_after is not None
    # Two pauses of at least the server's delay (0.1 s or more) between three attempts.
    assert waited >= 2 * 0.1


def test_under_a_burst_the_calls_beyond_the_limit_are_refused_and_the_others_answered(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with keysvc_server(data, {"KEYSVC_MAX_CALLS_IN_FLIGHT": "4"}) as server:
        site = create_token(data, "site")
        tokens = {"site": site, "admin": create_token(data, "admin")}
        with grpc.insecure_channel(server.address) as channel:
            clients = Clients(channel, tokens, server.address)
            contract = new_contract(clients).contract_number
            key_request = submit_initial(clients, contract, "fp1:overload-burst").id
        # A read that waits for the database thread: the calls overlap in the server
        # (one answered from memory could each end before the next began).
        outcomes, health = asyncio.run(_burst(server.address, site, key_request, calls=400))
    assert set(outcomes) <= {"OK", "OVERLOADED"}, outcomes
    assert outcomes.count("OK") > 0
    assert outcomes.count("OVERLOADED") > 0
    assert health == health_pb2.HealthCheckResponse.SERVING


async def _burst(
    address: str, token: str, key_request: str, *, calls: int
) -> tuple[list[str], int]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = license_service_pb2_grpc.LicenseServiceStub(channel)

        async def one() -> str:
            try:
                await stub.GetKeyRequest(
                    license_service_pb2.GetKeyRequestRequest(id=key_request),
                    timeout=30,
                    metadata=bearer(token),
                )
            except grpc.aio.AioRpcError as error:
                code, reason, delay = refusal(error)
                assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert delay > 0
                return reason
            return "OK"

        async def health() -> int:
            await asyncio.sleep(0.01)  # amid the burst
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            return reply.status

        *outcomes, status = await asyncio.gather(*(one() for _ in range(calls)), health())
        return outcomes, status
