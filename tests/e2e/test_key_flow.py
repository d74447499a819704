"""The whole flow over gRPC against a real server, on SQLite and on PostgreSQL.

contract -> initial request -> issue -> the key verifies -> re-issue for a new
server -> the old key is SUPERSEDED.
"""

from __future__ import annotations

import json
import uuid

import grpc
import pytest

from keysvc.v1 import (
    admin_service_pb2,
    license_service_pb2,
    resources_pb2,
)
from signing import LicenseVerifier, fingerprint_hash

from .server_process import error_info, new_contract, submit_initial

pytestmark = pytest.mark.e2e

OLD_SERVER = "fp1:0d6c8f1e-old-server"
NEW_SERVER = "FP1:7a2b9c4d-NEW-server  "


def _jwks(clients):
    return clients.site("ListSigningKeys", license_service_pb2.ListSigningKeysRequest()).jwks_json


def test_initial_key_then_reissue_supersedes_the_old_key(clients) -> None:
    contract = new_contract(clients)
    assert contract.contract_number.startswith("SS-2026-")
    assert [(p.start, p.end) for p in contract.periods] == [("2026-12-01", "2027-11-30")]
    assert contract.coverage_start == "2026-11-02"

    submitted = submit_initial(
        clients, contract.contract_number, OLD_SERVER, request_id=str(uuid.uuid4())
    )
    assert submitted.state == resources_pb2.KEY_REQUEST_STATE_PENDING
    assert submitted.due_date
    assert submitted.HasField("accept_time")
    assert submitted.HasField("release_time")
    assert not submitted.license_key

    issued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id))
    assert issued.state == resources_pb2.KEY_REQUEST_STATE_RELEASED
    assert issued.HasField("released_time")
    first_key = issued.license_key
    fetched = clients.site(
        "GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id=submitted.id)
    )
    assert fetched.license_key == first_key
    assert fetched.license_serial == issued.license_serial

    # Offline, as the product does, with the published keys only.
    claims = LicenseVerifier.from_jwks(_jwks(clients)).verify(first_key, OLD_SERVER).claims
    assert claims.contract_number == contract.contract_number
    assert claims.product_code == "neo-backup"
    assert claims.seats == 25
    assert claims.generation == 1
    assert claims.fingerprint_hash == fingerprint_hash(OLD_SERVER)
    assert claims.support_end.isoformat() == "2027-11-30"

    verified = clients.site(
        "VerifyLicenseKey",
        license_service_pb2.VerifyLicenseKeyRequest(license_key=first_key, fingerprint=OLD_SERVER),
    )
    assert verified.valid
    assert verified.license_status == resources_pb2.LICENSE_STATUS_ACTIVE
    assert verified.license_serial == issued.license_serial

    # The customer moves: the migration tool proves possession of the old key.
    reissue = clients.migration(
        "SubmitKeyRequest",
        license_service_pb2.SubmitKeyRequestRequest(
            request_id=str(uuid.uuid4()),
            contract_number=contract.contract_number,
            kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
            fingerprint=NEW_SERVER,
            contact_email="new-admin@example.co.jp",
            previous_key=first_key[:100] + "\n" + first_key[100:],  # wrapped by e-mail
        ),
    )
    assert reissue.previous_license_serial == issued.license_serial
    reissued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=reissue.id))
    new_claims = (
        LicenseVerifier.from_jwks(_jwks(clients)).verify(reissued.license_key, NEW_SERVER).claims
    )
    assert new_claims.generation == 2
    assert new_claims.fingerprint_hash == fingerprint_hash(NEW_SERVER.strip().lower())

    old = clients.site(
        "VerifyLicenseKey", license_service_pb2.VerifyLicenseKeyRequest(license_key=first_key)
    )
    assert old.valid  # still a key we signed ...
    assert old.license_status == resources_pb2.LICENSE_STATUS_SUPERSEDED  # ... but replaced
    superseded = clients.admin(
        "GetLicense", admin_service_pb2.GetLicenseRequest(serial=old.license_serial)
    )
    assert superseded.superseded_by == reissued.license_serial
    mismatch = clients.site(
        "VerifyLicenseKey",
        license_service_pb2.VerifyLicenseKeyRequest(
            license_key=reissued.license_key, fingerprint=OLD_SERVER
        ),
    )
    assert not mismatch.valid
    assert mismatch.reason == "FINGERPRINT_MISMATCH"


