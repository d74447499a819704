"""SIGTERM over real gRPC: NOT_SERVING first, a drain while serving, then the calls in flight
finish and the port closes."""

from __future__ import annotations

import http.client
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from keysvc.v1 import admin_service_pb2_grpc, license_service_pb2, license_service_pb2_grpc

from .server_process import ServerProcess, bearer, create_token, keysvc_server
from .test_overload import create_contract_request, write_lock

pytestmark = pytest.mark.e2e

DRAIN_SECONDS = 2


def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def logged(server: ServerProcess, message: str) -> bool:
    return any(record.get("message") == message for record in server.logs())


def test_sigterm_turns_health_not_serving_serves_through_the_drain_then_lets_calls_finish(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = {"KEYSVC_SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS)}
    with keysvc_server(data, env) as server:
        admin, site = create_token(data, "admin"), create_token(data, "site")
        with grpc.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            license_stub = license_service_pb2_grpc.LicenseServiceStub(channel)

            def read() -> None:
                license_stub.ListSigningKeys(
                    license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=bearer(site)
                )

            def status() -> int:
                return health.Check(health_pb2.HealthCheckRequest(), timeout=5).status

            with write_lock(data):
                # A mutation started before SIGTERM, held in flight by the lock.
                held = admin_service_pb2_grpc.AdminServiceStub(channel).CreateContract.future(
                    create_contract_request(), timeout=30, metadata=bearer(admin)
                )
                time.sleep(1)
                signalled = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                until(lambda: status() == health_pb2.HealthCheckResponse.NOT_SERVING)
                read()  # still answered during the drain
                assert time.monotonic() - signalled < DRAIN_SECONDS
                until(lambda: logged(server, "shutting down"))
                assert time.monotonic() - signalled >= DRAIN_SECONDS
                # The port is closed to new calls, while the one in flight waits on.
                with grpc.insecure_channel(server.address) as fresh, pytest.raises(grpc.RpcError):
                    license_service_pb2_grpc.LicenseServiceStub(fresh).ListSigningKeys(
                        license_service_pb2.ListSigningKeysRequest(),
                        timeout=2,
                        metadata=bearer(site),
                    )
                assert not held.done()
            # The lock released, the call in flight completes within the grace period.
            assert held.result(timeout=10).contract_number
        assert server.process.wait(10) == 0
        assert logged(server, "stopped")


def test_the_status_listener_serves_through_the_drain_then_closes_with_the_port(
    tmp_path: Path,
) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    env = {"KEYSVC_SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS), "KEYSVC_STATUS_LISTEN": address}
    host, _, port = address.rpartition(":")

    def jwks_status() -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("GET", "/.well-known/jwks.json")
            return connection.getresponse().status
        finally:
            connection.close()

    with keysvc_server(tmp_path / "data", env) as server:
        assert jwks_status() == 200
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        until(lambda: logged(server, "draining"))
        assert jwks_status() == 200  # still answered during the drain
        assert time.monotonic() - signalled < DRAIN_SECONDS
        assert server.process.wait(15) == 0
        with pytest.raises(ConnectionRefusedError):
            jwks_status()
