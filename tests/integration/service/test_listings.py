"""The admin lists over real SQLite and PostgreSQL: a list of key requests says of each
request's e-mail what GetKeyRequest says of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.key_request_repository import get_key_request
from keysvc.persistence.outbox_repository import find_outbox_entry, mark_failed_attempt, mark_sent
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request, view_key_request
from keysvc.service.listings import list_key_request_page, list_mail_deliveries
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release
from scheduler.calendar import BusinessCalendar
from signing import KeyRing, SigningKey, encrypt_private_key

ADMIN = Principal("admin000admin000", Role.ADMIN)
# Friday 2026-11-20, 10:00 JST: a business day before the cutoff.
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
KEY_RING = KeyRing(SigningKey.generate())
RELEASER = Releaser(
    KEY_RING, MailIdentity("keysvc <keysvc@example.jp>", "example.jp"), BusinessCalendar()
)


@pytest.fixture
def connection(engine):
    with engine.begin() as conn:
        add_active_key(
            conn, KEY_RING.active.verifying_key, encrypt_private_key(KEY_RING.active, b"p"), NOW
        )
        yield conn


def _request(connection):
    new = NewContract(
        "", "neo-backup", "株式会社テスト", "it@example.co.jp", 10, date(2026, 11, 2), None
    )
    contract = create_contract(connection, new, NOW, ProductCatalogue())
    submission = Submission(contract.contract_number, "INITIAL", "fp1:server-a", "", "", "")
    return submit_key_request(connection, submission, ADMIN, NOW, BusinessCalendar())


def _released(connection):
    request = _request(connection)
    release(connection, get_key_request(connection, request.id), RELEASER, NOW)
    entry = find_outbox_entry(connection, request.id)
    assert entry is not None
    return request, entry


def _page(connection, limit=50):
    return list_key_request_page(
        connection,
        limit=limit,
        after=None,
        contract_number="",
        state=None,
        at_risk=False,
        late=False,
    )


def test_a_list_gives_each_request_the_delivery_state_its_view_gives(connection) -> None:
    waiting = _request(connection)
    queued, _ = _released(connection)
    sent, sent_entry = _released(connection)
    failed, failed_entry = _released(connection)
    assert mark_sent(connection, sent_entry.id, NOW)
    assert mark_failed_attempt(
        connection,
        failed_entry.id,
        now=NOW,
        error="550 no such user",
        next_attempt_at=NOW + timedelta(minutes=1),
        give_up=True,
    )

    page = _page(connection)

    assert page.total == 4
    assert page.mail_states == {queued.id: "QUEUED", sent.id: "SENT", failed.id: "FAILED"}
    for record in page.records:
        view = view_key_request(connection, record.id, ADMIN)
        assert page.mail_states.get(record.id) == view.mail_state
    assert waiting.id not in page.mail_states


def test_a_page_reads_the_states_of_its_own_requests(connection) -> None:
    first, _ = _released(connection)
    _released(connection)
    page = _page(connection, limit=1)
    assert [record.id for record in page.records] == [first.id]
    assert page.mail_states == {first.id: "QUEUED"}


def test_mail_deliveries_are_listed_newest_first_with_the_failure_s_reason(connection) -> None:
    first, first_entry = _released(connection)
    failed, failed_entry = _released(connection)
    assert mark_failed_attempt(
        connection,
        failed_entry.id,
        now=NOW,
        error="550 5.1.1 no such user",
        next_attempt_at=NOW + timedelta(minutes=1),
        give_up=True,
    )
    listed = list_mail_deliveries(connection, limit=10, before=None, state=None)
    assert [d.key_request_id for d in listed] == [failed.id, first.id]
    (only_failed,) = list_mail_deliveries(connection, limit=10, before=None, state="FAILED")
    assert (only_failed.key_request_id, only_failed.state, only_failed.attempts) == (
        failed.id,
        "FAILED",
        0,
    )
    assert only_failed.last_error == "550 5.1.1 no such user"
    assert only_failed.recipient == "it@example.co.jp"
    assert not hasattr(only_failed, "message")
    # The next page starts below the last id shown.
    assert [
        d.key_request_id
        for d in list_mail_deliveries(connection, limit=10, before=failed_entry.id, state=None)
    ] == [first.id]
    assert first_entry.id < failed_entry.id
