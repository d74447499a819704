"""The business hours and the calendar file, as a started `keysvc serve` sees them."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.v1 import license_service_pb2, license_service_pb2_grpc

from .server_process import bearer, create_token, keysvc_server, run_keysvc

pytestmark = pytest.mark.e2e


def _preview(channel, token: str, instant: str):
    accept = Timestamp()
    accept.FromJsonString(instant)
    return license_service_pb2_grpc.LicenseServiceStub(channel).PreviewRelease(
        license_service_pb2.PreviewReleaseRequest(accept_time=accept),
        timeout=10,
        metadata=bearer(token),
    )


def test_a_cutoff_of_15_00_makes_15_30_due_the_next_business_day(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"KEYSVC_CUTOFF": "15:00", "KEYSVC_OPENING": "10:00"}
    with keysvc_server(data, env) as server, grpc.insecure_channel(server.address) as channel:
        token = create_token(data, "site")
        # Thursday 2026-11-19, 15:30 JST: after this server's cutoff, before the default one.
        late = _preview(channel, token, "2026-11-19T06:30:00Z")
        assert (late.due_date, late.same_day) == ("2026-11-20", False)
        assert late.release_time.ToJsonString() == "2026-11-20T01:00:00Z"  # 10:00 JST
        early = _preview(channel, token, "2026-11-19T05:59:59Z")  # 14:59:59 JST
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