def test_a_repeated_submit_returns_the_same_request(clients) -> None:
    contract = new_contract(clients)
    request = license_service_pb2.SubmitKeyRequestRequest(
        request_id=str(uuid.uuid4()),
        contract_number=contract.contract_number,
        kind=resources_pb2.KEY_REQUEST_KIND_INITIAL,
        fingerprint=OLD_SERVER,
    )
    first = clients.site("SubmitKeyRequest", request)
    again = clients.site("SubmitKeyRequest", request)
    assert again == first


def test_a_migration_token_must_prove_possession(clients) -> None:
    contract = new_contract(clients)
    with pytest.raises(grpc.RpcError) as caught:
        clients.migration(
            "SubmitKeyRequest",
            license_service_pb2.SubmitKeyRequestRequest(
                contract_number=contract.contract_number,
                kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
                fingerprint=NEW_SERVER,
                previous_license_serial="L-2026-AAAAAAAAAA",
            ),
        )
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MIGRATION_REISSUE_ONLY",
    )


def test_a_forged_previous_key_is_refused_with_its_reason(clients) -> None:
    contract = new_contract(clients)
    with pytest.raises(grpc.RpcError) as caught:
        clients.migration(
            "SubmitKeyRequest",
            license_service_pb2.SubmitKeyRequestRequest(
                contract_number=contract.contract_number,
                kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
                fingerprint=NEW_SERVER,
                previous_key="eyJhbGciOiJub25lIn0.e30.",
            ),
        )
    code, reason, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert metadata["field"] == "previous_key"
    assert reason.startswith("LICENSE_KEY_")


