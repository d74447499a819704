"""Attacks on the tokens are seen and slowed, over gRPC against a real server.

The server limits each client address to LIMIT failed authentications per
minute, then refuses it for BLOCK seconds. Several client addresses on one
machine: 127.0.0.1 directly, and others through a `TcpProxy` whose connections
come from 127.0.0.2, 127.0.0.3, ...
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
)
from tests.faults.tcp_proxy import TcpProxy

from .server_process import bearer, create_token, error_info, keysvc_server

pytestmark = pytest.mark.e2e

LIMIT = 5
BLOCK = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("attacks") / "data"
    env = {
        "KEYSVC_AUTH_FAILURE_LIMIT": str(LIMIT),
        "KEYSVC_AUTH_FAILURE_WINDOW_SECONDS": "60",
        "KEYSVC_AUTH_BLOCK_SECONDS": str(BLOCK),
        "KEYSVC_METRICS_LISTEN": "127.0.0.1:0",
    }
    with keysvc_server(data, env) as running:
        running.tokens = {role: create_token(data, role) for role in ("site", "admin")}
        yield running


@contextlib.contextmanager
def from_address(server, source_host: str) -> Iterator[str]:
    """An address to dial that reaches `server` from `source_host`."""
    host, _, port = server.address.rpartition(":")
    with TcpProxy(host, int(port), source_host=source_host) as proxy:
        yield f"127.0.0.1:{proxy.port}"


def _keys(address: str, token: str) -> grpc.StatusCode:
    """ListSigningKeys from `address` with `token`: the status code it ends with."""
    with grpc.insecure_channel(address) as channel:
        try:
            license_service_pb2_grpc.LicenseServiceStub(channel).ListSigningKeys(
                license_service_pb2.ListSigningKeysRequest(), timeout=10, metadata=bearer(token)
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def _refusal(address: str, token: str) -> tuple[str, float]:
    """The ErrorInfo reason and RetryInfo delay of a call refused from `address`."""
    with grpc.insecure_channel(address) as channel:
        stub = license_service_pb2_grpc.LicenseServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListSigningKeys(
                license_service_pb2.ListSigningKeysRequest(), timeout=10, metadata=bearer(token)
            )
    code, reason, _ = error_info(caught.value)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(caught.value)
    assert status is not None
    delays = []
    for detail in status.details:
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            delays.append(retry.retry_delay.ToTimedelta().total_seconds())
    (delay,) = delays
    return reason, delay


def _wrong(n: int) -> str:
    # Well-formed, so that the server looks it up; its secret must never be logged.
    return f"ksv1.{n:016x}.wrong-secret-{n:06d}-must-not-be-logged"


def _auth_failures(server) -> dict[str, float]:
    (record,) = [r for r in server.logs() if r.get("message") == "serving metrics"]
    with urllib.request.urlopen(str(record["metrics"]), timeout=10) as answer:  # noqa: S310 - our own
        text = answer.read().decode("utf-8")
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "keysvc_auth_failures_total":
                samples[sample.labels["reason"]] = sample.value
            if sample.name == "keysvc_auth_blocked_peers":
                samples["blocked_peers"] = sample.value
    return samples


def test_an_address_failing_limit_times_is_refused_with_a_retry_delay_and_others_are_not(
    server,
) -> None:
    before = _auth_failures(server)
    good = server.tokens["site"]
    with from_address(server, "127.0.0.2") as attacker:
        # A crowd of wrong tokens at once, as the attack of issue #17 (8,064 in 10 s).
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda n: _keys(attacker, _wrong(n)), range(200)))
        # Exactly LIMIT were looked at (and refused as unknown); every other was refused
        # before its token was read.
        assert codes.count(grpc.StatusCode.UNAUTHENTICATED) == LIMIT
        assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 200 - LIMIT
        # A good token from the blocked address is refused too: a blocked address
        # learns nothing about any token.
        reason, delay = _refusal(attacker, good)
        assert reason == "TOO_MANY_AUTHENTICATION_FAILURES"
        assert 0 < delay <= BLOCK
        # Another address is not concerned: its good token works, a wrong one is
        # merely unauthenticated.
        assert _keys(server.address, good) == grpc.StatusCode.OK
        assert _keys(server.address, _wrong(999)) == grpc.StatusCode.UNAUTHENTICATED
    after = _auth_failures(server)
    assert after["UNAUTHENTICATED"] - before["UNAUTHENTICATED"] == LIMIT + 1
    assert after["TOO_MANY_AUTHENTICATION_FAILURES"] - before[
        "TOO_MANY_AUTHENTICATION_FAILURES"
    ] == (200 - LIMIT + 1)
    assert after["blocked_peers"] >= 1


def test_the_block_ends_after_its_seconds_and_the_count_starts_afresh(server) -> None:
    good = server.tokens["site"]
    with from_address(server, "127.0.0.3") as client:
        codes = [_keys(client, _wrong(n)) for n in range(LIMIT)]
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * LIMIT
        _, delay = _refusal(client, good)
        time.sleep(delay + 0.2)
        assert _keys(client, good) == grpc.StatusCode.OK
        codes = [_keys(client, _wrong(n)) for n in range(LIMIT + 1)]
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * LIMIT + [
            grpc.StatusCode.RESOURCE_EXHAUSTED
        ]


def test_failures_are_logged_per_address_at_a_limited_rate_and_never_with_the_token(
    server,
) -> None:
    with from_address(server, "127.0.0.4") as client:
        for n in range(LIMIT + 50):
            _keys(client, _wrong(n))
        _keys(client, "not-even-a-bearer-token")
    lines = "".join(server.log_lines)
    records = [r for r in server.logs() if r.get("peer") == "127.0.0.4"]
    messages = [r["message"] for r in records]
    # The first failure at once, then the blocking one; the refusals after it wait
    # for the next line, a minute later: two lines for 56 calls.
    assert messages == [
        "failed authentication",
        "address blocked: too many failed authentications",
    ]
    first, blocked = records
    assert first["failures"] == 1
    assert first["token_id"] == f"{0:016x}"
    assert blocked["failures"] == LIMIT - 1
    assert (blocked["limit"], blocked["blocked_seconds"]) == (LIMIT, BLOCK)
    assert "wrong-secret" not in lines
    assert "must-not-be-logged" not in lines
    for token in server.tokens.values():
        assert token.split(".")[2] not in lines


def test_a_refused_role_is_audited_logged_and_counted(server) -> None:
    before = _auth_failures(server)
    site = server.tokens["site"]
    site_id = site.split(".")[1]
    with grpc.insecure_channel(server.address) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListContracts(
                admin_service_pb2.ListContractsRequest(), timeout=10, metadata=bearer(site)
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        events = stub.ListAuditEvents(
            admin_service_pb2.ListAuditEventsRequest(actor_token_id=site_id),
            timeout=10,
            metadata=bearer(server.tokens["admin"]),
        ).audit_events
    (event,) = events
    assert event.method == "/keysvc.v1.AdminService/ListContracts"
    assert event.outcome == "PERMISSION_DENIED"
    assert event.actor_role == "site"
    (record,) = [
        r for r in server.logs() if r.get("message", "").startswith("refused: the token's role")
    ]
    assert (record["token_id"], record["role"], record["peer"]) == (site_id, "site", "127.0.0.1")
    assert site.split(".")[2] not in json.dumps(record)
    after = _auth_failures(server)
    assert after["PERMISSION_DENIED"] - before["PERMISSION_DENIED"] == 1
