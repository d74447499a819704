"""The release promise to the second, over gRPC, on a server whose clock the test sets.

Friday 20 November 2026; Monday the 23rd is Labour Thanksgiving Day, so the
next business day after Friday's cutoff is Tuesday the 24th.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2

from .clocked_keysvc import set_clock
from .conftest import BACKENDS, server_environment
from .server_process import Clients, create_token, keysvc_server, new_contract, submit_initial

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
RELEASED = resources_pb2.KEY_REQUEST_STATE_RELEASED
PENDING = resources_pb2.KEY_REQUEST_STATE_PENDING
# The release loop runs every 2 s; a due request must be out well within this.
RELEASE_WITHIN = 10.0


def tokyo(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, micro, tzinfo=TOKYO)


@pytest.fixture(params=BACKENDS)
def clocked(request, tmp_path):
    """A server on a test-set clock (started Friday 10:00) and a function that moves it."""
    clock_file = tmp_path / "clock"
    set_clock(clock_file, tokyo(20, 10))
    data = tmp_path / "data"
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    env = server_environment(request.param, data, url)
    with (
        keysvc_server(data, env, clock_file=clock_file) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        tokens = {role: create_token(data, role, env) for role in ("site", "admin")}
        yield Clients(channel, tokens), lambda instant: set_clock(clock_file, instant)


def _submit(clients: Clients, label: str):
    contract = new_contract(clients, "neo-backup", "2026-11-02", customer_name=label)
    return submit_initial(clients, contract.contract_number, f"fp1:{label}")


def _get(clients: Clients, request_id: str):
    return clients.site("GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id=request_id))


def _wait_released(clients: Clients, request_id: str):
    deadline = time.monotonic() + RELEASE_WITHIN
    while (current := _get(clients, request_id)).state != RELEASED:
        assert time.monotonic() < deadline, f"not released within {RELEASE_WITHIN} s: {current}"
        time.sleep(0.1)
    return current


def _in_tokyo(timestamp) -> datetime:
    return timestamp.ToDatetime(tzinfo=TOKYO)


def test_a_request_a_millisecond_before_the_cutoff_is_released_that_day(clocked) -> None:
    clients, set_time = clocked
    set_time(tokyo(20, 16, 59, 59, 999_000))
    accepted = _submit(clients, "before-cutoff")
    assert accepted.due_date == "2026-11-20"
    # Released in the same transaction: the answer carries the key.
    assert accepted.state == RELEASED
    assert accepted.license_key
    assert _in_tokyo(accepted.released_time) == tokyo(20, 16, 59, 59, 999_000)
    assert accepted.mail_delivery_state == resources_pb2.MAIL_DELIVERY_STATE_QUEUED
    assert not accepted.late


def test_a_request_at_the_cutoff_waits_for_the_next_business_day(clocked) -> None:
    clients, set_time = clocked
    set_time(tokyo(20, 17))
    accepted = _submit(clients, "at-cutoff")
    assert accepted.due_date == "2026-11-24"
    assert _in_tokyo(accepted.release_time) == tokyo(24, 9)

    set_time(tokyo(24, 8, 59, 59))
    time.sleep(5)  # two passes of the release loop
    assert _get(clients, accepted.id).state == PENDING

    set_time(tokyo(24, 9))
    released = _wait_released(clients, accepted.id)
    assert _in_tokyo(released.released_time) == tokyo(24, 9)
    assert not released.late


def test_a_closure_over_the_due_date_makes_a_late_release_the_sla_report_lists(clocked) -> None:
    clients, set_time = clocked
    set_time(tokyo(20, 17, 30))
    on_time = _submit(clients, "on-time")
    late = _submit(clients, "late")
    clients.admin(
        "AddClosure",
        admin_service_pb2.AddClosureRequest(
            start_date="2026-11-24",
            end_date="2026-11-24",
            label="臨時休業",
            request_id=str(uuid.uuid4()),
        ),
    )
    at_risk = clients.admin(
        "ListKeyRequests", admin_service_pb2.ListKeyRequestsRequest(at_risk=True)
    )
    assert at_risk.total_size == 2
    assert _in_tokyo(_get(clients, late.id).release_time) == tokyo(25, 9)

    # Staff release one on the due date by hand; the other waits for the loop.
    set_time(tokyo(24, 11))
    clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=on_time.id))
    set_time(tokyo(25, 9))
    released = _wait_released(clients, late.id)
    assert released.late
    assert released.due_date == "2026-11-24"
    assert not _get(clients, on_time.id).late

    report = clients.admin("ListKeyRequests", admin_service_pb2.ListKeyRequestsRequest(late=True))
    assert [r.id for r in report.key_requests] == [late.id]
    assert report.total_size == 1


def test_time_before_the_release_never_releases(clocked) -> None:
    # A clock jumping backwards (NTP step) holds releases back, it never re-releases.
    clients, set_time = clocked
    set_time(tokyo(20, 18))
    accepted = _submit(clients, "clock-jump")
    set_time(tokyo(24, 9) + timedelta(seconds=1))
    first = _wait_released(clients, accepted.id)
    set_time(tokyo(20, 18))
    time.sleep(3)
    again = _get(clients, accepted.id)
    assert (again.state, again.license_serial) == (RELEASED, first.license_serial)
