"""The Prometheus endpoint of a real `keysvc serve`, scraped over HTTP while it
answers real gRPC calls, on SQLite and on PostgreSQL."""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2

from .conftest import BACKENDS, backend_clients
from .server_process import new_contract, run_keysvc, submit_initial

pytestmark = pytest.mark.e2e

LICENSE = "keysvc.v1.LicenseService"
ADMIN = "keysvc.v1.AdminService"


@pytest.fixture(scope="module", params=BACKENDS)
def clients(request, tmp_path_factory):
    with backend_clients(
        request, tmp_path_factory, {"KEYSVC_METRICS_LISTEN": "127.0.0.1:0"}
    ) as clients:
        yield clients


def metrics_url(clients) -> str:
    (record,) = [r for r in clients.server.logs() if r.get("message") == "serving metrics"]
    url = record["metrics"]
    assert isinstance(url, str)
    return url


def scrape(clients) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    url = metrics_url(clients)
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - checked just above
        text = answer.read().decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def handled(samples, service: str, method: str, code: str) -> float:
    labels = frozenset(
        {
            "grpc_type": "unary",
            "grpc_service": service,
            "grpc_method": method,
            "grpc_code": code,
        }.items()
    )
    return samples.get(("grpc_server_handled_total", labels), 0.0)


def started(samples, service: str, method: str) -> float:
    labels = frozenset(
        {"grpc_type": "unary", "grpc_service": service, "grpc_method": method}.items()
    )
    return samples[("grpc_server_started_total", labels)]


def test_each_call_is_counted_with_the_status_the_client_got(clients) -> None:
    before = scrape(clients)
    contract = new_contract(clients)
    submit_initial(clients, contract.contract_number, "fp1:metrics-server")
    with pytest.raises(grpc.RpcError) as unauthenticated:
        clients.license.SubmitKeyRequest(
            license_service_pb2.SubmitKeyRequestRequest(contract_number=contract.contract_number),
            timeout=10,
        )
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as missing:
        clients.site("GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id="kr_nope"))
    with pytest.raises(grpc.RpcError) as invalid:
        clients.site(
            "VerifyLicenseKey",
            license_service_pb2.VerifyLicenseKeyRequest(license_key="a.b.c", fingerprint="fp1:x"),
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A refused call is counted just after its status went out (the interceptor
    # sees the abort then): wait for the last one to be counted.
    deadline = time.monotonic() + 5
    after = scrape(clients)
    while (
        handled(after, LICENSE, "VerifyLicenseKey", "INVALID_ARGUMENT")
        == handled(before, LICENSE, "VerifyLicenseKey", "INVALID_ARGUMENT")
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
        after = scrape(clients)

    def delta(method: str, code: str, service: str = LICENSE) -> float:
        return handled(after, service, method, code) - handled(before, service, method, code)

    assert delta("CreateContract", "OK", ADMIN) == 1
    assert delta("SubmitKeyRequest", "OK") == 1
    assert delta("SubmitKeyRequest", "UNAUTHENTICATED") == 1
    assert delta("GetKeyRequest", missing.value.code().name) == 1
    assert delta("VerifyLicenseKey", "INVALID_ARGUMENT") == 1
    assert (
        started(after, LICENSE, "SubmitKeyRequest") - started(before, LICENSE, "SubmitKeyRequest")
        == 2
    )
    timed = frozenset(
        {"grpc_type": "unary", "grpc_service": LICENSE, "grpc_method": "SubmitKeyRequest"}.items()
    )
    assert after[("grpc_server_handling_seconds_count", timed)] == started(
        after, LICENSE, "SubmitKeyRequest"
    )
    # The health check is not one of ours.
    assert not any(
        dict(labels).get("grpc_service") == "grpc.health.v1.Health" for _, labels in after
    )


def test_releases_and_deliveries_show_in_the_counters_and_the_backlog(clients) -> None:
    contract = new_contract(clients)
    waiting = submit_initial(
        clients, contract.contract_number, "fp1:metrics-release", request_id=str(uuid.uuid4())
    )
    assert waiting.state == resources_pb2.KEY_REQUEST_STATE_PENDING
    before = scrape(clients)
    assert before[("keysvc_database_up", frozenset())] == 1
    released = clients.admin(
        "ReleaseDue", admin_service_pb2.ReleaseDueRequest(as_of=waiting.release_time)
    )
    assert released.released_count >= 1
    deadline = time.monotonic() + 20
    while True:
        after = scrape(clients)
        sent = after[("keysvc_mail_sent_total", frozenset())]
        if sent > before[("keysvc_mail_sent_total", frozenset())] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sent >= before[("keysvc_mail_sent_total", frozenset())] + released.released_count
    assert (
        after[("keysvc_release_loop_released_total", frozenset())]
        - before[("keysvc_release_loop_released_total", frozenset())]
        == released.released_count
    )
    assert after[("keysvc_mail_queued", frozenset())] == 0


def test_a_metrics_address_in_use_stops_the_start_with_a_clear_message(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_keysvc(
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            f"127.0.0.1:{port}",
            env={"KEYSVC_SIGNING_KEY_PASSPHRASE": "e2e passphrase, not a secret"},
        )
    assert result.returncode == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
