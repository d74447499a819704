"""Values for people: Tokyo time, short enum names, periods."""

from __future__ import annotations

import doctest
import importlib
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.admin_cli.formatting import (
    UNSET,
    current_period,
    enum_choices,
    enum_label,
    enum_number,
    joined,
    jst_time,
    short_method,
)
from keysvc.v1 import resources_pb2

STATE = resources_pb2.KeyRequestState.DESCRIPTOR
KIND = resources_pb2.KeyRequestKind.DESCRIPTOR


def _stamp(instant: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(instant)
    return stamp


@pytest.mark.parametrize("name", ["keysvc.admin_cli.formatting", "keysvc.admin_cli.month_calendar"])
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0


def test_times_are_shown_in_tokyo_whatever_the_host_zone() -> None:
    # 08:00 UTC is 17:00 JST, the cutoff: the day people talk about is the Tokyo day.
    assert jst_time(_stamp(datetime(2026, 11, 20, 8, 0, tzinfo=UTC))) == "2026-11-20 17:00:00"
    assert jst_time(_stamp(datetime(2026, 12, 31, 15, 0, tzinfo=UTC))) == "2027-01-01 00:00:00"


def test_an_unset_time_is_shown_as_a_dash() -> None:
    assert jst_time(resources_pb2.KeyRequest().released_time) == UNSET


def test_enum_values_lose_their_type_prefix_both_ways() -> None:
    assert enum_label(STATE, resources_pb2.KEY_REQUEST_STATE_HELD) == "HELD"
    assert enum_label(STATE, 0) == UNSET
    assert enum_label(STATE, 99) == "99"  # a newer server's value is shown, not hidden
    assert enum_choices(KIND) == ["initial", "reissue", "seats-change", "replacement"]
    for choice in enum_choices(KIND):
        label = enum_label(KIND, enum_number(KIND, choice))
        assert label.lower().replace("_", "-") == choice
    assert enum_number(KIND, "seats-change") == resources_pb2.KEY_REQUEST_KIND_SEATS_CHANGE


def test_the_current_period_is_the_last_one() -> None:
    contract = resources_pb2.Contract(
        periods=[
            resources_pb2.Period(start="2027-01-01", end="2027-12-31"),
            resources_pb2.Period(start="2028-01-01", end="2028-12-31"),
        ]
    )
    assert current_period(contract) == "2028-01-01 to 2028-12-31"
    assert current_period(resources_pb2.Contract()) == UNSET


def test_small_helpers() -> None:
    assert joined(["at risk", "", "late"]) == "at risk, late"
    assert joined(["", ""]) == UNSET
    assert short_method("/keysvc.v1.LicenseService/SubmitKeyRequest") == (
        "LicenseService/SubmitKeyRequest"
    )
