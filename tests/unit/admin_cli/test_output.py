"""Tables for people, one JSON document for scripts, errors explained on stderr."""

from __future__ import annotations

import io
import json

import grpc

from keysvc.admin_cli.output import Column, Listing, Output
from keysvc.client import NotFoundError
from keysvc.v1 import resources_pb2

CLOSURES = [
    resources_pb2.Closure(id="a", start_date="2026-08-12", end_date="2026-08-14", label="夏期休暇"),
    resources_pb2.Closure(id="b", start_date="2026-12-28", end_date="2026-12-28", label="臨時"),
]
COLUMNS = [Column[resources_pb2.Closure]("id", lambda c: c.id), Column("label", lambda c: c.label)]


def _output(as_json: bool) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(as_json=as_json, stdout=stdout, stderr=stderr), stdout, stderr


def test_a_json_listing_is_one_document_with_every_field() -> None:
    out, stdout, _ = _output(as_json=True)
    more = "page-2"
    out.listing(Listing(CLOSURES, more, 7), COLUMNS, noun="closures")
    document = json.loads(stdout.getvalue())
    assert document["next_page_token"] == more
    assert document["total_size"] == 7
    assert document["items"][0] == {
        "id": "a",
        "start_date": "2026-08-12",
        "end_date": "2026-08-14",
        "label": "夏期休暇",
    }


def test_json_keeps_default_values_so_scripts_see_a_stable_shape() -> None:
    out, stdout, _ = _output(as_json=True)
    out.record(resources_pb2.KeyRequest(id="kr_1"), [])
    document = json.loads(stdout.getvalue())
    assert document["at_risk"] is False
    assert document["license_serial"] == ""
    assert document["state"] == "KEY_REQUEST_STATE_UNSPECIFIED"
    assert "released_time" not in document  # unset messages stay absent


def test_a_table_for_people_says_how_to_get_the_next_page() -> None:
    out, stdout, _ = _output(as_json=False)
    out.listing(Listing(CLOSURES, "tok"), COLUMNS, noun="closures")
    text = stdout.getvalue()
    assert "label" in text
    assert "夏期休暇" in text
    assert "--page-token tok" in text


def test_an_empty_list_says_so() -> None:
    out, stdout, _ = _output(as_json=False)
    out.listing(Listing[resources_pb2.Closure]([]), COLUMNS, noun="closures")
    assert stdout.getvalue().strip() == "No closures."


def test_a_record_for_people_is_a_headline_and_aligned_fields() -> None:
    out, stdout, _ = _output(as_json=False)
    out.record(resources_pb2.Closure(), [("id", "a"), ("label", "夏期休暇")], headline="Added.")
    assert stdout.getvalue().splitlines() == ["Added.", "id     a", "label  夏期休暇"]


def test_a_failure_is_explained_on_stderr_and_as_a_json_error_object() -> None:
    error = NotFoundError(
        grpc.StatusCode.NOT_FOUND,
        "CONTRACT_NOT_FOUND",
        "contracts/SS-2026-999999 not found",
        {"resource": "contracts/SS-2026-999999"},
    )
    out, stdout, stderr = _output(as_json=True)
    out.failure(error)
    assert "CONTRACT_NOT_FOUND" in stderr.getvalue()
    assert "No contract has this support service number." in stderr.getvalue()
    assert json.loads(stdout.getvalue()) == {
        "error": {
            "code": "NOT_FOUND",
            "reason": "CONTRACT_NOT_FOUND",
            "message": "contracts/SS-2026-999999 not found",
            "metadata": {"resource": "contracts/SS-2026-999999"},
        }
    }


def test_without_json_a_failure_writes_nothing_to_stdout() -> None:
    error = NotFoundError(grpc.StatusCode.NOT_FOUND, "CONTRACT_NOT_FOUND", "", {})
    out, stdout, stderr = _output(as_json=False)
    out.failure(error)
    assert stdout.getvalue() == ""
    assert stderr.getvalue().startswith("error: CONTRACT_NOT_FOUND")
