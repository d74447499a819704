"""Submit and release use cases over real SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from keysvc.domain import SupportExpired
from keysvc.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.key_request_repository import active_license_of, get_key_request
from keysvc.persistence.outbox_repository import find_outbox_entry
from keysvc.persistence.schema import key_requests, licenses, mail_outbox, products
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import (
    Accepted,
    Submission,
    Submitted,
    require_key_request_for,
    submit_key_request,
    submit_key_requests,
)
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import (
    DueRelease,
    MailIdentity,
    Releaser,
    release,
    release_due,
    release_if_due,
)
from scheduler.calendar import JST, BusinessCalendar
from signing import KeyRing, SigningKey, encrypt_private_key

SITE = Principal("site0000site0000", Role.SITE)
MIGRATION = Principal("migr0000migr0000", Role.MIGRATION)
# Friday 2026-11-20, 10:00 JST: a business day before the cutoff.
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar()
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


def _contract(connection, *, purchase=date(2026, 11, 2), product="neo-backup"):
    return create_contract(
        connection,
        NewContract("", product, "株式会社テスト", "it@example.co.jp", 10, purchase, purchase),
        NOW,
        ProductCatalogue(),
    )


def _submit(connection, contract, kind="INITIAL", *, principal=SITE, now=NOW, **fields):
    defaults = {
        "fingerprint": "fp1:server-a",
        "contact_email": "",
        "previous_license_serial": "",
        "previous_key": "",
    }
    submission = Submission(contract.contract_number, kind, **(defaults | fields))
    return submit_key_request(connection, submission, principal, now, CALENDAR)


def _issue(connection, request, now=NOW):
    return release(connection, get_key_request(connection, request.id), RELEASER, now)


def test_a_same_day_request_is_due_today_and_releasable_at_once(connection) -> None:
    request = _submit(connection, _contract(connection))
    assert request.state == "PENDING"
    assert request.due_date == date(2026, 11, 20)
    assert request.release_at == NOW
    assert request.contact_email == "it@example.co.jp"  # the contract's, when none is given
    license_ = _issue(connection, request)
    assert license_.generation == 1
    assert license_.support_end == date(2027, 11, 30)
    assert get_key_request(connection, request.id).state == "RELEASED"


def test_a_release_queues_one_e_mail_with_the_key(connection) -> None:
    request = _submit(connection, _contract(connection), contact_email="admin@example.co.jp")
    license_ = _issue(connection, request)
    entry = find_outbox_entry(connection, request.id)
    assert entry is not None
    assert entry.state == "QUEUED"
    assert entry.message_id == f"<keysvc.{request.id}@example.jp>"
    message = connection.execute(
        select(mail_outbox.c.message).where(mail_outbox.c.key_request_id == request.id)
    ).scalar_one()
    message = bytes(message).decode()
    assert "To: admin@example.co.jp" in message
    assert f"X-Keysvc-Request-Id: {request.id}" in message
    assert license_.license_key in message


def test_a_request_is_released_only_once(connection) -> None:
    request = _submit(connection, _contract(connection))
    _issue(connection, request)
    with pytest.raises(FailedPrecondition) as caught:
        _issue(connection, request)
    assert caught.value.reason == "KEY_REQUEST_RELEASED"


def test_a_reissue_supersedes_and_counts_generations(connection) -> None:
    contract = _contract(connection)
    first = _issue(connection, _submit(connection, contract))
    reissue = _submit(
        connection,
        contract,
        "REISSUE",
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    second = _issue(connection, reissue)
    assert second.generation == 2
    assert active_license_of(connection, contract.contract_number).serial == second.serial


def test_the_previous_license_must_still_be_active_at_release(connection) -> None:
    contract = _contract(connection)
    first = _issue(connection, _submit(connection, contract))
    reissue = _submit(
        connection,
        contract,
        "REISSUE",
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    connection.execute(
        update(licenses).where(licenses.c.serial == first.serial).values(status="REVOKED")
    )
    with pytest.raises(FailedPrecondition) as caught:
        _issue(connection, reissue)
    assert caught.value.reason == "PREVIOUS_LICENSE_NOT_ACTIVE"


def test_one_open_request_per_contract(connection) -> None:
    contract = _contract(connection)
    waiting = _submit(connection, contract)
    with pytest.raises(FailedPrecondition) as caught:
        _submit(connection, contract)
    assert caught.value.reason == "KEY_REQUEST_PENDING"
    assert caught.value.metadata["key_request_id"] == waiting.id


def test_a_batch_of_submissions_is_decided_as_if_one_after_the_other(connection) -> None:
    first, proven, fresh = (_contract(connection) for _ in range(3))
    old = _issue(connection, _submit(connection, proven))
    ghost = "SS-1999-000001"

    def submitted(contract_number, kind="INITIAL", principal=SITE, **fields):
        defaults = {
            "fingerprint": "fp1:server-b",
            "contact_email": "",
            "previous_license_serial": "",
            "previous_key": "",
        }
        return Submitted(Submission(contract_number, kind, **(defaults | fields)), principal)

    outcomes = submit_key_requests(
        connection,
        [
            submitted(first.contract_number),
            submitted(first.contract_number),
            submitted(proven.contract_number, "REISSUE", MIGRATION, previous_key="x.y.z"),
            submitted(ghost),
            submitted(proven.contract_number, "REISSUE", MIGRATION, previous_key=old.license_key),
            submitted(fresh.contract_number),
        ],
        NOW,
        CALENDAR,
    )
    accepted, twin, forged, unknown, reissue, other = (
        outcome.request if isinstance(outcome, Accepted) else outcome for outcome in outcomes
    )
    assert (twin.reason, twin.metadata["key_request_id"]) == ("KEY_REQUEST_PENDING", accepted.id)
    assert (forged.field, type(forged)) == ("previous_key", InvalidArgument)
    assert unknown.reason == "CONTRACT_NOT_FOUND"
    assert reissue.previous_license_serial == old.serial
    stored = connection.execute(
        select(key_requests.c.id).where(key_requests.c.kind != "INITIAL")
    ).scalars()
    assert list(stored) == [reissue.id]
    for record in (accepted, reissue, other):
        assert get_key_request(connection, record.id) == record


def test_a_second_initial_key_is_refused(connection) -> None:
    contract = _contract(connection)
    _issue(connection, _submit(connection, contract))
    with pytest.raises(FailedPrecondition) as caught:
        _submit(connection, contract)
    assert caught.value.reason == "LICENSE_ALREADY_ISSUED"


def test_a_reissue_needs_coverage_on_the_acceptance_day(connection) -> None:
    contract = _contract(connection)
    first = _issue(connection, _submit(connection, contract))
    after_the_period = datetime(2027, 12, 6, 1, 0, tzinfo=UTC)
    with pytest.raises(SupportExpired):
        _submit(
            connection,
            contract,
            "REISSUE",
            fingerprint="fp1:server-b",
            previous_license_serial=first.serial,
            now=after_the_period,
        )


def test_the_fourth_reissue_within_a_year_is_held(connection) -> None:
    contract = _contract(connection)
    license_ = _issue(connection, _submit(connection, contract))
    for day in range(3):
        now = NOW + timedelta(days=day * 7)
        request = _submit(
            connection,
            contract,
            "REISSUE",
            fingerprint=f"fp1:server-{day}",
            previous_license_serial=license_.serial,
            now=now,
        )
        assert request.state == "PENDING"
        license_ = _issue(connection, request, now)
    fourth = _submit(
        connection,
        contract,
        "REISSUE",
        fingerprint="fp1:server-4",
        previous_license_serial=license_.serial,
        now=NOW + timedelta(days=30),
    )
    assert fourth.state == "HELD"
    assert fourth.hold_reason == "REISSUE_LIMIT"


def test_a_reissue_names_the_license_it_replaces(connection) -> None:
    contract = _contract(connection)
    _issue(connection, _submit(connection, contract))
    with pytest.raises(InvalidArgument) as caught:
        _submit(connection, contract, "REISSUE", fingerprint="fp1:server-b")
    assert caught.value.field == "previous_license_serial"


def test_a_license_of_another_contract_cannot_be_replaced(connection) -> None:
    mine, other = _contract(connection), _contract(connection)
    theirs = _issue(connection, _submit(connection, other))
    _issue(connection, _submit(connection, mine))
    with pytest.raises(FailedPrecondition) as caught:
        _submit(
            connection,
            mine,
            "REISSUE",
            fingerprint="fp1:server-b",
            previous_license_serial=theirs.serial,
        )
    assert caught.value.reason == "PREVIOUS_LICENSE_NOT_FOUND"


def test_migration_tokens_submit_proven_reissues_only(connection) -> None:
    contract = _contract(connection)
    with pytest.raises(PermissionDenied):
        _submit(connection, contract, principal=MIGRATION)


def test_a_migration_token_reads_only_the_requests_it_submitted(connection) -> None:
    contract = _contract(connection)
    old = _issue(connection, _submit(connection, contract))
    ours = _submit(
        connection,
        contract,
        "REISSUE",
        principal=MIGRATION,
        fingerprint="fp1:server-b",
        previous_key=old.license_key,
    )
    sites = _submit(connection, _contract(connection))
    other_migration = Principal("migr1111migr1111", Role.MIGRATION)
    assert require_key_request_for(connection, ours.id, MIGRATION).id == ours.id
    for principal, request_id in [(MIGRATION, sites.id), (other_migration, ours.id)]:
        with pytest.raises(NotFound) as theirs:
            require_key_request_for(connection, request_id, principal)
        with pytest.raises(NotFound) as missing:
            require_key_request_for(connection, "kr_missing", principal)
        # Word for word what a missing id gets but for the id itself: nothing to probe.
        assert theirs.value.reason == missing.value.reason == "KEY_REQUEST_NOT_FOUND"
        assert theirs.value.message.replace(request_id, "ID") == missing.value.message.replace(
            "kr_missing", "ID"
        )
    admin = Principal("admi0000admi0000", Role.ADMIN)
    for principal in (SITE, admin):
        assert require_key_request_for(connection, ours.id, principal).id == ours.id
        assert require_key_request_for(connection, sites.id, principal).id == sites.id


def test_an_unknown_contract_is_not_found(connection) -> None:
    ghost = NewContract("SS-1999-000001", "neo-backup", "x", "a@b.example", 1, NOW.date(), None)
    with pytest.raises(NotFound) as caught:
        _submit(connection, ghost)
    assert caught.value.reason == "CONTRACT_NOT_FOUND"


def test_contract_numbers_are_sequential_per_year(connection) -> None:
    first, second = _contract(connection), _contract(connection)
    assert first.contract_number == "SS-2026-000001"
    assert second.contract_number == "SS-2026-000002"


@pytest.mark.parametrize(
    "email", ["plain", "two@@at.example", "space in@x.example", "a@nodot", "x" * 250 + "@a.jp"]
)
def test_bad_contact_addresses_are_refused(connection, email) -> None:
    contract = _contract(connection)
    with pytest.raises(InvalidArgument) as caught:
        _submit(connection, contract, contact_email=email)
    assert caught.value.field == "contact_email"


def test_a_due_request_that_cannot_be_released_is_held_and_the_batch_goes_on(connection) -> None:
    blocked_contract, fine_contract = _contract(connection), _contract(connection)
    first = _issue(connection, _submit(connection, blocked_contract))
    blocked = _submit(
        connection,
        blocked_contract,
        "REISSUE",
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    fine = _submit(connection, fine_contract)
    connection.execute(
        update(licenses).where(licenses.c.serial == first.serial).values(status="REVOKED")
    )
    assert release_due(connection, NOW, RELEASER, NOW, limit=10) == DueRelease(2, 1)
    held = get_key_request(connection, blocked.id)
    assert held.state == "HELD"
    assert held.hold_reason == "PREVIOUS_LICENSE_NOT_ACTIVE"
    assert get_key_request(connection, fine.id).state == "RELEASED"
    assert release_due(connection, NOW, RELEASER, NOW, limit=10) == DueRelease(0, 0)


def test_a_batch_decides_requests_of_one_contract_in_order_as_if_one_by_one(connection) -> None:
    # The API keeps one open request per contract; rows written behind its back (or a
    # future path) must still never give a contract two ACTIVE licenses.
    contract = _contract(connection)
    first = _issue(connection, _submit(connection, contract))
    reissue = _submit(
        connection,
        contract,
        "REISSUE",
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    twin = {
        **connection.execute(select(key_requests).where(key_requests.c.id == reissue.id))
        .one()
        ._mapping,
        # Sorts before every generated id ("0" is not in base32), so the claim, ordered
        # by release time and id, hands the later twin over first.
        "id": "kr_0twin",
        "accepted_at": NOW + timedelta(seconds=1),
    }
    connection.execute(key_requests.insert(), twin)
    outcome = release_due(connection, NOW + timedelta(seconds=1), RELEASER, NOW, limit=10)
    assert outcome == DueRelease(claimed=2, released=1)
    assert get_key_request(connection, reissue.id).state == "RELEASED"
    held = get_key_request(connection, "kr_0twin")
    assert (held.state, held.hold_reason) == ("HELD", "PREVIOUS_LICENSE_NOT_ACTIVE")
    statuses = dict(
        connection.execute(
            select(licenses.c.generation, licenses.c.status).where(
                licenses.c.contract_number == contract.contract_number
            )
        ).all()
    )
    assert statuses == {1: "SUPERSEDED", 2: "ACTIVE"}


def test_a_batch_of_many_contracts_writes_each_release_in_full(connection) -> None:
    contracts = [_contract(connection) for _ in range(25)]
    firsts = [_issue(connection, _submit(connection, c)) for c in contracts[:10]]
    requests = [
        _submit(
            connection, c, "REISSUE", fingerprint="fp1:new-server", previous_license_serial=f.serial
        )
        for c, f in zip(contracts[:10], firsts, strict=True)
    ] + [_submit(connection, c) for c in contracts[10:]]
    assert release_due(connection, NOW, RELEASER, NOW, limit=100) == DueRelease(25, 25)
    for request in requests:
        stored = get_key_request(connection, request.id)
        assert stored.state == "RELEASED"
        assert find_outbox_entry(connection, request.id) is not None
        active = active_license_of(connection, request.contract_number)
        assert active is not None
        assert active.serial == stored.license_serial
        assert active.key_request_id == request.id
    for first, request in zip(firsts, requests[:10], strict=True):
        old = connection.execute(select(licenses).where(licenses.c.serial == first.serial)).one()
        assert (old.status, old.superseded_by) == (
            "SUPERSEDED",
            get_key_request(connection, request.id).license_serial,
        )


def test_a_batch_records_each_request_late_by_the_tokyo_day_and_with_its_license(
    connection,
) -> None:
    friday = _submit(connection, _contract(connection))
    friday_evening = _submit(connection, _contract(connection), now=NOW + timedelta(hours=9))
    due = get_key_request(connection, friday_evening.id).due_date
    # 00:30 in Tokyo the day after that due date, which is still the due date in UTC.
    released_at = datetime.combine(due + timedelta(days=1), time(0, 30), tzinfo=JST).astimezone(UTC)
    assert released_at.date() == due
    overnight = _submit(connection, _contract(connection), now=released_at - timedelta(minutes=10))
    assert get_key_request(connection, overnight.id).due_date == due + timedelta(days=1)
    outcome = release_due(connection, released_at + timedelta(days=7), RELEASER, released_at, 10)
    assert outcome == DueRelease(claimed=3, released=3)
    serials = dict(connection.execute(select(licenses.c.key_request_id, licenses.c.serial)).all())
    recorded = {
        request.id: get_key_request(connection, request.id)
        for request in (friday, friday_evening, overnight)
    }
    assert {id_: r.released_late for id_, r in recorded.items()} == {
        friday.id: True,
        friday_evening.id: True,
        overnight.id: False,
    }
    assert {id_: r.license_serial for id_, r in recorded.items()} == serials
    assert {r.released_at for r in recorded.values()} == {released_at}


def test_a_request_due_at_acceptance_is_released_at_once_and_a_later_one_is_not(
    connection,
) -> None:
    same_day = _submit(connection, _contract(connection))
    released = release_if_due(connection, [same_day], RELEASER, NOW)
    assert list(released) == [same_day.id]
    assert get_key_request(connection, same_day.id).license_serial == released[same_day.id].serial
    evening = NOW + timedelta(hours=9)  # 19:00 JST: after the cutoff
    next_day = _submit(connection, _contract(connection), now=evening)
    assert release_if_due(connection, [next_day], RELEASER, evening) == {}
    assert get_key_request(connection, next_day.id).state == "PENDING"


def test_a_release_at_acceptance_that_fails_unexpectedly_releases_the_others(
    connection, caplog
) -> None:
    poison = _submit(connection, _contract(connection, product="neo-webconf"))
    fine = _submit(connection, _contract(connection))
    # Composing the e-mail of this product now raises, which no release rule foresees.
    connection.execute(
        update(products)
        .where(products.c.code == "neo-webconf")
        .values(display_name="desknet's NEO\nWeb会議")
    )
    with caplog.at_level(logging.ERROR, logger="keysvc.service.release"):
        released = release_if_due(connection, [poison, fine], RELEASER, NOW)
    assert list(released) == [fine.id]
    assert get_key_request(connection, fine.id).state == "RELEASED"
    assert get_key_request(connection, poison.id).state == "PENDING"  # the loop holds it
    failures = [record for record in caplog.records if record.exc_info is not None]
    assert [getattr(record, "key_request_id", None) for record in failures] == [poison.id]
