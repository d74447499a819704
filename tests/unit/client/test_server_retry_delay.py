"""The client waits at least as long as the service's RetryInfo asks, within its policy."""

from __future__ import annotations

import grpc
import pytest

from keysvc.api.status import status_for
from keysvc.client import RetryPolicy
from keysvc.client.calls import MAX_SERVER_DELAY, Caller
from keysvc.client.channel import ClientConfig
from keysvc.client.errors import KeysvcClientError, error_from_rpc
from keysvc.domain.errors import ResourceExhausted, Unavailable
from keysvc.v1 import license_service_pb2


class Failure(grpc.RpcError, grpc.Call):
    """A failed call as grpc raises it, with the status a keysvc server sends."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self):
        return self._status.code

    def details(self):
        return self._status.details

    def trailing_metadata(self):
        return self._status.trailing_metadata

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


class Cancelled(Failure):
    def __init__(self) -> None:
        super().__init__(grpc.Status())

    def code(self):
        return grpc.StatusCode.CANCELLED

    def details(self):
        return "Cancelled"

    def trailing_metadata(self):
        return ()


def overloaded(retry_after: float) -> Failure:
    error = ResourceExhausted("busy", retry_after=retry_after, reason="OVERLOADED")
    return Failure(status_for(error))


def failing_then_answering(failures):
    """A method that raises each of `failures` in turn, then answers."""
    left = list(failures)
    calls = []

    def method(request, *, timeout, metadata):
        calls.append(request)
        if left:
            raise left.pop(0)
        return license_service_pb2.GetKeyRequestRequest(id="answered")

    method.calls = calls
    return method


def caller(policy: RetryPolicy, pauses: list[float]) -> Caller:
    return Caller(ClientConfig(retry=policy), sleep=pauses.append)


def test_the_retry_delay_of_the_status_is_read():
    error = error_from_rpc(overloaded(0.25))
    assert (error.code, error.reason, error.retry_after) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "OVERLOADED",
        0.25,
    )
    assert error.transient


def test_a_status_without_retry_info_asks_no_delay():
    assert error_from_rpc(Failure(status_for(Unavailable("db down")))).retry_after is None


def test_each_pause_is_at_least_the_server_s_delay_and_at_most_it_plus_the_backoff():
    pauses: list[float] = []
    policy = RetryPolicy(attempts=4, initial_backoff=0.05, max_backoff=0.1)
    method = failing_then_answering([overloaded(1.5)] * 3)
    answer = caller(policy, pauses)(method, license_service_pb2.GetKeyRequestRequest(id="x"))
    assert answer.id == "answered"
    assert len(pauses) == 3
    assert all(1.5 <= pause <= 1.6 for pause in pauses)


def test_the_server_s_delay_does_not_add_attempts():
    pauses: list[float] = []
    method = failing_then_answering([overloaded(0.5)] * 5)
    with pytest.raises(KeysvcClientError) as raised:
        caller(RetryPolicy(attempts=2), pauses)(method, license_service_pb2.GetKeyRequestRequest())
    assert len(method.calls) == 2
    assert len(pauses) == 1
    assert raised.value.reason == "OVERLOADED"
    assert raised.value.retry_after == 0.5


def test_an_absurd_server_delay_is_capped():
    pauses: list[float] = []
    policy = RetryPolicy(attempts=2, initial_backoff=0)
    method = failing_then_answering([overloaded(86_400)])
    caller(policy, pauses)(method, license_service_pb2.GetKeyRequestRequest())
    assert pauses == [MAX_SERVER_DELAY]


def test_a_cancelled_call_is_tried_again_with_the_same_request_id():
    pauses: list[float] = []
    method = failing_then_answering([Cancelled()])
    request = license_service_pb2.SubmitKeyRequestRequest(contract_number="SS-2026-000001")
    caller(RetryPolicy(attempts=2), pauses)(method, request)
    first, second = method.calls
    assert first.request_id
    assert first.request_id == second.request_id
