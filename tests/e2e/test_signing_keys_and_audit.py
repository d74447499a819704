"""Key rotation, idempotent repeats and the audit log, over gRPC."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, date, datetime

import grpc
import pytest

from keysvc.domain.audit_chain import AuditFacts, event_hash
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

from .server_process import bearer, create_token, error_info, keysvc_server, run_keysvc

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
    token_id = server.admin.split(".")[1]
    # The token's own making (`keysvc tokens create`) is audited too, as the host's.
    events = stub.ListAuditEvents(
        admin_service_pb2.ListAuditEventsRequest(actor_token_id=token_id), timeout=5, metadata=auth
    ).audit_events
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
    actor = server.admin.split(".")[1]
    while True:
        reply = stub.ListAuditEvents(
            admin_service_pb2.ListAuditEventsRequest(
                page_size=2, page_token=token, actor_token_id=actor
            ),
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


def _verify(server):
    return run_keysvc("audit", "verify", "--data-dir", str(server.data_dir))


def _tamper(server, sql: str) -> None:
    with sqlite3.connect(server.data_dir / "keysvc.db", timeout=30) as database:
        database.execute(sql)


def _id_at(server, seq: int) -> int:
    with sqlite3.connect(server.data_dir / "keysvc.db", timeout=30) as database:
        (event_id,) = database.execute(
            "SELECT id FROM audit_events WHERE seq = ?", (seq,)
        ).fetchone()
    return int(event_id)


@pytest.mark.parametrize(
    ("sql", "seq", "kind"),
    [
        ("UPDATE audit_events SET outcome = 'OK' WHERE seq = 4", 4, "ALTERED"),
        ("DELETE FROM audit_events WHERE seq = 2", 2, "MISSING"),
        (
            "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
            5,
            "TRUNCATED",
        ),
        (
            "INSERT INTO audit_events (occurred_at, actor_token_id, actor_role, method, resource,"
            " outcome, seq, hash) VALUES ('2026-12-01 00:00:00.000000', 'x', 'admin', '/m', 'r',"
            " 'OK', 6, zeroblob(32))",
            6,
            "BEYOND_HEAD",
        ),
    ],
    ids=["update", "delete", "delete-newest", "insert"],
)
def test_audit_verify_names_the_first_event_changed_behind_keysvc_s_back(
    server, admin, sql, seq, kind
) -> None:
    # Event 1 is the admin token's making; 2-5 rotations, 4 a repeat (REPLAYED).
    request_id = str(uuid.uuid4())
    _rotate(admin)
    _rotate(admin, request_id)
    _rotate(admin, request_id)
    _rotate(admin)
    intact = _verify(server)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "(5 events)" in intact.stdout
    head_line = intact.stdout.strip().splitlines()[-1]
    assert head_line.startswith("head (seq:sha256, for --anchor): 5:")

    altered_id = _id_at(server, seq) if kind == "ALTERED" else None
    _tamper(server, sql)
    broken = _verify(server)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    where = f"seq {seq}"
    if kind in {"ALTERED", "BEYOND_HEAD"}:
        where += f" (id {altered_id or _id_at(server, seq)})"
    assert f"the audit log's hash chain is broken at {where}: {kind}" in broken.stdout


def test_an_anchored_head_exposes_a_chain_rewritten_behind_it(server, admin) -> None:
    # What a plain check cannot see: an intruder rewrites an event and recomputes
    # every hash after it and the head. The head recorded before still differs.
    _rotate(admin)
    _rotate(admin)  # events 1-3: the token's making and two rotations
    recorded = _verify(server).stdout.strip().splitlines()[-1].rpartition(" ")[2]
    assert _verify_anchored(server, recorded).returncode == 0
    _rewrite_from(server, seq=2, outcome="PERMISSION_DENIED")
    assert _verify(server).returncode == 0  # the rewrite is consistent
    anchored = _verify_anchored(server, recorded)
    assert anchored.returncode == 1
    # Named at the anchored event (3, the head then): where the rewrite began, the
    # rewritten chain is consistent; its difference shows where the copy was kept.
    assert f"broken at seq 3 (id {_id_at(server, 3)}): ANCHOR_MISMATCH" in anchored.stdout


def test_a_malformed_anchor_is_refused_with_usage(server) -> None:
    refused = _verify_anchored(server, "12:not-hex")
    assert refused.returncode == 2
    assert "SEQ:HASH" in refused.stderr


def _verify_anchored(server, anchor: str):
    return run_keysvc("audit", "verify", "--anchor", anchor, "--data-dir", str(server.data_dir))


def _rewrite_from(server, *, seq: int, outcome: str) -> None:
    """Changes event `seq` and recomputes the chain from it, as keysvc's own code would."""
    with sqlite3.connect(server.data_dir / "keysvc.db", timeout=30) as database:
        database.execute("UPDATE audit_events SET outcome = ? WHERE seq = ?", (outcome, seq))
        rows = database.execute(
            "SELECT seq, occurred_at, actor_token_id, actor_role, method, resource, outcome"
            " FROM audit_events WHERE seq >= ? ORDER BY seq",
            (seq,),
        ).fetchall()
        (previous,) = database.execute(
            "SELECT hash FROM audit_events WHERE seq = ?", (seq - 1,)
        ).fetchone()
        for number, occurred_at, *fields in rows:
            instant = datetime.fromisoformat(occurred_at).replace(tzinfo=UTC)
            previous = event_hash(previous, number, AuditFacts(instant, *fields))
            database.execute("UPDATE audit_events SET hash = ? WHERE seq = ?", (previous, number))
        database.execute("UPDATE audit_chain_head SET hash = ?", (previous,))
