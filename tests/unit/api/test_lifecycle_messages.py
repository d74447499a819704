"""The API's enums and the domain's lifecycle map onto each other, each value once."""

from __future__ import annotations

import pytest

from keysvc.api import messages
from keysvc.domain.errors import InvalidArgument
from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState, LicenseStatus
from keysvc.v1 import resources_pb2


@pytest.mark.parametrize(
    "kind", [kind for kind in KeyRequestKind if kind is not KeyRequestKind.REPLACEMENT]
)
def test_every_kind_a_caller_may_ask_maps_from_its_proto_value(kind):
    value = resources_pb2.KeyRequestKind.Value(f"KEY_REQUEST_KIND_{kind}")
    assert messages.key_request_kind(value) is kind


def test_a_replacement_is_never_asked_by_a_caller():
    with pytest.raises(InvalidArgument) as refused:
        messages.key_request_kind(resources_pb2.KEY_REQUEST_KIND_REPLACEMENT)
    assert refused.value.metadata["field"] == "kind"


@pytest.mark.parametrize("value", [resources_pb2.KEY_REQUEST_KIND_UNSPECIFIED, 99])
def test_an_unset_or_unknown_kind_is_refused_naming_the_field(value):
    with pytest.raises(InvalidArgument) as refused:
        messages.key_request_kind(value)
    assert refused.value.metadata["field"] == "kind"


@pytest.mark.parametrize("state", list(KeyRequestState))
def test_every_state_filter_maps_from_its_proto_value(state):
    value = resources_pb2.KeyRequestState.Value(f"KEY_REQUEST_STATE_{state}")
    assert messages.key_request_state_filter(value) is state


@pytest.mark.parametrize("status", list(LicenseStatus))
def test_every_license_status_maps_both_ways(status):
    value = resources_pb2.LicenseStatus.Value(f"LICENSE_STATUS_{status}")
    assert messages.license_status_filter(value) is status
    assert messages.license_status(status) == value


def test_unset_filters_filter_nothing():
    assert messages.key_request_state_filter(resources_pb2.KEY_REQUEST_STATE_UNSPECIFIED) is None
    assert messages.license_status_filter(resources_pb2.LICENSE_STATUS_UNSPECIFIED) is None
