"""Contact addresses over gRPC against a real server, on SQLite and on PostgreSQL:
what cannot be mailed is refused when given (INVALID_ARGUMENT, INVALID_EMAIL, the
field named), what is accepted is stored in its normal form, and a stored address
that cannot be mailed is a clear FAILED_PRECONDITION at release and is listed by
``keysvc mail check-addresses``."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from sqlalchemy import create_engine, update

from keysvc.persistence.schema import contracts, key_requests
from keysvc.v1 import admin_service_pb2, resources_pb2

from .server_process import error_info, new_contract, run_keysvc, submit_initial

pytestmark = pytest.mark.e2e

# One of each class the API accepted before and the composer then refused.
UNDELIVERABLE = {
    "quoted local part": '"it dept"@example.jp',
    "comment": "it(support)@example.jp",
    "display name": "IT <it@example.jp>",
    "CR LF": "it@example.jp\r\nBcc: all@example.jp",
    "leading dot": ".it@example.jp",
    "consecutive dots": "i..t@example.jp",
    "local part over 64": "x" * 65 + "@example.jp",
    "label over 63": "it@" + "b" * 64 + ".jp",
    "IP literal": "it@[192.0.2.1]",
    "non-ASCII local part": "社員@example.jp",
    "no dot in domain": "it@localhost",
    "list": "a@example.jp,b@example.jp",
}
# Stored as the service found it before addresses were checked as now.
LEGACY = '"it dept"@example.jp'


def _refusal(call):
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("address", UNDELIVERABLE.values(), ids=UNDELIVERABLE.keys())
def test_create_contract_refuses_an_address_that_cannot_be_mailed(clients, address) -> None:
    error = _refusal(lambda: new_contract(clients, contact_email=address))
    code, reason, metadata = error_info(error)
    assert (code, reason, metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_EMAIL",
        {"field": "contact_email"},
    )
    assert address not in error.details() or len(address) <= 12


@pytest.mark.parametrize("address", UNDELIVERABLE.values(), ids=UNDELIVERABLE.keys())
def test_submit_key_request_refuses_an_address_that_cannot_be_mailed(clients, address) -> None:
    contract = new_contract(clients)
    error = _refusal(
        lambda: submit_initial(clients, contract.contract_number, "fp1:e2e", contact_email=address)
    )
    code, reason, metadata = error_info(error)
    assert (code, reason, metadata) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_EMAIL",
        {"field": "contact_email"},
    )


@pytest.mark.parametrize(
    "address", ["it\x00@example.jp", "x" * 1025 + "@example.jp"], ids=["NUL", "over 1024"]
)
def test_nul_or_over_1024_characters_are_refused_by_the_request_bounds_first(
    clients, address
) -> None:
    # Every text field of every request is bounded and NUL-free before any servicer
    # runs (keysvc/api/request_bounds.py): the same code and field, its own reason.
    contract = new_contract(clients)
    refusals = (
        _refusal(lambda: new_contract(clients, contact_email=address)),
        _refusal(
            lambda: submit_initial(
                clients, contract.contract_number, "fp1:e2e", contact_email=address
            )
        ),
    )
    for refusal in refusals:
        code, _, metadata = error_info(refusal)
        assert (code, metadata) == (grpc.StatusCode.INVALID_ARGUMENT, {"field": "contact_email"})


def test_an_internationalised_domain_is_stored_and_mailed_in_a_labels(clients) -> None:
    contract = new_contract(clients, contact_email="support@例え.jp")
    assert contract.contact_email == "support@xn--r8jz45g.jp"
    submitted = submit_initial(
        clients, contract.contract_number, "fp1:e2e-idn", contact_email="IT@Bücher.DE"
    )
    assert submitted.contact_email == "IT@xn--bcher-kva.de"
    issued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id))
    assert issued.state == resources_pb2.KEY_REQUEST_STATE_RELEASED


def _store(clients, table, key, address) -> None:
    url = clients.environment.get("KEYSVC_DATABASE_URL") or (
        f"sqlite:///{clients.data_dir / 'keysvc.db'}"
    )
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(update(table).where(key).values(contact_email=address))
    finally:
        engine.dispose()


def _check_addresses(clients, *options: str):
    return run_keysvc(
        "mail",
        "check-addresses",
        "--data-dir",
        str(clients.data_dir),
        *options,
        env=clients.environment,
    )


def test_a_stored_address_that_cannot_be_mailed_is_reported_and_never_internal(clients) -> None:
    contract = new_contract(clients)
    number = contract.contract_number
    submitted = submit_initial(clients, number, "fp1:e2e-legacy", request_id=str(uuid.uuid4()))
    _store(clients, contracts, contracts.c.contract_number == number, LEGACY)
    _store(clients, key_requests, key_requests.c.id == submitted.id, LEGACY)

    listed = _check_addresses(clients, "--json")
    assert listed.returncode == 1, listed.stderr
    found = {item["resource"]: item for item in json.loads(listed.stdout)["undeliverable"]}
    assert found[f"contracts/{number}"]["address"] == LEGACY
    assert found[f"key_requests/{submitted.id}"]["state"] == "PENDING"
    shown = _check_addresses(clients)
    assert shown.returncode == 1
    assert f"contracts/{number}\t" in shown.stdout
    assert f"key_requests/{submitted.id} (PENDING)\t" in shown.stdout

    code, reason, metadata = error_info(
        _refusal(
            lambda: clients.admin(
                "IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id)
            )
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONTACT_EMAIL_UNDELIVERABLE")
    assert metadata == {"key_request_id": submitted.id, "contract_number": number}

    # A request without an address of its own would use the contract's.
    clients.admin(
        "RejectKeyRequest", admin_service_pb2.RejectKeyRequestRequest(id=submitted.id, reason="x")
    )
    code, reason, metadata = error_info(
        _refusal(lambda: submit_initial(clients, number, "fp1:e2e-legacy"))
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONTACT_EMAIL_UNDELIVERABLE")
    assert metadata == {"contract_number": number}
    # One given with the request goes out.
    again = submit_initial(clients, number, "fp1:e2e-legacy", contact_email="it@example.co.jp")
    issued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=again.id))
    assert issued.state == resources_pb2.KEY_REQUEST_STATE_RELEASED


def test_check_addresses_exits_0_when_every_stored_address_can_be_mailed(tmp_path) -> None:
    data = tmp_path / "data"
    assert run_keysvc("db", "upgrade", "--data-dir", str(data)).returncode == 0
    checked = run_keysvc("mail", "check-addresses", "--data-dir", str(data), "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == {"undeliverable": []}
