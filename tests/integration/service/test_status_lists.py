"""Status lists over real SQLite and PostgreSQL (SPEC 5a): each key issued points at an
entry of its own, and the published lists say what became of every key — VALID, then
SUPERSEDED once a re-issue's overlap ends, INVALID once revoked."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from keysvc.domain.lifecycle import KeyRequestKind
from keysvc.domain.status_entries import EXPIRY, REFRESH_AFTER, TTL
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.key_request_repository import get_key_request, get_license
from keysvc.persistence.schema import licenses, status_lists
from keysvc.persistence.signing_key_repository import add_active_key
from keysvc.persistence.status_list_repository import published_lists, store_token
from keysvc.service.contracts import NewContract, add_seats, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.licenses import end_reissue_overlap, revoke_license
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release
from keysvc.service.signing_keys import SigningKeys, jwks_json
from keysvc.service.status_allocation import allocate_entries
from keysvc.service.status_publication import StatusPublisher
from scheduler.calendar import JST, BusinessCalendar
from scheduler.clock import FixedClock
from signing import (
    KeyRing,
    SigningKey,
    StatusOutcome,
    b64url_decode,
    check_status,
    encrypt_private_key,
    parse_status_list_token,
)
from tests.unit.signing.test_status_list_independent import independent_decode

BASE = "https://status.example.jp"
SITE = Principal("site0000site0000", Role.SITE)
# Monday 2026-12-07, 10:00 JST: five business days on is Monday 2026-12-14, 09:00 JST.
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
OVERLAP_END = datetime(2026, 12, 14, 9, 0, tzinfo=JST)
TICK = timedelta(microseconds=1)
CALENDAR = BusinessCalendar()
PASSPHRASE = b"status list test passphrase"
KEY_RING = KeyRing(SigningKey.generate())
MAIL = MailIdentity("keysvc <keysvc@example.jp>", "example.jp")


@pytest.fixture
def clock():
    return FixedClock(MONDAY)


@pytest.fixture
def publisher(engine, clock):
    with engine.begin() as connection:
        add_active_key(
            connection,
            KEY_RING.active.verifying_key,
            encrypt_private_key(KEY_RING.active, PASSPHRASE),
            MONDAY - timedelta(days=30),
        )
    return StatusPublisher(engine, SigningKeys(engine, PASSPHRASE, clock), clock)


def _contract(engine):
    purchase = date(2026, 11, 2)
    with engine.begin() as connection:
        return create_contract(
            connection,
            NewContract(
                "", "neo-backup", "株式会社テスト", "it@example.co.jp", 10, purchase, purchase
            ),
            MONDAY - timedelta(days=30),
            ProductCatalogue(),
        )


def _release(engine, contract, kind, now, *, base=BASE, **fields):
    defaults = {"fingerprint": "fp1:server-a", "contact_email": "", "previous_key": ""}
    submission = Submission(
        contract.contract_number, kind, **(defaults | {"previous_license_serial": ""} | fields)
    )
    releaser = Releaser(KEY_RING, MAIL, CALENDAR, base)
    with engine.begin() as connection:
        request = submit_key_request(connection, submission, SITE, now, CALENDAR)
        return release(connection, get_key_request(connection, request.id), releaser, now)


def _status_of(engine, license_, now) -> StatusOutcome:
    verified = KEY_RING.verifier().verify(license_.license_key)
    with engine.connect() as connection:
        tokens = {published.uri: published.token for published in published_lists(connection)}
    uri = verified.claims.status.uri
    status_list = parse_status_list_token(tokens[uri], KEY_RING.verifying_keys, expected_uri=uri)
    return check_status(verified, status_list, now=now.timestamp())


def _publish_all(publisher) -> int:
    published = 0
    while True:
        more = publisher.publish_batch()
        published += 1
        if not more:
            return published


def test_a_key_issued_with_a_status_base_points_at_its_entry(engine, publisher):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    claims = KEY_RING.verifier().verify(license_.license_key).claims
    assert claims.status.uri == f"{BASE}/statuslists/1"
    with engine.connect() as connection:
        stored = get_license(connection, license_.serial)
    assert (stored.status_list, stored.status_index) == (1, claims.status.index)


def test_a_key_issued_without_a_status_base_has_no_status_claim(engine, publisher):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY, base=None)
    assert KEY_RING.verifier().verify(license_.license_key).claims.status is None
    with engine.connect() as connection:
        stored = get_license(connection, license_.serial)
        assert (stored.status_list, stored.status_index) == (None, None)
        assert connection.execute(select(status_lists.c.number)).all() == []


def test_entries_are_never_shared_and_a_full_list_gives_way_to_a_new_one(engine):
    # Lists of 4 entries: 3 + 3 entries fill the first and start a second.
    with engine.begin() as connection:
        first = allocate_entries(connection, BASE, 3, MONDAY, bits=2)
    with engine.begin() as connection:
        second = allocate_entries(connection, BASE, 3, MONDAY, bits=2)
    entries = first + second
    assert [entry.list_number for entry in entries] == [1, 1, 1, 1, 2, 2]
    in_first = [entry.reference.index for entry in entries if entry.list_number == 1]
    assert sorted(in_first) == [0, 1, 2, 3]
    in_second = [entry.reference.index for entry in entries if entry.list_number == 2]
    assert len(set(in_second)) == 2
    assert all(0 <= index < 4 for index in in_second)
    assert {entry.reference.uri for entry in entries} == {
        f"{BASE}/statuslists/1",
        f"{BASE}/statuslists/2",
    }
    with engine.connect() as connection:
        allocated = connection.execute(
            select(status_lists.c.number, status_lists.c.allocated).order_by(status_lists.c.number)
        ).all()
    assert allocated == [(1, 4), (2, 2)]


def test_a_new_base_url_starts_a_list_of_its_own(engine):
    with engine.begin() as connection:
        old = allocate_entries(connection, BASE, 1, MONDAY)
        new = allocate_entries(connection, "https://keys.example.com/status", 1, MONDAY)
        again = allocate_entries(connection, BASE, 1, MONDAY)
    assert old[0].reference.uri == f"{BASE}/statuslists/1"
    assert new[0].reference.uri == "https://keys.example.com/status/statuslists/2"
    assert again[0].list_number == 1
    assert again[0].reference.index != old[0].reference.index


def test_a_published_list_says_a_new_key_is_valid(engine, publisher, clock):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    assert publisher.publish_batch() is False
    assert _status_of(engine, license_, MONDAY) is StatusOutcome.VALID
    with engine.connect() as connection:
        (published,) = published_lists(connection)
    assert published.issued_at == MONDAY
    assert published.expires_at == MONDAY + EXPIRY
    status_list = parse_status_list_token(
        published.token, KEY_RING.verifying_keys, expected_uri=published.uri
    )
    assert status_list.ttl == int(TTL.total_seconds())
    assert len(status_list) == 2**20


def test_nothing_is_signed_again_while_nothing_changed(engine, publisher, clock):
    contract = _contract(engine)
    _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    publisher.publish_batch()
    with engine.connect() as connection:
        before = published_lists(connection)
    clock.advance(REFRESH_AFTER - TICK)
    assert publisher.publish_batch() is False
    with engine.connect() as connection:
        assert published_lists(connection) == before


def test_a_day_old_list_is_signed_again_with_the_same_entries(engine, publisher, clock):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    publisher.publish_batch()
    clock.advance(REFRESH_AFTER)
    publisher.publish_batch()
    with engine.connect() as connection:
        (published,) = published_lists(connection)
    assert published.issued_at == MONDAY + REFRESH_AFTER
    assert _status_of(engine, license_, clock.now()) is StatusOutcome.VALID


def test_a_revoked_key_is_invalid_in_the_next_list(engine, publisher, clock):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    publisher.publish_batch()
    clock.advance(timedelta(seconds=1))
    with engine.begin() as connection:
        revoke_license(connection, license_.serial, "契約解除", clock.now())
    assert _status_of(engine, license_, clock.now()) is StatusOutcome.VALID
    publisher.publish_batch()
    assert _status_of(engine, license_, clock.now()) is StatusOutcome.INVALID


def test_a_reissued_key_stays_valid_to_the_last_instant_of_its_overlap(engine, publisher, clock):
    contract = _contract(engine)
    first = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY - timedelta(days=7))
    second = _release(
        engine,
        contract,
        KeyRequestKind.REISSUE,
        MONDAY,
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    publisher.publish_batch()
    assert _status_of(engine, first, MONDAY) is StatusOutcome.VALID
    assert _status_of(engine, second, MONDAY) is StatusOutcome.VALID
    # Signed again the day before, so that the day's refresh is not what publishes it.
    clock.set(OVERLAP_END - timedelta(hours=1))
    publisher.publish_batch()
    clock.set(OVERLAP_END - TICK)
    assert publisher.publish_batch() is False
    assert _status_of(engine, first, clock.now()) is StatusOutcome.VALID
    clock.set(OVERLAP_END)
    publisher.publish_batch()
    assert _status_of(engine, first, clock.now()) is StatusOutcome.SUPERSEDED
    assert _status_of(engine, second, clock.now()) is StatusOutcome.VALID


def test_an_overlap_ended_by_staff_is_superseded_in_the_next_list(engine, publisher, clock):
    contract = _contract(engine)
    first = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY - timedelta(days=7))
    _release(
        engine,
        contract,
        KeyRequestKind.REISSUE,
        MONDAY,
        fingerprint="fp1:server-b",
        previous_license_serial=first.serial,
    )
    publisher.publish_batch()
    clock.advance(timedelta(minutes=5))
    with engine.begin() as connection:
        end_reissue_overlap(connection, first.serial, "不正利用の疑い", clock.now())
    publisher.publish_batch()
    assert _status_of(engine, first, clock.now()) is StatusOutcome.SUPERSEDED


def test_a_seats_change_supersedes_the_previous_key_in_the_next_list(engine, publisher, clock):
    contract = _contract(engine)
    first = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY - timedelta(days=7))
    publisher.publish_batch()
    with engine.begin() as connection:
        add_seats(connection, contract.contract_number, 5, date(2026, 12, 7))
    clock.advance(timedelta(seconds=1))
    _release(
        engine,
        contract,
        KeyRequestKind.SEATS_CHANGE,
        clock.now(),
        fingerprint="",
        previous_license_serial=first.serial,
    )
    publisher.publish_batch()
    assert _status_of(engine, first, clock.now()) is StatusOutcome.SUPERSEDED


def test_a_replica_never_replaces_a_newer_token_with_an_older_one(engine, publisher, clock):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    publisher.publish_batch()
    with engine.connect() as connection:
        (newest,) = published_lists(connection)
        revision = connection.execute(select(status_lists.c.token_revision)).scalar_one()
    stale = {"token": "stale", "issued_at": MONDAY, "expires_at": MONDAY + EXPIRY}
    with engine.begin() as connection:
        # An older revision, and the same revision as of an earlier instant: both refused.
        assert not store_token(connection, 1, revision=revision - 1, as_of=MONDAY, **stale)
        assert not store_token(connection, 1, revision=revision, as_of=MONDAY - TICK, **stale)
        assert not store_token(connection, 1, revision=revision, as_of=MONDAY, **stale)
    with engine.connect() as connection:
        assert published_lists(connection) == [newest]
    assert _status_of(engine, license_, MONDAY) is StatusOutcome.VALID


def test_two_publishers_agree_on_one_token(engine, publisher, clock):
    contract = _contract(engine)
    _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    other = StatusPublisher(engine, SigningKeys(engine, PASSPHRASE, clock), clock)
    publisher.publish_batch()
    assert other.publish_batch() is False
    with engine.connect() as connection:
        tokens = [published.token for published in published_lists(connection)]
    assert len(tokens) == 1


def test_every_change_to_a_licenses_entry_moves_its_lists_revision(engine, publisher, clock):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)

    def revision():
        with engine.connect() as connection:
            return connection.execute(select(status_lists.c.revision)).scalar_one()

    before = revision()
    with engine.begin() as connection:
        revoke_license(connection, license_.serial, "契約解除", MONDAY)
    assert revision() == before + 1
    # A license without an entry changes no list.
    with engine.begin() as connection:
        connection.execute(update(licenses).values(status_list=None, status_index=None))
    assert revision() == before + 1


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_a_list_keysvc_publishes_reads_the_same_to_an_independent_decoder(engine, publisher, clock):
    contracts = [_contract(engine) for _ in range(4)]
    licenses_ = [
        _release(engine, contract, KeyRequestKind.INITIAL, MONDAY - timedelta(days=7))
        for contract in contracts
    ]
    with engine.begin() as connection:
        revoke_license(connection, licenses_[0].serial, "契約解除", MONDAY)
        add_seats(connection, contracts[1].contract_number, 5, date(2026, 12, 7))
    _release(
        engine,
        contracts[1],
        KeyRequestKind.SEATS_CHANGE,
        MONDAY,
        fingerprint="",
        previous_license_serial=licenses_[1].serial,
    )
    publisher.publish_batch()
    with engine.connect() as connection:
        (published,) = published_lists(connection)
    (jwk,) = KEY_RING.jwks()["keys"]
    theirs = independent_decode(published.token, jwk, published.uri)
    ours = parse_status_list_token(
        published.token, KEY_RING.verifying_keys, expected_uri=published.uri
    )
    assert [int(ours.value(index)) for index in range(len(ours))] == theirs
    indexes = [
        KEY_RING.verifier().verify(license_.license_key).claims.status.index
        for license_ in licenses_
    ]
    # Revoked, superseded at once, and two VALID; every other entry VALID too.
    assert [theirs[index] for index in indexes] == [1, 3, 0, 0]
    assert sum(1 for value in theirs if value) == 2


def test_replicas_publishing_at_once_agree_on_the_newest_list(engine, publisher, clock):
    contract = _contract(engine)
    license_ = _release(engine, contract, KeyRequestKind.INITIAL, MONDAY)
    replicas = [
        StatusPublisher(engine, SigningKeys(engine, PASSPHRASE, clock), clock) for _ in range(4)
    ]
    barrier = threading.Barrier(len(replicas))

    def publish(replica):
        barrier.wait()
        return replica.publish_batch()

    with ThreadPoolExecutor(len(replicas)) as pool:
        list(pool.map(publish, replicas))
    with engine.begin() as connection:
        revoke_license(connection, license_.serial, "契約解除", MONDAY)
    barrier.reset()
    with ThreadPoolExecutor(len(replicas)) as pool:
        list(pool.map(publish, replicas))
    with engine.connect() as connection:
        assert len(published_lists(connection)) == 1
        stored_revision, revision = connection.execute(
            select(status_lists.c.token_revision, status_lists.c.revision)
        ).one()
    assert stored_revision == revision
    assert _status_of(engine, license_, MONDAY) is StatusOutcome.INVALID
    assert all(replica.publish_batch() is False for replica in replicas)


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_under_ed25519_keys_lists_and_the_jwks_use_rfc_9864_s_name(engine, publisher, clock):
    keys = SigningKeys(engine, PASSPHRASE, clock, alg="Ed25519")
    with engine.connect() as connection:
        ring = keys.key_ring(connection)
        jwks = json.loads(jwks_json(SigningKeys.published(connection), keys.alg))
    contract = _contract(engine)
    request_releaser = Releaser(ring, MAIL, CALENDAR, BASE)
    submission = Submission(
        contract.contract_number, KeyRequestKind.INITIAL, "fp1:server-a", "", "", ""
    )
    with engine.begin() as connection:
        request = submit_key_request(connection, submission, SITE, MONDAY, CALENDAR)
        license_ = release(
            connection, get_key_request(connection, request.id), request_releaser, MONDAY
        )
    StatusPublisher(engine, keys, clock).publish_batch()
    with engine.connect() as connection:
        (published,) = published_lists(connection)

    def header(token):
        return json.loads(b64url_decode(token.split(".")[0]))

    assert header(license_.license_key)["alg"] == "Ed25519"
    assert header(published.token)["alg"] == "Ed25519"
    assert all("alg" not in key for key in jwks["keys"])
    # A library that binds keys to their alg verifies both with the published JWKS.
    (jwk,) = jwks["keys"]
    assert independent_decode(published.token, jwk, published.uri)