@pytest.mark.parametrize(
    ("method", "request_message", "field"),
    [
        (
            "SubmitKeyRequest",
            license_service_pb2.SubmitKeyRequestRequest(contract_number="SS-2026-000001"),
            "kind",
        ),
        (
            "SubmitKeyRequest",
            license_service_pb2.SubmitKeyRequestRequest(
                kind=resources_pb2.KEY_REQUEST_KIND_INITIAL, contract_number="bad number!"
            ),
            "contract_number",
        ),
        ("GetKeyRequest", license_service_pb2.GetKeyRequestRequest(), "id"),
        ("VerifyLicenseKey", license_service_pb2.VerifyLicenseKeyRequest(), "license_key"),
        (
            "VerifyLicenseKey",
            license_service_pb2.VerifyLicenseKeyRequest(license_key="x", fingerprint="short"),
            "fingerprint",
        ),
        (
            "GetSupportStatus",
            license_service_pb2.GetSupportStatusRequest(contract_number="SS-1", date="2026-13-01"),
            "date",
        ),
        (
            "CreateContract",
            admin_service_pb2.CreateContractRequest(
                product_code="neo-backup",
                customer_name="x",
                contact_email="not-an-address",
                seats=1,
                purchase_date="2026-11-01",
            ),
            "contact_email",
        ),
        (
            "CreateContract",
            admin_service_pb2.CreateContractRequest(
                product_code="neo-backup",
                customer_name="x",
                contact_email="a@b.example",
                seats=0,
                purchase_date="2026-11-01",
            ),
            "seats",
        ),
        (
            "CreateContract",
            admin_service_pb2.CreateContractRequest(
                product_code="neo-nothing",
                customer_name="x",
                contact_email="a@b.example",
                seats=1,
                purchase_date="2026-11-01",
            ),
            "product_code",
        ),
        ("ListContracts", admin_service_pb2.ListContractsRequest(page_size=-5), "page_size"),
        ("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(), "id"),
        ("GetLicense", admin_service_pb2.GetLicenseRequest(), "serial"),
    ],
)
def test_bad_input_is_an_invalid_argument_naming_the_field(
    clients, method, request_message, field
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin(method, request_message)
    code, _, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert metadata["field"] == field


@pytest.mark.parametrize(
    ("method", "request_message", "reason"),
    [
        (
            "GetKeyRequest",
            license_service_pb2.GetKeyRequestRequest(id="kr_nope"),
            "KEY_REQUEST_NOT_FOUND",
        ),
        (
            "GetContract",
            admin_service_pb2.GetContractRequest(contract_number="SS-1999-000001"),
            "CONTRACT_NOT_FOUND",
        ),
        (
            "GetLicense",
            admin_service_pb2.GetLicenseRequest(serial="L-1999-XXXXXXXXXX"),
            "LICENSE_NOT_FOUND",
        ),
        (
            "IssueKeyNow",
            admin_service_pb2.IssueKeyNowRequest(id="kr_nope"),
            "KEY_REQUEST_NOT_FOUND",
        ),
    ],
)
def test_unknown_resources_are_not_found(clients, method, request_message, reason) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin(method, request_message)
    assert error_info(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, reason)


def test_support_status_and_preview(clients) -> None:
    contract = new_contract(clients, "neo-webconf")
    status = clients.site(
        "GetSupportStatus",
        license_service_pb2.GetSupportStatusRequest(
            contract_number=contract.contract_number, date="2026-11-20"
        ),
    )
    assert status.covered
    assert status.ice_entitled
    # Accepted 2026-11-02: the first period starts the 1st of the month after next.
    assert (status.period_start, status.period_end) == ("2027-01-01", "2027-12-31")
    assert status.coverage_start == "2026-11-02"
    gone = clients.site(
        "GetSupportStatus",
        license_service_pb2.GetSupportStatusRequest(
            contract_number=contract.contract_number,
            date="2028-01-01",  # after the period
        ),
    )
    assert not gone.covered
    assert not gone.ice_entitled
    from google.protobuf.timestamp_pb2 import Timestamp  # noqa: PLC0415

    accept = Timestamp()
    accept.FromJsonString("2026-11-20T08:00:00Z")  # 17:00 JST on a Friday before a holiday
    preview = clients.site(
        "PreviewRelease", license_service_pb2.PreviewReleaseRequest(accept_time=accept)
    )
    assert preview.due_date == "2026-11-24"
    assert not preview.same_day
    assert preview.release_time.ToJsonString() == "2026-11-24T00:00:00Z"
    assert json.loads(_jwks(clients))["keys"]


def _issued_contract(clients, fingerprint=OLD_SERVER):
    contract = new_contract(clients)
    submitted = submit_initial(clients, contract.contract_number, fingerprint)
    issued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id))
    return contract, issued


def test_renewals_follow_the_product_policy(clients) -> None:
    contract = new_contract(clients)  # neo-backup, period 2026-12-01 .. 2027-11-30
    late = clients.admin(
        "RenewContract",
        admin_service_pb2.RenewContractRequest(
            contract_number=contract.contract_number, accept_date="2028-01-10"
        ),
    )
    assert [(p.start, p.end) for p in late.periods][-1] == ("2028-02-01", "2029-01-31")
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin(
            "RenewContract",
            admin_service_pb2.RenewContractRequest(
                contract_number=contract.contract_number, accept_date="2030-02-01"
            ),
        )
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "RECONTINUATION_REQUIRED",
    )
    renewed = clients.admin(
        "RenewContract",
        admin_service_pb2.RenewContractRequest(
            contract_number=contract.contract_number,
            accept_date="2030-02-01",
            recontinuation=True,
        ),
    )
    assert (renewed.periods[-1].start, renewed.periods[-1].end) == ("2030-02-01", "2031-01-31")


