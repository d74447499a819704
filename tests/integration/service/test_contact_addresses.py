"""Contact addresses over real SQLite and PostgreSQL: checked when given, stored in their
normal form, and a stored one that cannot be mailed is reported, never a failure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from keysvc.domain.errors import InvalidArgument
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.key_request_repository import get_key_request
from keysvc.persistence.outbox_repository import find_outbox_entry
from keysvc.persistence.schema import contracts, key_requests
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.addresses import (
    ContactEmailUndeliverable,
    UndeliverableContact,
    undeliverable_addresses,
    validate_email,
)
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import DueRelease, MailIdentity, Releaser, release, release_due
from scheduler.calendar import BusinessCalendar
from signing import KeyRing, SigningKey, encrypt_private_key

SITE = Principal("site0000site0000", Role.SITE)
# Friday 2026-11-20, 10:00 JST: a business day before the cutoff.
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
KEY_RING = KeyRing(SigningKey.generate())
RELEASER = Releaser(
    KEY_RING, MailIdentity("keysvc <keysvc@example.jp>", "example.jp"), BusinessCalendar()
)
# Accepted before addresses were checked as now: the API's old pattern let these in.
LEGACY = '"it dept"@example.jp'


@pytest.fixture
def connection(engine):
    with engine.begin() as conn:
        add_active_key(
            conn, KEY_RING.active.verifying_key, encrypt_private_key(KEY_RING.active, b"p"), NOW
        )
        yield conn


def _contract(connection, email="it@example.co.jp"):
    new = NewContract("", "neo-backup", "株式会社テスト", email, 10, date(2026, 11, 2), None)
    return create_contract(connection, new, NOW, ProductCatalogue())


def _submit(connection, contract, email=""):
    submission = Submission(contract.contract_number, "INITIAL", "fp1:server-a", email, "", "")
    return submit_key_request(connection, submission, SITE, NOW, BusinessCalendar())


def _store_address(connection, table, key, address):
    connection.execute(update(table).where(key).values(contact_email=address))


@pytest.mark.parametrize(
    "email",
    [
        "plain",
        "two@@at.example",
        "space in@x.example",
        "a@nodot",
        "x" * 250 + "@a.jp",
        LEGACY,
        "it(comment)@example.jp",
        "it\r\n@example.jp",
        "it\x00@example.jp",
        "i..t@example.jp",
        "it@[192.0.2.1]",
        "社員@example.jp",
        "a@example.jp,b@example.jp",
    ],
)
def test_an_address_that_cannot_be_mailed_is_refused_naming_the_field(connection, email) -> None:
    contract = _contract(connection)
    with pytest.raises(InvalidArgument) as caught:
        _submit(connection, contract, email)
    assert caught.value.reason == "INVALID_EMAIL"
    assert caught.value.field == "contact_email"


def test_the_refusal_repeats_only_the_start_of_the_value() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_email("contact_email", "x" * 300 + "\r\nBcc: everyone@example.jp")
    assert "x" * 13 not in caught.value.message
    assert "Bcc" not in caught.value.message
    assert "\r" not in caught.value.message
    assert caught.value.message.startswith("contact_email のメールアドレス 'xxxxxxxxxxxx…'")


def test_addresses_are_stored_in_their_normal_form(connection) -> None:
    # CreateContract's servicer checks its address with validate_email, as submissions do.
    assert validate_email("contact_email", "Support@例え.JP") == "support@xn--r8jz45g.jp"
    request = _submit(connection, _contract(connection), "IT@Bücher.DE")
    assert request.contact_email == "IT@xn--bcher-kva.de"


def test_a_contract_address_that_cannot_be_mailed_is_a_precondition_of_a_submission(
    connection,
) -> None:
    contract = _contract(connection)
    _store_address(
        connection, contracts, contracts.c.contract_number == contract.contract_number, LEGACY
    )
    with pytest.raises(ContactEmailUndeliverable) as caught:
        _submit(connection, contract)
    assert caught.value.reason == "CONTACT_EMAIL_UNDELIVERABLE"
    assert caught.value.metadata == {"contract_number": contract.contract_number}
    assert LEGACY not in caught.value.message
    # An address given with the request is used instead.
    assert _submit(connection, contract, "it@example.co.jp").state == "PENDING"


def test_releasing_to_a_stored_address_that_cannot_be_mailed_is_refused_not_failed(
    connection,
) -> None:
    contract = _contract(connection)
    request = _submit(connection, contract)
    _store_address(connection, key_requests, key_requests.c.id == request.id, LEGACY)
    # IssueKeyNow's path: a precondition, so FAILED_PRECONDITION rather than INTERNAL.
    with pytest.raises(ContactEmailUndeliverable) as caught:
        release(connection, get_key_request(connection, request.id), RELEASER, NOW)
    assert caught.value.metadata == {
        "key_request_id": request.id,
        "contract_number": contract.contract_number,
    }
    # The loop's path: HELD with that reason for staff, not RELEASE_FAILED.
    assert release_due(connection, NOW, RELEASER, NOW, limit=10) == DueRelease(1, 0)
    held = get_key_request(connection, request.id)
    assert (held.state, held.hold_reason) == ("HELD", "CONTACT_EMAIL_UNDELIVERABLE")
    assert find_outbox_entry(connection, request.id) is None


def test_a_release_mails_the_normal_form_of_a_stored_address(connection) -> None:
    contract = _contract(connection)
    request = _submit(connection, contract)
    _store_address(connection, key_requests, key_requests.c.id == request.id, "IT@例え.JP")
    release(connection, get_key_request(connection, request.id), RELEASER, NOW)
    entry = find_outbox_entry(connection, request.id)
    assert entry is not None
    assert entry.recipient == "IT@xn--r8jz45g.jp"


def test_stored_addresses_that_cannot_be_mailed_are_found(connection) -> None:
    fine, bad = _contract(connection), _contract(connection)
    waiting = _submit(connection, fine)
    released = _submit(connection, _contract(connection))
    release(connection, get_key_request(connection, released.id), RELEASER, NOW)
    _store_address(
        connection, contracts, contracts.c.contract_number == bad.contract_number, LEGACY
    )
    for request in (waiting, released):
        _store_address(connection, key_requests, key_requests.c.id == request.id, "a@b@c.jp")
    found = list(undeliverable_addresses(connection))
    assert [(item.resource, item.contract_number, item.state, item.address) for item in found] == [
        (f"contracts/{bad.contract_number}", bad.contract_number, "", LEGACY),
        (f"key_requests/{waiting.id}", fine.contract_number, "PENDING", "a@b@c.jp"),
    ]  # the released request is past mailing
    assert all(isinstance(item, UndeliverableContact) and item.problem for item in found)
