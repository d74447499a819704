"""Resending a released key's e-mail over real SQLite and PostgreSQL (issue #20): a message
of its own, to the stored or a corrected address, never for a request not released."""

# ruff: noqa: RUF001
# Japanese text is written with full-width parentheses, as the e-mail has them.

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from keysvc.domain.errors import FailedPrecondition, InvalidArgument
from keysvc.domain.lifecycle import KeyRequestKind
from keysvc.domain.tokens import Principal, Role
from keysvc.mail.testing import parse_message
from keysvc.persistence.key_request_repository import get_key_request
from keysvc.persistence.outbox_repository import delivery_state, mark_sent
from keysvc.persistence.schema import key_requests, mail_outbox
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.addresses import ContactEmailUndeliverable
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_mail_resend import resend_key_mail
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release
from scheduler.calendar import BusinessCalendar
from signing import KeyRing, SigningKey, encrypt_private_key

ADMIN = Principal("admin000admin000", Role.ADMIN)
SITE = Principal("site0000site0000", Role.SITE)
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 10:00 JST
LATER = MONDAY + timedelta(days=2, hours=3)
CALENDAR = BusinessCalendar()
KEY_RING = KeyRing(SigningKey.generate())
MAIL = MailIdentity("keysvc <keysvc@example.jp>", "example.jp")


@pytest.fixture
def connection(engine):
    with engine.begin() as conn:
        add_active_key(
            conn, KEY_RING.active.verifying_key, encrypt_private_key(KEY_RING.active, b"p"), MONDAY
        )
        yield conn


def _request(connection, *, released=True):
    purchase = date(2026, 11, 2)
    contract = create_contract(
        connection,
        NewContract("", "neo-backup", "株式会社テスト", "it@example.co.jp", 10, purchase, purchase),
        MONDAY,
        ProductCatalogue(),
    )
    submission = Submission(
        contract.contract_number, KeyRequestKind.INITIAL, "fp1:server-a", "", "", ""
    )
    # After 17:00 JST: waits for the next business day unless released by hand.
    accepted = MONDAY + timedelta(hours=9) if not released else MONDAY
    request = submit_key_request(connection, submission, SITE, accepted, CALENDAR)
    if released:
        release(
            connection,
            get_key_request(connection, request.id),
            Releaser(KEY_RING, MAIL, CALENDAR),
            MONDAY,
        )
    return get_key_request(connection, request.id)


def _messages(connection, request_id):
    rows = connection.execute(
        select(mail_outbox.c.message_id, mail_outbox.c.recipient, mail_outbox.c.message)
        .where(mail_outbox.c.key_request_id == request_id)
        .order_by(mail_outbox.c.id)
    ).all()
    return [(row.message_id, row.recipient, parse_message(row.message)) for row in rows]


def test_a_resend_is_a_message_of_its_own_to_the_stored_address(connection):
    request = _request(connection)
    view = resend_key_mail(connection, request.id, None, mail=MAIL, principal=ADMIN, now=LATER)
    (first_id, _, first), (second_id, recipient, second) = _messages(connection, request.id)
    assert first_id == f"<keysvc.{request.id}@example.jp>"
    assert second_id == f"<keysvc.{request.id}.resend1@example.jp>"
    assert recipient == "it@example.co.jp"
    assert second["Subject"] == first["Subject"]
    assert second["Date"] != first["Date"]
    body = second.get_body(preferencelist=("plain",)).get_content()
    assert body.startswith(
        "※ 本メールは、2026年12月7日 10:00（日本時間）にお送りしたお知らせの再送です。"
    )
    assert view.license_key in body
    assert view.mail_state == "QUEUED"


def test_a_second_resend_is_numbered_after_the_first(connection):
    request = _request(connection)
    for hours in (1, 2):
        resend_key_mail(
            connection, request.id, None, mail=MAIL, principal=ADMIN,
            now=LATER + timedelta(hours=hours),
        )  # fmt: skip
    ids = [message_id for message_id, _, _ in _messages(connection, request.id)]
    assert ids[1:] == [
        f"<keysvc.{request.id}.resend1@example.jp>",
        f"<keysvc.{request.id}.resend2@example.jp>",
    ]


def test_a_corrected_address_gets_the_resend_and_stays_with_the_request(connection):
    request = _request(connection)
    resend_key_mail(
        connection, request.id, "IT-Desk@Example.CO.JP", mail=MAIL, principal=ADMIN, now=LATER
    )
    (_, first_to, _), (_, second_to, second) = _messages(connection, request.id)
    assert first_to == "it@example.co.jp"
    assert second_to == second["To"] == "IT-Desk@example.co.jp"
    assert get_key_request(connection, request.id).contact_email == "IT-Desk@example.co.jp"


def test_an_undeliverable_correction_is_refused_and_nothing_queued(connection):
    request = _request(connection)
    with pytest.raises(InvalidArgument) as refused:
        resend_key_mail(
            connection, request.id, "not an address", mail=MAIL, principal=ADMIN, now=LATER
        )
    assert refused.value.metadata["field"] == "contact_email"
    assert len(_messages(connection, request.id)) == 1


def test_only_a_released_key_can_be_sent_again(connection):
    request = _request(connection, released=False)
    with pytest.raises(FailedPrecondition) as refused:
        resend_key_mail(connection, request.id, None, mail=MAIL, principal=ADMIN, now=LATER)
    assert refused.value.reason == "KEY_REQUEST_NOT_RELEASED"
    assert _messages(connection, request.id) == []


def test_the_request_shows_its_latest_e_mail_s_state(connection):
    request = _request(connection)
    ((first_id, _, _),) = _messages(connection, request.id)
    row_id = connection.execute(
        select(mail_outbox.c.id).where(mail_outbox.c.message_id == first_id)
    ).scalar_one()
    mark_sent(connection, row_id, MONDAY + timedelta(minutes=1))
    assert delivery_state(connection, request.id) == "SENT"
    resend_key_mail(connection, request.id, None, mail=MAIL, principal=ADMIN, now=LATER)
    assert delivery_state(connection, request.id) == "QUEUED"


def test_a_stored_address_that_cannot_be_mailed_asks_for_a_correction(connection):
    request = _request(connection)
    # Stored before addresses were checked as now.
    connection.execute(
        update(key_requests)
        .where(key_requests.c.id == request.id)
        .values(contact_email="it@localhost")
    )
    with pytest.raises(ContactEmailUndeliverable) as refused:
        resend_key_mail(connection, request.id, None, mail=MAIL, principal=ADMIN, now=LATER)
    assert refused.value.metadata["key_request_id"] == request.id
    assert len(_messages(connection, request.id)) == 1
    resend_key_mail(
        connection, request.id, "it@example.co.jp", mail=MAIL, principal=ADMIN, now=LATER
    )
    assert len(_messages(connection, request.id)) == 2