def test_a_recontinuation_is_refused_where_a_plain_renewal_is_the_purchase(clients) -> None:
    webconf = new_contract(clients, "neo-webconf")
    backup = new_contract(clients)  # period 2026-12-01 .. 2027-11-30
    cases = [
        (webconf, "2028-06-01", {"cause": "NOT_OFFERED", "policy": "neo-webconf"}),
        (
            backup,
            "2028-11-29",  # the last day a plain renewal is still enough
            {"cause": "NOT_NEEDED", "previous_end": "2027-11-30", "required_from": "2028-11-30"},
        ),
    ]
    for contract, accepted, metadata in cases:
        with pytest.raises(grpc.RpcError) as caught:
            clients.admin(
                "RenewContract",
                admin_service_pb2.RenewContractRequest(
                    request_id=str(uuid.uuid4()),
                    contract_number=contract.contract_number,
                    accept_date=accepted,
                    recontinuation=True,
                ),
            )
        assert error_info(caught.value) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "RECONTINUATION_NOT_ALLOWED",
            metadata,
        )
        unchanged = clients.admin(
            "GetContract",
            admin_service_pb2.GetContractRequest(contract_number=contract.contract_number),
        )
        assert unchanged.periods == contract.periods


def test_contracts_are_read_and_listed_by_product(clients) -> None:
    created = new_contract(
        clients,
        "neo-webconf",
        "2026-11-10",
        customer_name="株式会社リスト",
        contact_email="list@example.co.jp",
        seats=7,
        accept_date="2026-11-12",
    )
    renewed = clients.admin(
        "RenewContract",
        admin_service_pb2.RenewContractRequest(
            request_id=str(uuid.uuid4()),
            contract_number=created.contract_number,
            accept_date="2027-12-01",
        ),
    )
    fetched = clients.admin(
        "GetContract", admin_service_pb2.GetContractRequest(contract_number=created.contract_number)
    )
    assert fetched == renewed
    assert (fetched.product_code, fetched.customer_name, fetched.contact_email) == (
        "neo-webconf",
        "株式会社リスト",
        "list@example.co.jp",
    )
    assert (fetched.seats, fetched.purchase_date, fetched.accept_date) == (
        7,
        "2026-11-10",
        "2026-11-12",
    )
    # Accepted the 12th: from the 1st of the month after next; renewed on time, back to back.
    assert [(p.start, p.end) for p in fetched.periods] == [
        ("2027-01-01", "2027-12-31"),
        ("2028-01-01", "2028-12-31"),
    ]
    assert fetched.coverage_start == "2026-11-10"
    assert fetched.create_time == created.create_time

    webconf = [new_contract(clients, "neo-webconf").contract_number for _ in range(2)]
    backup = new_contract(clients).contract_number
    listed, token = [], ""
    while True:
        page = clients.admin(
            "ListContracts",
            admin_service_pb2.ListContractsRequest(
                product_code="neo-webconf", page_size=2, page_token=token
            ),
        )
        assert len(page.contracts) <= 2
        listed += page.contracts
        token = page.next_page_token
        if not token:
            break
    numbers = [c.contract_number for c in listed]
    assert numbers == sorted(set(numbers))
    assert {created.contract_number, *webconf} <= set(numbers)
    assert backup not in numbers
    assert {c.product_code for c in listed} == {"neo-webconf"}
    assert next(c for c in listed if c.contract_number == created.contract_number) == fetched
    # A page token is only good for the filters it was made for.
    first = clients.admin(
        "ListContracts",
        admin_service_pb2.ListContractsRequest(product_code="neo-webconf", page_size=1),
    )
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin(
            "ListContracts",
            admin_service_pb2.ListContractsRequest(
                product_code="neo-backup", page_size=1, page_token=first.next_page_token
            ),
        )
    assert error_info(caught.value)[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert error_info(caught.value)[2]["field"] == "page_token"


def test_added_licenses_queue_a_seats_change_on_the_same_server(clients) -> None:
    contract, issued = _issued_contract(clients)
    added = clients.admin(
        "AddLicenses",
        admin_service_pb2.AddLicensesRequest(
            request_id=str(uuid.uuid4()),
            contract_number=contract.contract_number,
            additional_seats=5,
            purchase_date="2026-11-10",
        ),
    )
    assert added.contract.seats == 30
    assert added.contract.periods == contract.periods
    queued = added.key_request
    assert queued.kind == resources_pb2.KEY_REQUEST_KIND_SEATS_CHANGE
    assert queued.previous_license_serial == issued.license_serial
    changed = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=queued.id))
    claims = (
        LicenseVerifier.from_jwks(_jwks(clients)).verify(changed.license_key, OLD_SERVER).claims
    )
    assert claims.seats == 30
    assert claims.generation == 2


