"""The re-issue overlap over real SQLite and PostgreSQL: the previous key of a REISSUE
keeps working until the opening of the 5th business day after the release (SPEC 5a)."""

# ruff: noqa: RUF001
# Japanese text is written with full-width parentheses, as the e-mail has them.

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from keysvc.domain.errors import FailedPrecondition, NotFound
from keysvc.domain.lifecycle import LicenseStatus
from keysvc.domain.tokens import Principal, Role
from keysvc.mail.testing import parse_message
from keysvc.persistence.key_request_repository import get_key_request, get_license
from keysvc.persistence.schema import mail_outbox
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.closure_changes import create_closure, delete_closure, reschedule_waiting
from keysvc.service.contracts import NewContract, add_seats, create_contract
from keysvc.service.key_requests import (
    Submission,
    Submitted,
    submit_key_request,
    submit_key_requests,
    view_key_request,
)
from keysvc.service.licenses import end_reissue_overlap, revoke_license
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release
from scheduler.calendar import JST, BusinessCalendar, Closure
from signing import KeyRing, SigningKey, encrypt_private_key

SITE = Principal("site0000site0000", Role.SITE)
# Monday 2026-12-07, 10:00 JST: five business days on is Monday 2026-12-14, 09:00 JST.
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
OVERLAP_END = datetime(2026, 12, 14, 9, 0, tzinfo=JST)
CALENDAR = BusinessCalendar()
KEY_RING = KeyRing(SigningKey.generate())
RELEASER = Releaser(KEY_RING, MailIdentity("keysvc <keysvc@example.jp>", "example.jp"), CALENDAR)


@pytest.fixture
def connection(engine):
    with engine.begin() as conn:
        add_active_key(
            conn, KEY_RING.active.verifying_key, encrypt_private_key(KEY_RING.active, b"p"), MONDAY
        )
        yield conn


def _contract(connection, product):
    purchase = date(2026, 11, 2)
    return create_contract(
        connection,
        NewContract("", product, "株式会社テスト", "it@example.co.jp", 10, purchase, purchase),
        MONDAY,
        ProductCatalogue(),
    )


def _release(connection, contract, kind, now, **fields):
    defaults = {"fingerprint": "fp1:server-a", "contact_email": "", "previous_key": ""}
    defaults["previous_license_serial"] = ""
    submission = Submission(contract.contract_number, kind, **(defaults | fields))
    request = submit_key_request(connection, submission, SITE, now, CALENDAR)
    license_ = release(connection, get_key_request(connection, request.id), RELEASER, now)
    return request, license_


