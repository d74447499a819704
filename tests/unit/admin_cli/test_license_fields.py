"""`keysvc admin licenses show`: until when a superseded license's key still works."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.admin_cli.formatting import UNSET
from keysvc.admin_cli.licenses import license_fields
from keysvc.v1 import resources_pb2


def _stamp(instant: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(instant)
    return stamp


def test_a_superseded_license_shows_the_end_of_its_overlap_in_tokyo_time():
    license_ = resources_pb2.License(
        serial="L-1",
        status=resources_pb2.LICENSE_STATUS_SUPERSEDED,
        superseded_by="L-2",
        supersede_time=_stamp(datetime(2026, 12, 14, 0, 0, tzinfo=UTC)),
    )
    fields = dict(license_fields(license_))
    assert fields["key valid until (JST)"] == "2026-12-14 09:00:00"


def test_an_active_license_shows_no_end():
    fields = dict(license_fields(resources_pb2.License(serial="L-1")))
    assert fields["key valid until (JST)"] == UNSET
