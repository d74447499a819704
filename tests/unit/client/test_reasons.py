"""Every reason the service can send has a hint in the client tools."""

from __future__ import annotations

import ast
from pathlib import Path

import grpc

from keysvc.client import KeysvcClientError
from keysvc.client.reasons import HINTS, describe, hint_for

PROJECT = Path(__file__).resolve().parents[3]
KEY_REQUEST_STATES = ("PENDING", "HELD", "RELEASED", "REJECTED")


def _reasons_in_the_sources() -> set[str]:
    """String literals given as `reason=` or assigned to `reason` in the server's packages."""
    reasons = set()
    for package in ("keysvc", "signing", "scheduler"):
        for path in (PROJECT / package).rglob("*.py"):
            # The clients' own reasons (a file they cannot read, ...) never cross the wire.
            if {"v1", "client", "migrate", "admin_cli"} & set(path.relative_to(PROJECT).parts):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                value = None
                if isinstance(node, ast.keyword) and node.arg == "reason":
                    value = node.value
                elif isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(isinstance(t, ast.Name) and t.id == "reason" for t in targets):
                        value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    reasons.add(value.value)
    return reasons


def test_the_scan_finds_the_reasons_it_should():
    found = _reasons_in_the_sources()
    assert {"SUPPORT_EXPIRED", "CONTRACT_NOT_FOUND", "LICENSE_KEY_BAD_SIGNATURE"} <= found


def test_every_reason_of_the_service_has_a_hint():
    expected = _reasons_in_the_sources() | {f"KEY_REQUEST_{s}" for s in KEY_REQUEST_STATES}
    assert sorted(expected - set(HINTS)) == []


def test_every_transport_failure_has_a_hint():
    assert {code.name for code in grpc.StatusCode} - {
        "OK",
        "CANCELLED",
        "OUT_OF_RANGE",
        "DATA_LOSS",
    } <= set(HINTS)


def test_an_unknown_reason_still_gets_a_sentence():
    assert "unknown" in hint_for("SOMETHING_NEW")


def test_describe_names_the_reason_the_field_and_the_hint():
    error = KeysvcClientError(
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_EMAIL", "not an address", {"field": "email"}
    )
    text = describe(error)
    assert text.splitlines() == [
        "error: INVALID_EMAIL: not an address",
        "  field: email",
        f"  {HINTS['INVALID_EMAIL']}",
    ]
