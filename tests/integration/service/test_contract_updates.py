"""UpdateContract's use case over real SQLite and PostgreSQL: the named fields change,
and a new address follows the contract's waiting requests that took the old one."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from keysvc.domain.errors import NotFound
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.key_request_repository import get_key_request
from keysvc.persistence.outbox_repository import find_outbox_entry
from keysvc.persistence.schema import contracts
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.contracts import (
    ContactChange,
    NewContract,
    create_contract,
    require_contract,
    update_contract,
)
from keysvc.service.key_requests import (
    Submission,
    reject_key_request,
    submit_key_request,
)
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release
from scheduler.calendar import BusinessCalendar
from signing import KeyRing, SigningKey, encrypt_private_key

SITE = Principal("site0000site0000", Role.SITE)
# Friday 2026-11-20, 10:00 JST: a business day before the cutoff.
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
KEY_RING = KeyRing(SigningKey.generate())
RELEASER = Releaser(
    KEY_RING, MailIdentity("keysvc <keysvc@example.jp>", "example.jp"), BusinessCalendar()
)
OLD, NEW = "it@example.co.jp", "new-it@example.co.jp"


@pytest.fixture
def connection(engine):
    with engine.begin() as conn:
        add_active_key(
            conn, KEY_RING.active.verifying_key, encrypt_private_key(KEY_RING.active, b"p"), NOW
        )
        yield conn


def _contract(connection, email=OLD):
    new = NewContract("", "neo-backup", "株式会社テスト", email, 10, date(2026, 11, 2), None)
    return create_contract(connection, new, NOW, ProductCatalogue())


def _submit(connection, number, email="", fingerprint="fp1:server-a"):
    submission = Submission(number, "INITIAL", fingerprint, email, "", "")
    return submit_key_request(connection, submission, SITE, NOW, BusinessCalendar())


def test_only_the_fields_named_change(connection) -> None:
    number = _contract(connection).contract_number
    updated = update_contract(connection, number, ContactChange(customer_name="株式会社新社名"))
    assert updated.changed_fields == ("customer_name",)
    assert (updated.contract.customer_name, updated.contract.contact_email) == (
        "株式会社新社名",
        OLD,
    )
    assert require_contract(connection, number) == updated.contract


def test_setting_the_values_it_has_changes_nothing(connection) -> None:
    contract = _contract(connection)
    updated = update_contract(
        connection, contract.contract_number, ContactChange("株式会社テスト", OLD)
    )
    assert (updated.changed_fields, updated.readdressed_requests) == ((), 0)
    assert updated.contract == contract


def test_an_unknown_contract_is_not_found(connection) -> None:
    with pytest.raises(NotFound) as caught:
        update_contract(connection, "SS-2026-999999", ContactChange(customer_name="x"))
    assert caught.value.reason == "CONTRACT_NOT_FOUND"


def test_a_new_address_goes_to_waiting_requests_that_took_the_contract_s(connection) -> None:
    number = _contract(connection).contract_number
    took_contracts = _submit(connection, number)
    updated = update_contract(connection, number, ContactChange(contact_email=NEW))
    assert updated.changed_fields == ("contact_email",)
    assert updated.readdressed_requests == 1
    assert get_key_request(connection, took_contracts.id).contact_email == NEW
    # Its key is then mailed to the new address.
    release(connection, get_key_request(connection, took_contracts.id), RELEASER, NOW)
    entry = find_outbox_entry(connection, took_contracts.id)
    assert entry is not None
    assert entry.recipient == NEW


def test_a_request_with_an_address_of_its_own_keeps_it(connection) -> None:
    number = _contract(connection).contract_number
    own = _submit(connection, number, "someone@example.co.jp")
    assert (
        update_contract(connection, number, ContactChange(contact_email=NEW)).readdressed_requests
        == 0
    )
    assert get_key_request(connection, own.id).contact_email == "someone@example.co.jp"


def test_released_and_rejected_requests_keep_the_address_they_had(connection) -> None:
    number = _contract(connection).contract_number
    released = _submit(connection, number)
    release(connection, get_key_request(connection, released.id), RELEASER, NOW)
    other = _contract(connection).contract_number
    rejected = _submit(connection, other)
    reject_key_request(
        connection, rejected.id, "no", principal=SITE, now=NOW, calendar=BusinessCalendar()
    )
    for contract_number in (number, other):
        update_contract(connection, contract_number, ContactChange(contact_email=NEW))
    assert get_key_request(connection, released.id).contact_email == OLD
    assert get_key_request(connection, rejected.id).contact_email == OLD


def test_a_request_that_took_the_normal_form_of_the_contract_s_address_follows(
    connection,
) -> None:
    number = _contract(connection).contract_number
    # Stored before addresses were normalised: a submission stored the normal form.
    connection.execute(
        update(contracts)
        .where(contracts.c.contract_number == number)
        .values(contact_email="IT@例え.JP")
    )
    waiting = _submit(connection, number)
    assert waiting.contact_email == "IT@xn--r8jz45g.jp"
    update_contract(connection, number, ContactChange(contact_email=NEW))
    assert get_key_request(connection, waiting.id).contact_email == NEW


def test_another_contract_s_requests_are_left_alone(connection) -> None:
    number = _contract(connection).contract_number
    other = _submit(connection, _contract(connection).contract_number)
    update_contract(connection, number, ContactChange(contact_email=NEW))
    assert get_key_request(connection, other.id).contact_email == OLD
