"""The Prometheus endpoint over real HTTP: what a process counts, and the database's
backlog read at each scrape, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from keysvc.config import ConfigError
from keysvc.mail import BatchReport
from keysvc.observability.metrics import MetricsEndpoint, ServiceMetrics
from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.schema import contracts, key_requests
from keysvc.persistence.schema_migrations import upgrade_database
from keysvc.service.release import DueRelease
from scheduler.clock import FixedClock
from tests.integration.persistence.rows import NOW, contract, key_request

SUBMIT = ("keysvc.v1.LicenseService", "SubmitKeyRequest")


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics()


@pytest.fixture
def endpoint(metrics: ServiceMetrics) -> Iterator[MetricsEndpoint]:
    served = MetricsEndpoint("127.0.0.1:0", metrics)
    try:
        yield served
    finally:
        served.close()


def scrape(endpoint: MetricsEndpoint) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample the endpoint serves, by name and labels."""
    with urllib.request.urlopen(f"http://{endpoint.address}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def rpc_labels(code: str | None = None) -> tuple[tuple[str, str], ...]:
    labels = {"grpc_type": "unary", "grpc_service": SUBMIT[0], "grpc_method": SUBMIT[1]}
    if code is not None:
        labels["grpc_code"] = code
    return tuple(sorted(labels.items()))


def test_a_method_is_exported_at_zero_before_its_first_call(metrics, endpoint) -> None:
    metrics.method(*SUBMIT)
    samples = scrape(endpoint)
    assert samples[("grpc_server_started_total", rpc_labels())] == 0
    assert samples[("grpc_server_handled_total", rpc_labels("OK"))] == 0
    assert ("grpc_server_handled_total", rpc_labels("INVALID_ARGUMENT")) not in samples


def test_calls_are_counted_by_status_code_and_timed(metrics, endpoint) -> None:
    submit = metrics.method(*SUBMIT)
    for _ in range(3):
        submit.started()
    submit.handled(grpc.StatusCode.OK, 0.002)
    submit.handled(grpc.StatusCode.OK, 0.2)
    submit.handled(grpc.StatusCode.INVALID_ARGUMENT, 0.0005)
    samples = scrape(endpoint)
    assert samples[("grpc_server_started_total", rpc_labels())] == 3
    assert samples[("grpc_server_handled_total", rpc_labels("OK"))] == 2
    assert samples[("grpc_server_handled_total", rpc_labels("INVALID_ARGUMENT"))] == 1
    assert samples[("grpc_server_handling_seconds_count", rpc_labels())] == 3
    assert samples[("grpc_server_handling_seconds_sum", rpc_labels())] == pytest.approx(0.2025)
    bucket = (*rpc_labels(), ("le", "0.0025"))
    assert samples[("grpc_server_handling_seconds_bucket", tuple(sorted(bucket)))] == 2


def test_release_batches_and_mail_batches_add_up(metrics, endpoint) -> None:
    metrics.record_release_batch(DueRelease(claimed=200, released=198), 0.08)
    metrics.record_release_batch(DueRelease(claimed=5, released=5), 0.01)
    metrics.record_mail_batch(BatchReport(claimed=10, sent=7, retrying=2, gave_up=1))
    metrics.record_mail_batch(BatchReport(claimed=3, sent=3))
    samples = scrape(endpoint)
    assert samples[("keysvc_release_loop_released_total", ())] == 203
    assert samples[("keysvc_release_loop_held_total", ())] == 2
    assert samples[("keysvc_release_batch_seconds_count", ())] == 2
    assert samples[("keysvc_mail_sent_total", ())] == 10
    assert samples[("keysvc_mail_failed_attempts_total", (("outcome", "retrying"),))] == 2
    assert samples[("keysvc_mail_failed_attempts_total", (("outcome", "gave_up"),))] == 1


def test_the_process_itself_is_described(endpoint) -> None:
    samples = scrape(endpoint)
    assert samples[("process_resident_memory_bytes", ())] > 10_000_000
    assert any(name == "python_info" for name, _ in samples)


def test_the_backlog_is_read_from_the_database_at_each_scrape(
    engine: Engine, metrics, endpoint
) -> None:
    clock = FixedClock(NOW)
    metrics.watch_backlog(engine, clock)
    assert scrape(endpoint)[("keysvc_key_requests_overdue", ())] == 0
    with engine.begin() as connection:
        connection.execute(contracts.insert(), [contract("C-1"), contract("C-2")])
        connection.execute(
            key_requests.insert(),
            [
                key_request("kr-1", "C-1", release_at=NOW - timedelta(minutes=10)),
                key_request("kr-2", "C-2", state="HELD", hold_reason="SUPPORT_EXPIRED"),
            ],
        )
    samples = scrape(endpoint)
    assert samples[("keysvc_database_up", ())] == 1
    assert samples[("keysvc_key_requests_overdue", ())] == 1
    assert samples[("keysvc_key_requests_overdue_max_age_seconds", ())] == 600
    assert samples[("keysvc_key_requests_held", ())] == 1
    assert samples[("keysvc_mail_queued", ())] == 0
    assert samples[("keysvc_mail_queued_max_age_seconds", ())] == 0
    clock.advance(timedelta(minutes=5))
    assert scrape(endpoint)[("keysvc_key_requests_overdue_max_age_seconds", ())] == 900


def test_a_scrape_that_cannot_read_the_database_says_so_and_still_answers(
    tmp_path, metrics, endpoint
) -> None:
    # A SQLite file in a folder that does not exist cannot be opened.
    unreachable = create_database_engine(sqlite_url_for(tmp_path / "missing"))
    try:
        metrics.watch_backlog(unreachable, FixedClock(NOW))
        samples = scrape(endpoint)
    finally:
        unreachable.dispose()
    assert samples[("keysvc_database_up", ())] == 0
    assert ("keysvc_key_requests_overdue", ()) not in samples
    assert samples[("process_resident_memory_bytes", ())] > 0


def test_scrapes_piling_up_on_a_blocked_database_read_it_one_at_a_time(
    postgres_url: str, metrics, endpoint
) -> None:
    engine = create_database_engine(postgres_url)
    upgrade_database(engine)
    metrics.watch_backlog(engine, FixedClock(NOW))
    try:
        with engine.connect() as blocker, ThreadPoolExecutor(1) as background:
            transaction = blocker.begin()
            blocker.exec_driver_sql("LOCK TABLE key_requests IN ACCESS EXCLUSIVE MODE")
            first = background.submit(scrape, endpoint)
            deadline = time.monotonic() + 10
            with engine.connect() as observer:
                while not observer.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                ).scalar_one():
                    assert time.monotonic() < deadline, "the first scrape never waited"
                    time.sleep(0.05)
            # The first scrape waits for the lock: the second does not queue behind it.
            second = scrape(endpoint)
            assert not first.done()
            transaction.rollback()
            assert first.result(timeout=10)[("keysvc_database_up", ())] == 1
    finally:
        engine.dispose()
    assert ("keysvc_database_up", ()) not in second
    assert ("keysvc_key_requests_overdue", ()) not in second
    assert second[("process_resident_memory_bytes", ())] > 0


def test_an_address_in_use_is_a_configuration_error(metrics) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            MetricsEndpoint(f"127.0.0.1:{port}", metrics)


def test_an_ipv6_address_is_served_in_brackets(metrics) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        served = MetricsEndpoint("[::1]:0", metrics)
    except ConfigError as error:
        pytest.skip(f"cannot listen on ::1 here: {error}")
    try:
        assert served.address.startswith("[::1]:")
        assert scrape(served)[("process_resident_memory_bytes", ())] > 0
    finally:
        served.close()
