"""The business hours and the calendar file, as a started `keysvc serve` sees them.

Both are read at start, so a change reaches the requests already waiting when
the server starts again.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest

from keysvc.v1 import admin_service_pb2, license_service_pb2

from .clocked_keysvc import set_clock
from .conftest import BACKENDS, SERVER_NOW, server_environment
from .server_process import (
    Clients,
    create_token,
    keysvc_server,
    new_contract,
    preview_release,
    run_keysvc,
    submit_initial,
)

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
CLOSED_ON_THE_DUE_DATE = """
[[closures]]
start = 2026-11-24
end = 2026-11-24
label = "臨時休業"
"""


def test_a_cutoff_of_15_00_makes_15_30_due_the_next_business_day(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"KEYSVC_CUTOFF": "15:00", "KEYSVC_OPENING": "10:00"}
    with keysvc_server(data, env) as server, grpc.insecure_channel(server.address) as channel:
        token = create_token(data, "site")
        # Thursday 2026-11-19, 15:30 JST: after this server's cutoff, before the default one.
        late = preview_release(channel, token, "2026-11-19T06:30:00Z")
        assert (late.due_date, late.same_day) == ("2026-11-20", False)
        assert late.release_time.ToJsonString() == "2026-11-20T01:00:00Z"  # 10:00 JST
        early = preview_release(channel, token, "2026-11-19T05:59:59Z")  # 14:59:59 JST
        assert (early.due_date, early.same_day) == ("2026-11-19", True)


def test_an_opening_after_the_cutoff_stops_the_start(tmp_path: Path) -> None:
    result = run_keysvc(
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        "--listen",
        "127.0.0.1:0",
        env={"KEYSVC_CUTOFF": "09:00", "KEYSVC_OPENING": "09:30"},
    )
    assert result.returncode == 2
    assert "KEYSVC_OPENING (09:30) must be before KEYSVC_CUTOFF (09:00)" in result.stderr


def _rescheduled(server) -> dict[str, object] | None:
    """What the start rescheduled, or None when its calendar was the last start's."""
    message = "the calendar changed: rescheduled the waiting key requests"
    records = [r for r in server.logs() if r["message"] == message]
    if not records:
        return None
    (record,) = records
    return {"moved": record["moved"], "at_risk": record["at_risk"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_restart_with_a_new_calendar_reschedules_the_waiting_requests(
    request, tmp_path: Path, backend: str
) -> None:
    data = tmp_path / "data"
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    env = server_environment(backend, data, url)
    clock_file = tmp_path / "clock"
    set_clock(clock_file, SERVER_NOW)  # Sunday noon: due Tuesday the 24th, 09:00
    calendar = tmp_path / "calendar.toml"

    def start(**settings: str):
        return keysvc_server(data, env | settings, clock_file=clock_file)

    with start() as server, grpc.insecure_channel(server.address) as channel:
        tokens = {role: create_token(data, role, env) for role in ("site", "admin")}
        clients = Clients(channel, tokens)
        contract = new_contract(clients, customer_name="株式会社再起動", seats=2)
        waiting = submit_initial(clients, contract.contract_number, "fp1:restart-server")
        assert _rescheduled(server) == {"moved": 0, "at_risk": 0}
    assert waiting.due_date == "2026-11-24"
    assert waiting.release_time.ToDatetime(tzinfo=TOKYO) == datetime(2026, 11, 24, 9, tzinfo=TOKYO)

    calendar.write_text(CLOSED_ON_THE_DUE_DATE, encoding="utf-8")
    with (
        start(KEYSVC_CALENDAR_FILE=str(calendar)) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        clients = Clients(channel, tokens)
        moved = clients.site(
            "GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id=waiting.id)
        )
        assert moved.release_time.ToDatetime(tzinfo=TOKYO) == datetime(
            2026, 11, 25, 9, tzinfo=TOKYO
        )
        assert moved.due_date == "2026-11-24"  # the promise stays
        assert moved.at_risk
        at_risk = clients.admin(
            "ListKeyRequests", admin_service_pb2.ListKeyRequestsRequest(at_risk=True)
        )
        assert [r.id for r in at_risk.key_requests] == [waiting.id]
        assert _rescheduled(server) == {"moved": 1, "at_risk": 1}

    # The opening is read at start too.
    with (
        start(KEYSVC_CALENDAR_FILE=str(calendar), KEYSVC_OPENING="10:30") as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        later = Clients(channel, tokens).site(
            "GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id=waiting.id)
        )
        assert later.release_time.ToDatetime(tzinfo=TOKYO) == datetime(
            2026, 11, 25, 10, 30, tzinfo=TOKYO
        )
        assert _rescheduled(server) == {"moved": 1, "at_risk": 1}

    # The same calendar again: the start does not touch the waiting requests.
    with start(KEYSVC_CALENDAR_FILE=str(calendar), KEYSVC_OPENING="10:30") as server:
        assert _rescheduled(server) is None
