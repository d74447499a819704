"""Key rotation, idempotent repeats and the audit log, over gRPC."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date

import grpc
import pytest

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
    resources_pb2,
)
from signing import (
    KeyRing,
    LicenseClaims,
    LicenseVerifier,
    decrypt_private_key,
    fingerprint_hash,
    read_passphrase_file,
)

from .server_process import bearer, create_token, error_info, keysvc_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path):
    data = tmp_path / "data"
    with keysvc_server(data) as running:
        running.admin = create_token(data, "admin")
        running.data_dir = data
        yield running


@pytest.fixture
def admin(server):
    with grpc.insecure_channel(server.address) as channel:
        yield admin_service_pb2_grpc.AdminServiceStub(channel), bearer(server.admin)


def _jwks(server) -> dict:
    with grpc.insecure_channel(server.address) as channel:
        stub = license_service_pb2_grpc.LicenseServiceStub(channel)
        reply = stub.ListSigningKeys(
            license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=bearer(server.admin)
        )
    return json.loads(reply.jwks_json)


def _rotate(admin, request_id=""):
    stub, auth = admin
    request = admin_service_pb2.RotateSigningKeyRequest(request_id=request_id)
    return stub.RotateSigningKey(request, timeout=30, metadata=auth)


def test_rotation_makes_a_new_active_key_and_keeps_the_old_one_published(server, admin) -> None:
    (old,) = _jwks(server)["keys"]
    created = _rotate(admin)
    assert created.state == resources_pb2.SIGNING_KEY_STATE_ACTIVE
    assert created.kid != old["kid"]
    keys = _jwks(server)["keys"]
    assert [key["kid"] for key in keys] == [created.kid, old["kid"]]
    with grpc.insecure_channel(server.address) as channel:
        stub = license_service_pb2_grpc.LicenseServiceStub(channel)
        listed = stub.ListSigningKeys(
            license_service_pb2.ListSigningKeysRequest(), timeout=5, metadata=bearer(server.admin)
        ).signing_keys
    assert [key.state for key in listed] == [
        resources_pb2.SIGNING_KEY_STATE_ACTIVE,
        resources_pb2.SIGNING_KEY_STATE_RETIRED,
    ]
    assert listed[1].HasField("retire_time")


def test_a_key_signed_before_rotation_still_verifies_with_the_published_keys(server, admin) -> None:
    (old,) = _jwks(server)["keys"]
    with sqlite3.connect(server.data_dir / "keysvc.db") as db:
        (pem,) = db.execute(
            "SELECT private_key_pem FROM signing_keys WHERE kid = ?", (old["kid"],)
        ).fetchone()
    passphrase = read_passphrase_file(server.data_dir / "keys" / "dev-passphrase")
    old_key = decrypt_private_key(pem.encode(), passphrase)
    issued = KeyRing(old_key).sign_license(
        LicenseClaims(
            serial="L-1",
            issued_at=1_700_000_000,
            product_code="neo-backup",
            contract_number="SS-2026-000001",
            seats=5,
            generation=1,
            fingerprint_hash=fingerprint_hash("fp1:old-server"),
            support_end=date(2027, 11, 30),
        )
    )
    _rotate(admin)
    verified = LicenseVerifier.from_jwks(_jwks(server)).verify(issued, "fp1:old-server")
    assert verified.kid == old["kid"]


def test_a_repeated_request_id_returns_the_first_answer_and_changes_nothing(server, admin) -> None:
    request_id = str(uuid.uuid4())
    first = _rotate(admin, request_id)
    again = _rotate(admin, request_id)
    assert again == first
    assert len(_jwks(server)["keys"]) == 2


def test_a_malformed_request_id_is_an_invalid_argument(admin) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _rotate(admin, "has spaces in it")
    code, reason, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert reason == "INVALID_ARGUMENT"
    assert metadata["field"] == "request_id"


def test_mutations_are_audited_with_who_what_and_outcome(server, admin) -> None:
    stub, auth = admin
    request_id = str(uuid.uuid4())
    created = _rotate(admin, request_id)
    _rotate(admin, request_id)
    events = stub.ListAuditEvents(
        admin_service_pb2.ListAuditEventsRequest(), timeout=5, metadata=auth
    ).audit_events
    token_id = server.admin.split(".")[1]
    assert [(e.method, e.outcome) for e in events] == [
        ("/keysvc.v1.AdminService/RotateSigningKey", "REPLAYED"),
        ("/keysvc.v1.AdminService/RotateSigningKey", "OK"),
    ]
    assert events[1].resource == f"signingKeys/{created.kid}"
    assert {(e.actor_token_id, e.actor_role) for e in events} == {(token_id, "admin")}
    assert all(e.HasField("time") for e in events)


def test_audit_log_pages_through_every_event_once(server, admin) -> None:
    stub, auth = admin
    for _ in range(5):
        _rotate(admin)
    seen, token = [], ""
    while True:
        reply = stub.ListAuditEvents(
            admin_service_pb2.ListAuditEventsRequest(page_size=2, page_token=token),
            timeout=5,
            metadata=auth,
        )
        assert len(reply.audit_events) <= 2
        seen += [event.id for event in reply.audit_events]
        token = reply.next_page_token
        if not token:
            break
    assert len(seen) == 5
    assert len(set(seen)) == 5
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [({"page_size": -1}, "page_size"), ({"page_token": "not-a-token"}, "page_token")],
)
def test_bad_paging_is_an_invalid_argument_naming_the_field(admin, request_fields, field) -> None:
    stub, auth = admin
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListAuditEvents(
            admin_service_pb2.ListAuditEventsRequest(**request_fields), timeout=5, metadata=auth
        )
    code, _, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert metadata["field"] == field


def test_a_page_token_is_refused_with_other_filters(server, admin) -> None:
    stub, auth = admin
    for _ in range(3):
        _rotate(admin)
    token = stub.ListAuditEvents(
        admin_service_pb2.ListAuditEventsRequest(page_size=1), timeout=5, metadata=auth
    ).next_page_token
    assert token
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListAuditEvents(
            admin_service_pb2.ListAuditEventsRequest(
                page_size=1, page_token=token, resource="signingKeys/x"
            ),
            timeout=5,
            metadata=auth,
        )
    assert error_info(caught.value)[2]["field"] == "page_token"