def _reissued(connection, product="neo-backup", now=MONDAY):
    contract = _contract(connection, product)
    _, first = _release(connection, contract, "INITIAL", now - timedelta(days=7))
    request, second = _release(
        connection,
        contract,
        "REISSUE",
        now,
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    return contract, first, request, second


@pytest.mark.parametrize("product", ["neo-backup", "neo-webconf"])
def test_the_previous_key_of_a_reissue_works_until_the_fifth_business_days_opening(
    connection, product
):
    _, first, request, second = _reissued(connection, product)
    old = get_license(connection, first.serial)
    assert old.status == LicenseStatus.SUPERSEDED
    assert old.superseded_by == second.serial
    assert old.supersede_at == OVERLAP_END
    assert get_license(connection, second.serial).supersede_at is None
    view = view_key_request(connection, request.id, SITE)
    assert view.previous_supersede_at == OVERLAP_END


def test_a_seats_change_supersedes_the_previous_key_at_its_release(connection):
    contract, _, _, second = _reissued(connection)
    later = MONDAY + timedelta(days=1)
    add_seats(connection, contract.contract_number, 5, date(2026, 12, 8))
    _, third = _release(
        connection,
        contract,
        "SEATS_CHANGE",
        later,
        fingerprint="",
        previous_license_serial=second.serial,
    )
    assert get_license(connection, second.serial).supersede_at == later
    assert third.seats == 15


def _closure(connection, first: date, last: date, now: datetime):
    return create_closure(connection, Closure(first, last, "臨時休業"), CALENDAR, now)[0]


def _end_of(connection, license_) -> datetime:
    return get_license(connection, license_.serial).supersede_at


def test_a_stored_closure_in_the_overlap_counts_at_release(connection):
    _closure(connection, date(2026, 12, 9), date(2026, 12, 10), MONDAY)
    _, first, _, _ = _reissued(connection)
    # Two business days closed: the fifth is Wednesday 2026-12-16.
    assert _end_of(connection, first) == datetime(2026, 12, 16, 9, 0, tzinfo=JST)


def test_a_closure_added_or_removed_during_the_overlap_moves_its_end(connection):
    _, first, _, _ = _reissued(connection)
    tuesday = MONDAY + timedelta(days=1)
    record = _closure(connection, date(2026, 12, 10), date(2026, 12, 10), tuesday)
    assert _end_of(connection, first) == datetime(2026, 12, 15, 9, 0, tzinfo=JST)
    delete_closure(connection, record.id, CALENDAR, tuesday)
    assert _end_of(connection, first) == OVERLAP_END
    # Running it again changes nothing.
    reschedule_waiting(connection, CALENDAR, tuesday)
    assert _end_of(connection, first) == OVERLAP_END


def test_an_overlap_that_has_ended_stays_ended(connection):
    _, first, _, _ = _reissued(connection)
    after = OVERLAP_END + timedelta(seconds=1)
    _closure(connection, date(2026, 12, 10), date(2026, 12, 11), after)
    assert _end_of(connection, first) == OVERLAP_END


def test_an_overlap_ending_exactly_now_is_over_and_not_moved(connection):
    _, first, _, _ = _reissued(connection)
    # The key stops at supersede_at: at that instant the overlap is over.
    _closure(connection, date(2026, 12, 8), date(2026, 12, 8), OVERLAP_END)
    assert _end_of(connection, first) == OVERLAP_END


def test_an_overlap_moved_earlier_than_now_ends_now(connection):
    record = _closure(connection, date(2026, 12, 8), date(2026, 12, 9), MONDAY)
    _, first, _, _ = _reissued(connection)
    assert _end_of(connection, first) == datetime(2026, 12, 16, 9, 0, tzinfo=JST)
    # Removed on Tuesday 2026-12-15 at noon: without it the overlap would have ended on
    # Monday 2026-12-14, in the past; it ends at the removal instead.
    noon = datetime(2026, 12, 15, 12, 0, tzinfo=JST)
    delete_closure(connection, record.id, CALENDAR, noon)
    assert _end_of(connection, first) == noon


def test_the_reissue_e_mail_says_until_when_the_old_key_works(connection):
    _, _, request, _ = _reissued(connection)
    raw = connection.execute(
        select(mail_outbox.c.message).where(mail_outbox.c.key_request_id == request.id)
    ).scalar_one()
    body = parse_message(bytes(raw)).get_content()
    until = "これまでのライセンスキーは、2026年12月14日 09:00（日本時間）まで"
    assert until + "引き続きご利用いただけます。" in body
    assert "発行をもって無効となりました" not in body


def test_staff_end_an_open_overlap_at_once_and_a_repeat_keeps_the_first_reason(connection):
    _, first, _, _ = _reissued(connection)
    tuesday = MONDAY + timedelta(days=1)
    ended = end_reissue_overlap(connection, first.serial, "old server still in use", tuesday)
    assert (ended.supersede_at, ended.supersede_reason) == (tuesday, "old server still in use")
    again = end_reissue_overlap(connection, first.serial, "again", tuesday + timedelta(hours=1))
    assert (again.supersede_at, again.supersede_reason) == (tuesday, "old server still in use")


def test_an_overlap_ended_by_itself_is_left_as_it_is(connection):
    _, first, _, _ = _reissued(connection)
    # At the end itself the overlap is over: nothing to end.
    ended = end_reissue_overlap(connection, first.serial, "late", OVERLAP_END)
    assert (ended.supersede_at, ended.supersede_reason) == (OVERLAP_END, None)


def test_only_a_superseded_license_has_an_overlap_to_end(connection):
    _, first, _, second = _reissued(connection)
    with pytest.raises(FailedPrecondition) as refused:
        end_reissue_overlap(connection, second.serial, "why", MONDAY)
    assert refused.value.reason == "LICENSE_ACTIVE"
    revoke_license(connection, first.serial, "cancelled", MONDAY)
    with pytest.raises(FailedPrecondition) as refused:
        end_reissue_overlap(connection, first.serial, "why", MONDAY)
    assert refused.value.reason == "LICENSE_REVOKED"


def test_an_unknown_license_is_not_found(connection):
    with pytest.raises(NotFound):
        end_reissue_overlap(connection, "L-NONE", "why", MONDAY)


def test_a_reissue_released_at_once_answers_until_when_the_old_key_works(connection):
    contract = _contract(connection, "neo-backup")
    _, first = _release(connection, contract, "INITIAL", MONDAY - timedelta(days=7))
    submission = Submission(
        contract.contract_number,
        "REISSUE",
        fingerprint="fp1:server-b",
        contact_email="",
        previous_license_serial=first.serial,
        previous_key="",
    )
    (accepted,) = submit_key_requests(
        connection, [Submitted(submission, SITE)], MONDAY, CALENDAR, lambda: RELEASER
    )
    assert accepted.license is not None
    assert accepted.previous_supersede_at == OVERLAP_END


def test_an_initial_request_released_at_once_supersedes_nothing(connection):
    contract = _contract(connection, "neo-backup")
    submission = Submission(
        contract.contract_number,
        "INITIAL",
        fingerprint="fp1:server-a",
        contact_email="",
        previous_license_serial="",
        previous_key="",
    )
    (accepted,) = submit_key_requests(
        connection, [Submitted(submission, SITE)], MONDAY, CALENDAR, lambda: RELEASER
    )
    assert accepted.license is not None
    assert accepted.previous_supersede_at is None
