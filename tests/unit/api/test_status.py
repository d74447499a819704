"""The one translation of our errors into gRPC statuses."""

from __future__ import annotations

import google.rpc.code_pb2 as rpc_code
import google.rpc.error_details_pb2 as rpc_error_details
import google.rpc.status_pb2 as rpc_status_pb2

from keysvc.api.status import MAX_MESSAGE_CHARACTERS, MAX_METADATA_CHARACTERS, status_for
from keysvc.domain.errors import FailedPrecondition, NotFound, ResourceExhausted, Unavailable


def _decoded(status) -> rpc_status_pb2.Status:
    ((key, value),) = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    return rpc_status_pb2.Status.FromString(value)


def test_a_failed_dependency_is_unavailable_with_its_reason():
    decoded = _decoded(
        status_for(Unavailable("database unreachable", reason="DATABASE_UNAVAILABLE"))
    )
    assert decoded.code == rpc_code.UNAVAILABLE
    info = rpc_error_details.ErrorInfo()
    assert decoded.details[0].Unpack(info)
    assert info.reason == "DATABASE_UNAVAILABLE"
    assert len(decoded.details) == 1  # no RetryInfo: the client's own backoff decides


def test_resource_exhausted_carries_its_retry_delay_to_the_nanosecond():
    decoded = _decoded(status_for(ResourceExhausted("busy", retry_after=1.25, reason="OVERLOADED")))
    assert decoded.code == rpc_code.RESOURCE_EXHAUSTED
    retry = rpc_error_details.RetryInfo()
    assert decoded.details[1].Unpack(retry)
    assert retry.retry_delay.ToNanoseconds() == 1_250_000_000


def test_an_error_quoting_a_long_value_is_cut_to_its_bound_in_message_and_metadata():
    long_id = "x" * 5000
    decoded = _decoded(status_for(NotFound(f"contracts/{long_id}")))
    info = rpc_error_details.ErrorInfo()
    assert decoded.details[0].Unpack(info)
    assert len(decoded.message) == MAX_MESSAGE_CHARACTERS
    assert decoded.message.endswith("…")
    assert len(info.metadata["resource"]) == MAX_METADATA_CHARACTERS


def test_an_error_exactly_at_the_bound_is_kept_whole():
    text = "y" * MAX_MESSAGE_CHARACTERS
    assert _decoded(status_for(FailedPrecondition(text))).message == text