def _waiting(clients, contract_number):
    return clients.admin(
        "ListKeyRequests",
        admin_service_pb2.ListKeyRequestsRequest(
            contract_number=contract_number, state=resources_pb2.KEY_REQUEST_STATE_PENDING
        ),
    ).key_requests


def test_licenses_added_while_a_request_waits_are_queued_when_it_is_rejected(clients) -> None:
    contract, issued = _issued_contract(clients)  # 25 seats on OLD_SERVER
    move = clients.site(
        "SubmitKeyRequest",
        license_service_pb2.SubmitKeyRequestRequest(
            contract_number=contract.contract_number,
            kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
            fingerprint=NEW_SERVER,
            previous_license_serial=issued.license_serial,
        ),
    )
    added = clients.admin(
        "AddLicenses",
        admin_service_pb2.AddLicensesRequest(
            request_id=str(uuid.uuid4()),
            contract_number=contract.contract_number,
            additional_seats=5,
        ),
    )
    # The waiting re-issue would carry the 30 seats: nothing else is queued ...
    assert added.contract.seats == 30
    assert not added.HasField("key_request")
    assert [r.id for r in _waiting(clients, contract.contract_number)] == [move.id]
    # ... until it is rejected: then the seat change is queued for the old server.
    clients.admin(
        "RejectKeyRequest",
        admin_service_pb2.RejectKeyRequestRequest(
            id=move.id, reason="the customer stays on the old server"
        ),
    )
    (queued,) = _waiting(clients, contract.contract_number)
    assert queued.kind == resources_pb2.KEY_REQUEST_KIND_SEATS_CHANGE
    assert queued.previous_license_serial == issued.license_serial
    changed = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=queued.id))
    claims = (
        LicenseVerifier.from_jwks(_jwks(clients)).verify(changed.license_key, OLD_SERVER).claims
    )
    assert (claims.seats, claims.generation) == (30, 2)


def test_a_rejected_seats_change_is_not_queued_again(clients) -> None:
    contract, _ = _issued_contract(clients)
    added = clients.admin(
        "AddLicenses",
        admin_service_pb2.AddLicensesRequest(
            request_id=str(uuid.uuid4()),
            contract_number=contract.contract_number,
            additional_seats=5,
        ),
    )
    clients.admin(
        "RejectKeyRequest",
        admin_service_pb2.RejectKeyRequestRequest(
            id=added.key_request.id, reason="ordered by mistake"
        ),
    )
    assert list(_waiting(clients, contract.contract_number)) == []


def _reissue(clients, contract_number, serial, server):
    return clients.site(
        "SubmitKeyRequest",
        license_service_pb2.SubmitKeyRequestRequest(
            contract_number=contract_number,
            kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
            fingerprint=f"fp1:e2e-key-flow-server-{server}",
            previous_license_serial=serial,
        ),
    )


def _issue_now(clients, request_id):
    return clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=request_id))


