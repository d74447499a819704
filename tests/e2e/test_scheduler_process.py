"""KEYSVC_CALENDAR_FILE, and `keysvc scheduler` as a process of its own."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, timedelta
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
)

from .clocked_keysvc import set_clock
from .conftest import SERVER_NOW
from .server_process import (
    PROJECT,
    Clients,
    bearer,
    create_token,
    keysvc_server,
    new_contract,
    preview_release,
    run_keysvc,
    submit_initial,
)

pytestmark = pytest.mark.e2e

SUMMER = """
[[closures]]
start = 2027-08-09
end = 2027-08-20
label = "夏期休暇"
"""


def test_closures_from_the_calendar_file_and_the_api_both_count(tmp_path: Path) -> None:
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(SUMMER, encoding="utf-8")
    data = tmp_path / "data"
    with (
        keysvc_server(data, {"KEYSVC_CALENDAR_FILE": str(calendar)}) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        admin = create_token(data, "admin")
        # Friday 2027-08-06 18:00 JST: the summer closure runs to Friday the 20th.
        preview = preview_release(channel, admin, "2027-08-06T09:00:00Z")
        assert preview.due_date == "2027-08-23"
        admin_service_pb2_grpc.AdminServiceStub(channel).AddClosure(
            admin_service_pb2.AddClosureRequest(
                start_date="2027-08-23", end_date="2027-08-23", label="臨時休業"
            ),
            timeout=10,
            metadata=bearer(admin),
        )
        assert preview_release(channel, admin, "2027-08-06T09:00:00Z").due_date == "2027-08-24"


def test_a_bad_calendar_file_stops_the_start(tmp_path: Path) -> None:
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[[closures]]\nstart = 2027-08-20\nend = 2027-08-09\nlabel = "x"\n')
    result = run_keysvc(
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        "--listen",
        "127.0.0.1:0",
        env={"KEYSVC_CALENDAR_FILE": str(calendar)},
    )
    assert result.returncode == 2
    assert "KEYSVC_CALENDAR_FILE" in result.stderr


def _state(data: Path, request_id: str) -> str:
    with sqlite3.connect(data / "keysvc.db") as db:
        return db.execute("SELECT state FROM key_requests WHERE id = ?", (request_id,)).fetchone()[
            0
        ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _counters(metrics_port: int) -> dict[str, float]:
    """The scheduler's unlabelled samples, from its metrics endpoint."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode("utf-8")
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def test_the_scheduler_process_releases_due_requests_and_mails_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock_file = tmp_path / "clock"
    set_clock(clock_file, SERVER_NOW)  # a Sunday: the request waits
    with (
        keysvc_server(data, clock_file=clock_file) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        clients = Clients(channel, {role: create_token(data, role) for role in ("site", "admin")})
        contract = new_contract(clients, customer_name="株式会社スケジューラ", seats=2)
        request = submit_initial(clients, contract.contract_number, "fp1:scheduler-process")
    # The server is stopped; time passes: the request's release time is now behind us.
    set_clock(clock_file, request.release_time.ToDatetime(tzinfo=UTC) + timedelta(minutes=1))
    assert _state(data, request.id) == "PENDING"
    metrics_port = _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.e2e.clocked_keysvc", str(clock_file)),
            *("scheduler", "--data-dir", str(data)),
            *("--metrics-listen", f"127.0.0.1:{metrics_port}"),
        ],
        cwd=PROJECT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _state(data, request.id) == "RELEASED" and list((data / "mail" / "new").glob("*")):
                break
            time.sleep(0.2)
        assert _state(data, request.id) == "RELEASED"
        (mail,) = (data / "mail" / "new").glob("*")
        assert request.id.encode() in mail.read_bytes()
        # The SENT mark is committed just after the file is in new/.
        while _counters(metrics_port)["keysvc_mail_sent_total"] < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        counters = _counters(metrics_port)
        assert counters["keysvc_release_loop_released_total"] == 1
        assert counters["keysvc_mail_sent_total"] == 1
        assert counters["keysvc_key_requests_overdue"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert '"stopped"' in stderr
