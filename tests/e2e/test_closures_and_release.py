"""Closures reschedule waiting requests; ReleaseDue releases what is due.

This module changes the calendar, so it has servers of its own (conftest).
Expectations are computed from each request's own due date, so the tests hold
whatever day they run on.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2

from .server_process import error_info, new_contract, submit_initial

pytestmark = pytest.mark.e2e


def _waiting_request(clients):
    contract = new_contract(clients, "neo-webconf", customer_name="株式会社カレンダー", seats=3)
    return submit_initial(clients, contract.contract_number, "fp1:calendar-server")


def _get(clients, request_id):
    return clients.site("GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id=request_id))


def test_a_closure_over_the_due_date_puts_waiting_requests_at_risk(clients) -> None:
    waiting = _waiting_request(clients)
    due = date.fromisoformat(waiting.due_date)
    closure = clients.admin(
        "AddClosure",
        admin_service_pb2.AddClosureRequest(
            start_date=due.isoformat(),
            end_date=(due + timedelta(days=6)).isoformat(),
            label="臨時休業",
            request_id=str(uuid.uuid4()),
        ),
    )
    moved = _get(clients, waiting.id)
    assert moved.due_date == waiting.due_date  # the promise never changes
    assert moved.at_risk
    assert moved.release_time.ToDatetime() > waiting.release_time.ToDatetime()
    at_risk = clients.admin(
        "ListKeyRequests", admin_service_pb2.ListKeyRequestsRequest(at_risk=True)
    )
    assert waiting.id in [r.id for r in at_risk.key_requests]
    listed = clients.admin("ListClosures", admin_service_pb2.ListClosuresRequest(year=due.year))
    assert closure.id in [c.id for c in listed.closures]

    removed = clients.admin("RemoveClosure", admin_service_pb2.RemoveClosureRequest(id=closure.id))
    assert removed.label == "臨時休業"
    back = _get(clients, waiting.id)
    assert not back.at_risk
    assert back.release_time == waiting.release_time
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin("RemoveClosure", admin_service_pb2.RemoveClosureRequest(id=closure.id))
    assert error_info(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, "CLOSURE_NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start_date": "2026-08-16", "end_date": "2026-08-13", "label": "夏期休暇"}, "end_date"),
        ({"start_date": "2026-08-13", "end_date": "2026-08-16", "label": " "}, "label"),
        ({"start_date": "2026-08-13", "end_date": "2028-08-16", "label": "長すぎ"}, "end_date"),
        ({"start_date": "2026/08/13", "end_date": "2026-08-16", "label": "x"}, "start_date"),
    ],
)
def test_bad_closures_are_refused_naming_the_field(clients, fields, field) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin("AddClosure", admin_service_pb2.AddClosureRequest(**fields))
    code, _, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert metadata["field"] == field


def test_release_due_releases_what_is_due_and_only_that(clients) -> None:
    waiting = _waiting_request(clients)
    before = Timestamp()
    before.FromDatetime(waiting.release_time.ToDatetime() - timedelta(seconds=1))
    clients.admin("ReleaseDue", admin_service_pb2.ReleaseDueRequest(as_of=before))
    assert _get(clients, waiting.id).state == resources_pb2.KEY_REQUEST_STATE_PENDING
    released = clients.admin(
        "ReleaseDue", admin_service_pb2.ReleaseDueRequest(as_of=waiting.release_time)
    )
    assert released.released_count >= 1
    done = _get(clients, waiting.id)
    assert done.state == resources_pb2.KEY_REQUEST_STATE_RELEASED
    assert done.license_key
    again = clients.admin(
        "ReleaseDue", admin_service_pb2.ReleaseDueRequest(as_of=waiting.release_time)
    )
    assert again.released_count == 0
