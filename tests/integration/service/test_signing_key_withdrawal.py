"""Withdrawing a signing key over real SQLite and PostgreSQL (SPEC 5a, docs/signing-keys.md):
the key leaves the published keys, every key it signed is INVALID, and each ACTIVE
license it signed gets a replacement key from the release loop."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from keysvc.domain.errors import FailedPrecondition, NotFound
from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState, LicenseStatus
from keysvc.domain.tokens import Principal, Role
from keysvc.mail.testing import parse_message
from keysvc.persistence.key_request_repository import (
    get_key_request,
    get_license,
    reissue_times_of,
)
from keysvc.persistence.schema import key_requests, mail_outbox
from keysvc.persistence.signing_key_repository import list_signing_keys
from keysvc.persistence.status_list_repository import published_lists
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.licenses import revoke_license, verify_license_key
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release, release_due
from keysvc.service.signing_key_withdrawal import signing_key_views, withdraw_signing_key
from keysvc.service.signing_keys import SigningKeys
from keysvc.service.status_publication import StatusPublisher
from scheduler.calendar import BusinessCalendar
from scheduler.clock import FixedClock
from signing import StatusOutcome, check_status, parse_status_list_token

BASE = "https://status.example.jp"
ADMIN = Principal("admin000admin000", Role.ADMIN)
SITE = Principal("site0000site0000", Role.SITE)
# Monday 2026-12-07, 10:00 JST.
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar()
PASSPHRASE = b"withdrawal test passphrase"
MAIL = MailIdentity("keysvc <keysvc@example.jp>", "example.jp")


@pytest.fixture
def clock():
    return FixedClock(MONDAY - timedelta(days=7))


@pytest.fixture
def keys(engine, clock):
    signing_keys = SigningKeys(engine, PASSPHRASE, clock)
    signing_keys.ensure_active_key()
    return signing_keys


def _releaser(engine, keys) -> Releaser:
    with engine.connect() as connection:
        return Releaser(keys.key_ring(connection), MAIL, CALENDAR, BASE)


def _contract(engine, name="株式会社テスト"):
    purchase = date(2026, 11, 2)
    with engine.begin() as connection:
        return create_contract(
            connection,
            NewContract("", "neo-backup", name, "it@example.co.jp", 10, purchase, purchase),
            MONDAY - timedelta(days=30),
            ProductCatalogue(),
        )


def _submit(engine, contract, kind, now, **fields):
    defaults = {"fingerprint": "fp1:server-a", "contact_email": "", "previous_key": ""}
    submission = Submission(
        contract.contract_number, kind, **(defaults | {"previous_license_serial": ""} | fields)
    )
    with engine.begin() as connection:
        return submit_key_request(connection, submission, SITE, now, CALENDAR)


def _issue(engine, keys, contract, kind=KeyRequestKind.INITIAL, now=None, **fields):
    now = now or MONDAY - timedelta(days=7)
    request = _submit(engine, contract, kind, now, **fields)
    releaser = _releaser(engine, keys)
    with engine.begin() as connection:
        return release(connection, get_key_request(connection, request.id), releaser, now)


def _rotate(engine, keys) -> str:
    with engine.begin() as connection:
        old = next(key.kid for key in list_signing_keys(connection) if key.active)
        keys.rotate(connection)
    return old


def _withdraw(engine, kid, now=MONDAY, reason="秘密鍵漏えいの疑い"):
    with engine.begin() as connection:
        return withdraw_signing_key(connection, kid, reason, ADMIN, now)


def _release_due(engine, keys, as_of):
    releaser = _releaser(engine, keys)
    with engine.begin() as connection:
        return release_due(connection, as_of, releaser, as_of, 200)


def _replacements(engine):
    with engine.connect() as connection:
        rows = connection.execute(
            select(key_requests).where(key_requests.c.kind == KeyRequestKind.REPLACEMENT)
        ).all()
    return {row.previous_license_serial: row for row in rows}


def test_the_active_key_cannot_be_withdrawn(engine, keys):
    with engine.connect() as connection:
        (active,) = list_signing_keys(connection)
    with pytest.raises(FailedPrecondition) as refused:
        _withdraw(engine, active.kid)
    assert refused.value.reason == "SIGNING_KEY_ACTIVE"


def test_an_unknown_key_is_not_found(engine, keys):
    with pytest.raises(NotFound) as refused:
        _withdraw(engine, "no-such-kid")
    assert refused.value.reason == "SIGNING_KEY_NOT_FOUND"


def test_a_withdrawn_key_leaves_the_published_keys(engine, keys):
    old = _rotate(engine, keys)
    view = _withdraw(engine, old)
    assert view.key.withdrawn_at == MONDAY
    assert view.key.withdraw_reason == "秘密鍵漏えいの疑い"
    with engine.connect() as connection:
        assert old not in {key.kid for key in list_signing_keys(connection)}
        assert old in {key.kid for key in list_signing_keys(connection, withdrawn=True)}
        ring = keys.key_ring(connection)
    assert old not in ring.verifying_keys


def test_each_active_license_it_signed_gets_one_replacement_due_now(engine, keys):
    first, second, revoked = (_contract(engine, f"株式会社{n}") for n in "ABC")
    licenses = [_issue(engine, keys, contract) for contract in (first, second, revoked)]
    with engine.begin() as connection:
        revoke_license(connection, licenses[2].serial, "契約解除", MONDAY - timedelta(days=1))
    old = _rotate(engine, keys)
    # Signed by the new key: not replaced.
    newer = _issue(engine, keys, _contract(engine, "株式会社D"), now=MONDAY - timedelta(hours=1))
    view = _withdraw(engine, old)
    replacements = _replacements(engine)
    assert set(replacements) == {licenses[0].serial, licenses[1].serial}
    assert newer.serial not in replacements
    for license_ in licenses[:2]:
        request = replacements[license_.serial]
        assert request.state == KeyRequestState.PENDING
        assert request.release_at == MONDAY
        assert request.due_date == date(2026, 12, 7)
        assert request.fingerprint_hash == license_.fingerprint_hash
        assert request.contract_number == license_.contract_number
        assert request.contact_email == "it@example.co.jp"
        assert request.created_by_token_id == ADMIN.token_id
    assert (view.replacements_total, view.replacements_released) == (2, 0)


def test_withdrawing_twice_keeps_the_first_reason_and_asks_for_nothing_more(engine, keys):
    _issue(engine, keys, _contract(engine))
    old = _rotate(engine, keys)
    _withdraw(engine, old)
    again = _withdraw(engine, old, now=MONDAY + timedelta(hours=1), reason="二度目")
    assert again.key.withdraw_reason == "秘密鍵漏えいの疑い"
    assert again.key.withdrawn_at == MONDAY
    assert len(_replacements(engine)) == 1


def test_the_release_loop_signs_the_replacements_with_the_active_key(engine, keys):
    contract = _contract(engine)
    license_ = _issue(engine, keys, contract)
    old = _rotate(engine, keys)
    _withdraw(engine, old)
    assert _release_due(engine, keys, MONDAY).released == 1
    request = _replacements(engine)[license_.serial]
    with engine.connect() as connection:
        replaced = get_license(connection, license_.serial)
        replacement = get_license(connection, request.license_serial)
        (mail,) = connection.execute(
            select(mail_outbox.c.message).where(mail_outbox.c.key_request_id == request.id)
        ).scalars()
        (view,) = [v for v in signing_key_views(connection) if v.key.kid == old]
    assert replacement.kid != old
    assert replacement.generation == license_.generation + 1
    assert replacement.fingerprint_hash == license_.fingerprint_hash
    assert replacement.status == LicenseStatus.ACTIVE
    assert (replaced.status, replaced.supersede_at) == (LicenseStatus.SUPERSEDED, MONDAY)
    assert replaced.superseded_by == replacement.serial
    assert "署名鍵の更新" in parse_message(mail)["Subject"]
    assert (view.replacements_total, view.replacements_released) == (1, 1)
    # Not a re-issue: the yearly limit does not count it.
    with engine.connect() as connection:
        assert (
            reissue_times_of(connection, [contract.contract_number], MONDAY.replace(year=2025))
            == {}
        )


def test_a_key_signed_by_a_withdrawn_key_is_refused_as_such(engine, keys):
    license_ = _issue(engine, keys, _contract(engine))
    old = _rotate(engine, keys)
    _withdraw(engine, old)
    with engine.connect() as connection:
        verification = verify_license_key(connection, license_.license_key, None)
    assert verification.error is not None
    assert verification.error.reason == "LICENSE_KEY_SIGNING_KEY_WITHDRAWN"


def test_every_key_a_withdrawn_key_signed_is_invalid_in_the_next_list(engine, keys, clock):
    license_ = _issue(engine, keys, _contract(engine))
    publisher = StatusPublisher(engine, keys, clock)
    clock.set(MONDAY - timedelta(minutes=1))
    publisher.publish_batch()
    old = _rotate(engine, keys)
    # The key as a product holds it, checked with the keys published before the withdrawal.
    with engine.connect() as connection:
        before = keys.key_ring(connection).verifier()
    old_key = before.verify(license_.license_key)
    _withdraw(engine, old)
    clock.set(MONDAY)
    _release_due(engine, keys, MONDAY)
    publisher.publish_batch()
    replacement_serial = _replacements(engine)[license_.serial].license_serial
    with engine.connect() as connection:
        (published,) = published_lists(connection)
        ring = keys.key_ring(connection)
        replacement = get_license(connection, replacement_serial)
    status_list = parse_status_list_token(
        published.token, ring.verifying_keys, expected_uri=published.uri
    )
    assert check_status(old_key, status_list, now=MONDAY.timestamp()) is StatusOutcome.INVALID
    new_key = ring.verifier().verify(replacement.license_key)
    assert check_status(new_key, status_list, now=MONDAY.timestamp()) is StatusOutcome.VALID


def test_a_reissue_waiting_when_the_replacement_is_released_moves_to_the_replacement(engine, keys):
    contract = _contract(engine)
    license_ = _issue(engine, keys, contract)
    # Monday 18:00 JST, after the cutoff: released at Tuesday's opening.
    evening = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    reissue = _submit(
        engine,
        contract,
        KeyRequestKind.REISSUE,
        evening,
        fingerprint="fp1:server-b",
        previous_license_serial=license_.serial,
    )
    old = _rotate(engine, keys)
    _withdraw(engine, old, now=evening + timedelta(minutes=1))
    _release_due(engine, keys, evening + timedelta(minutes=1))
    replacement_serial = _replacements(engine)[license_.serial].license_serial
    with engine.connect() as connection:
        waiting = get_key_request(connection, reissue.id)
    assert waiting.previous_license_serial == replacement_serial
    assert _release_due(engine, keys, reissue.release_at).released == 1
    with engine.connect() as connection:
        moved = get_key_request(connection, reissue.id)
        assert get_license(connection, replacement_serial).superseded_by == moved.license_serial


def test_a_replacement_whose_license_was_reissued_first_is_rejected(engine, keys):
    contract = _contract(engine)
    license_ = _issue(engine, keys, contract)
    reissue = _submit(
        engine,
        contract,
        KeyRequestKind.REISSUE,
        MONDAY - timedelta(minutes=5),
        fingerprint="fp1:server-b",
        previous_license_serial=license_.serial,
    )
    old = _rotate(engine, keys)
    _withdraw(engine, old)
    assert reissue.release_at < MONDAY
    assert _release_due(engine, keys, MONDAY).released == 1
    replacement = _replacements(engine)[license_.serial]
    assert replacement.state == KeyRequestState.REJECTED
    assert "no longer active" in replacement.reject_reason
    with engine.connect() as connection:
        assert get_key_request(connection, reissue.id).state == KeyRequestState.RELEASED


def test_a_list_the_withdrawn_key_signed_is_signed_again_by_the_active_key(engine, keys, clock):
    # Keys signed by the first key; the list then signed by a second one, later withdrawn.
    license_ = _issue(engine, keys, _contract(engine))
    publisher = StatusPublisher(engine, keys, clock)
    _rotate(engine, keys)
    with engine.connect() as connection:
        signer = next(key.kid for key in list_signing_keys(connection) if key.active)
    clock.set(MONDAY - timedelta(minutes=1))
    publisher.publish_batch()
    _rotate(engine, keys)
    _withdraw(engine, signer)
    clock.set(MONDAY)
    assert publisher.publish_batch() is False
    with engine.connect() as connection:
        (published,) = published_lists(connection)
        ring = keys.key_ring(connection)
    status_list = parse_status_list_token(
        published.token, ring.verifying_keys, expected_uri=published.uri
    )
    assert status_list.kid == ring.active.kid
    assert (
        check_status(
            ring.verifier().verify(license_.license_key), status_list, now=MONDAY.timestamp()
        )
        is StatusOutcome.VALID
    )