def _held(clients, contract_number):
    listed = clients.admin(
        "ListKeyRequests",
        admin_service_pb2.ListKeyRequestsRequest(
            contract_number=contract_number, state=resources_pb2.KEY_REQUEST_STATE_HELD
        ),
    )
    return [(r.id, r.hold_reason) for r in listed.key_requests]


def test_held_requests_are_approved_or_rejected_and_listed(clients) -> None:
    contract, issued = _issued_contract(clients)
    number, serial = contract.contract_number, issued.license_serial
    for server in (1, 2, 3):
        reissue = _reissue(clients, number, serial, server)
        assert reissue.state == resources_pb2.KEY_REQUEST_STATE_PENDING
        serial = _issue_now(clients, reissue.id).license_serial
    # The 4th re-issue within 365 days waits for staff (SPEC section 6).
    fourth = _reissue(clients, number, serial, 4)
    assert (fourth.state, fourth.hold_reason) == (
        resources_pb2.KEY_REQUEST_STATE_HELD,
        "REISSUE_LIMIT",
    )
    assert _held(clients, number) == [(fourth.id, "REISSUE_LIMIT")]
    with pytest.raises(grpc.RpcError) as caught:
        _issue_now(clients, fourth.id)
    assert error_info(caught.value)[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "KEY_REQUEST_HELD",
    )
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin("ApproveKeyRequest", admin_service_pb2.ApproveKeyRequestRequest(id="kr_x"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    approved = clients.admin(
        "ApproveKeyRequest", admin_service_pb2.ApproveKeyRequestRequest(id=fourth.id)
    )
    assert approved.state == resources_pb2.KEY_REQUEST_STATE_PENDING
    assert _held(clients, number) == []
    serial = _issue_now(clients, fourth.id).license_serial

    fifth = _reissue(clients, number, serial, 5)
    assert _held(clients, number) == [(fifth.id, "REISSUE_LIMIT")]
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin("RejectKeyRequest", admin_service_pb2.RejectKeyRequestRequest(id=fifth.id))
    assert error_info(caught.value)[2]["field"] == "reason"
    rejected = clients.admin(
        "RejectKeyRequest",
        admin_service_pb2.RejectKeyRequestRequest(id=fifth.id, reason="too many server changes"),
    )
    assert rejected.state == resources_pb2.KEY_REQUEST_STATE_REJECTED
    assert rejected.reject_reason == "too many server changes"
    assert _held(clients, number) == []
    assert list(_waiting(clients, number)) == []  # same seats: no SEATS_CHANGE in its place
    for method, message in (
        ("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=fifth.id)),
        ("ApproveKeyRequest", admin_service_pb2.ApproveKeyRequestRequest(id=fifth.id)),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            clients.admin(method, message)
        assert error_info(caught.value)[:2] == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "KEY_REQUEST_REJECTED",
        )
    # The license the rejected move would have replaced stays the active one.
    active = clients.admin("GetLicense", admin_service_pb2.GetLicenseRequest(serial=serial))
    assert active.status == resources_pb2.LICENSE_STATUS_ACTIVE


def test_key_requests_page_through_in_acceptance_order(clients) -> None:
    ids = []
    for _ in range(3):
        contract = new_contract(clients)
        ids.append(submit_initial(clients, contract.contract_number, OLD_SERVER).id)
    seen, token = [], ""
    while True:
        page = clients.admin(
            "ListKeyRequests",
            admin_service_pb2.ListKeyRequestsRequest(page_size=2, page_token=token),
        )
        seen += [r.id for r in page.key_requests]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == page.total_size
    assert [i for i in seen if i in ids] == ids


def test_a_revoked_license_verifies_as_revoked(clients) -> None:
    contract, issued = _issued_contract(clients)
    revoked = clients.admin(
        "RevokeLicense",
        admin_service_pb2.RevokeLicenseRequest(
            serial=issued.license_serial, reason="refund", request_id=str(uuid.uuid4())
        ),
    )
    assert revoked.status == resources_pb2.LICENSE_STATUS_REVOKED
    assert revoked.revoke_reason == "refund"
    verified = clients.site(
        "VerifyLicenseKey",
        license_service_pb2.VerifyLicenseKeyRequest(license_key=issued.license_key),
    )
    assert verified.license_status == resources_pb2.LICENSE_STATUS_REVOKED
    assert (verified.in_force, verified.message) == (False, "revoked: the key no longer works")
    listed = clients.admin(
        "ListLicenses",
        admin_service_pb2.ListLicensesRequest(contract_number=contract.contract_number),
    )
    assert [(lic.serial, lic.status) for lic in listed.licenses] == [
        (issued.license_serial, resources_pb2.LICENSE_STATUS_REVOKED)
    ]


def test_the_old_key_of_a_reissue_works_until_its_overlap_ends_or_staff_end_it(clients) -> None:
    contract, issued = _issued_contract(clients)
    moved = _issue_now(
        clients, _reissue(clients, contract.contract_number, issued.license_serial, 9).id
    )
    # The server's clock says Sunday 2026-11-22; Monday 23 is a public holiday, so the
    # fifth business day after is Monday 2026-11-30 (09:00 JST = 00:00 UTC).
    end = "2026-11-30T00:00:00Z"
    assert moved.previous_supersede_time.ToJsonString() == end
    followed = clients.site("GetKeyRequest", license_service_pb2.GetKeyRequestRequest(id=moved.id))
    assert followed.previous_supersede_time.ToJsonString() == end
    old = clients.admin(
        "GetLicense", admin_service_pb2.GetLicenseRequest(serial=issued.license_serial)
    )
    assert old.status == resources_pb2.LICENSE_STATUS_SUPERSEDED
    assert old.supersede_time.ToJsonString() == end

    during = clients.site(
        "VerifyLicenseKey",
        license_service_pb2.VerifyLicenseKeyRequest(license_key=issued.license_key),
    )
    assert (during.valid, during.in_force) == (True, True)
    assert during.license_status == resources_pb2.LICENSE_STATUS_SUPERSEDED
    assert during.message == (
        "superseded: the key still works until 2026-11-30 09:00 JST (the re-issue's overlap)"
    )
    assert during.supersede_time.ToJsonString() == end
    new = clients.site(
        "VerifyLicenseKey",
        license_service_pb2.VerifyLicenseKeyRequest(license_key=moved.license_key),
    )
    assert (new.in_force, new.message) == (True, "valid: the key of the license in force")

    with pytest.raises(grpc.RpcError) as caught:
        clients.admin(
            "EndReissueOverlap",
            admin_service_pb2.EndReissueOverlapRequest(serial=issued.license_serial),
        )
    assert error_info(caught.value)[2]["field"] == "reason"
    ended = clients.admin(
        "EndReissueOverlap",
        admin_service_pb2.EndReissueOverlapRequest(
            serial=issued.license_serial, reason="old server still in use"
        ),
    )
    assert ended.supersede_time.ToDatetime() < old.supersede_time.ToDatetime()
    assert ended.supersede_reason == "old server still in use"
    after = clients.site(
        "VerifyLicenseKey",
        license_service_pb2.VerifyLicenseKeyRequest(license_key=issued.license_key),
    )
    assert (after.valid, after.in_force) == (True, False)
    assert after.message.startswith("superseded: the key no longer works since 2026-11-2")
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin(
            "EndReissueOverlap",
            admin_service_pb2.EndReissueOverlapRequest(serial=moved.license_serial, reason="x"),
        )
    assert error_info(caught.value)[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "LICENSE_ACTIVE")
    events = clients.admin("ListAuditEvents", admin_service_pb2.ListAuditEventsRequest())
    assert any(
        e.method.endswith("EndReissueOverlap") and e.resource == f"licenses/{issued.license_serial}"
        for e in events.audit_events
    )
