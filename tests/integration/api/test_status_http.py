"""The status listener over a real socket, on real SQLite and PostgreSQL: a key is
released with a status claim, the publisher signs its list, and the listener serves
the token and the JWKS it verifies with (SPEC section 5a)."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from keysvc.api.status_http import (
    JWKS_MAX_AGE,
    RETRY_AFTER_SECONDS,
    DocumentCache,
    StatusListener,
    entity_tag,
    status_app,
)
from keysvc.domain.status_entries import EXPIRY, TTL
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.key_request_repository import get_key_request
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity, Releaser, release
from keysvc.service.signing_key_withdrawal import withdraw_signing_key
from keysvc.service.signing_keys import SigningKeys
from keysvc.service.status_documents import read_status_documents
from keysvc.service.status_publication import StatusPublisher
from scheduler.calendar import BusinessCalendar
from scheduler.clock import FixedClock
from signing import LicenseVerifier, StatusOutcome, check_status, parse_status_list_token

SITE = Principal("site0000site0000", Role.SITE)
ADMIN = Principal("admin000admin000", Role.ADMIN)
# Monday 2026-12-07, 10:00 JST: a business morning, so an INITIAL request is due at once.
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
BASE = "https://status.example.jp/keysvc"
STATUS_LIST = "application/statuslist+jwt"
JWKS = "application/jwk-set+json"


@dataclass(frozen=True)
class Published:
    key: str
    uri: str
    path: str


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def published(engine: Engine, clock: FixedClock) -> Published:
    """A key released with a status claim, and its list published by the real publisher."""
    signing_keys = SigningKeys(engine, b"test passphrase", clock)
    signing_keys.ensure_active_key()
    calendar = BusinessCalendar()
    with engine.begin() as connection:
        purchase = date(2026, 11, 2)
        contract = create_contract(
            connection,
            NewContract(
                "", "neo-backup", "株式会社テスト", "it@example.co.jp", 10, purchase, purchase
            ),
            MONDAY,
            ProductCatalogue(),
        )
        submission = Submission(contract.contract_number, "INITIAL", "fp1:server-a", "", "", "")
        request = submit_key_request(connection, submission, SITE, MONDAY, calendar)
        releaser = Releaser(
            signing_keys.key_ring(connection),
            MailIdentity("keysvc <keysvc@example.jp>", "example.jp"),
            calendar,
            status_base_url=BASE,
        )
        license_ = release(connection, get_key_request(connection, request.id), releaser, MONDAY)
    assert StatusPublisher(engine, signing_keys, clock).publish_batch() is False
    verified = LicenseVerifier.from_jwks(read_status_documents(engine).jwks).verify(
        license_.license_key
    )
    assert verified.claims.status is not None
    uri = verified.claims.status.uri
    assert uri.startswith(f"{BASE}/statuslists/")
    return Published(license_.license_key, uri, uri.removeprefix(BASE))


@contextmanager
def listening(engine: Engine, clock: FixedClock, *, cache_seconds: float = 1.0) -> Iterator[str]:
    """The listener on a free port of 127.0.0.1, on an event loop of its own thread, as
    `keysvc serve` runs it; yields its HOST:PORT and stops it, also on failure."""
    loop = asyncio.new_event_loop()
    started: list[StatusListener] = []
    executor = ThreadPoolExecutor(max_workers=2)

    async def start() -> StatusListener:
        documents = DocumentCache(
            lambda: read_status_documents(engine), executor, seconds=cache_seconds
        )
        return await StatusListener.start(
            "127.0.0.1:0", status_app(documents, clock), shutdown_seconds=1
        )

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        started.append(asyncio.run_coroutine_threadsafe(start(), loop).result(10))
        yield started[0].address
    finally:
        if started:
            asyncio.run_coroutine_threadsafe(started[0].close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        executor.shutdown()


def fetch(address: str, path: str, method: str = "GET", **headers: str):
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            method, path, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


def test_a_published_list_is_served_and_verifies_against_the_served_jwks(engine, clock, published):
    with listening(engine, clock) as address:
        status, headers, token = fetch(address, published.path)
        jwks_status, jwks_headers, jwks = fetch(address, "/.well-known/jwks.json")
    assert status == 200
    assert headers["Content-Type"] == STATUS_LIST
    assert headers["ETag"] == entity_tag(token)
    assert headers["ETag"].startswith('"')  # strong: not W/"..."
    # Published just now: the token's exp is a week away, so the ttl decides.
    assert headers["Cache-Control"] == f"max-age={int(TTL.total_seconds())}"
    assert headers["Last-Modified"] == "Mon, 07 Dec 2026 01:00:00 GMT"
    assert headers["Server"] == "keysvc"
    assert (jwks_status, jwks_headers["Content-Type"]) == (200, JWKS)
    assert jwks_headers["Cache-Control"] == f"max-age={int(JWKS_MAX_AGE.total_seconds())}"
    assert jwks_headers["ETag"] == entity_tag(jwks)
    verifier = LicenseVerifier.from_jwks(jwks.decode())
    status_list = parse_status_list_token(token.decode(), verifier, expected_uri=published.uri)
    license_ = verifier.verify(published.key)
    assert check_status(license_, status_list, now=MONDAY.timestamp()) is StatusOutcome.VALID


def test_max_age_never_reaches_past_the_token_s_exp(engine, clock, published):
    expires = MONDAY + EXPIRY
    with listening(engine, clock) as address:
        clock.set(expires - timedelta(minutes=10))
        near = fetch(address, published.path)[1]["Cache-Control"]
        clock.set(expires + timedelta(minutes=10))
        past = fetch(address, published.path)[1]["Cache-Control"]
    assert (near, past) == ("max-age=600", "max-age=0")


def test_a_matching_if_none_match_answers_304_without_a_body(engine, clock, published):
    with listening(engine, clock) as address:
        _, headers, _ = fetch(address, published.path)
        etag = headers["ETag"]
        not_modified = fetch(address, published.path, If_None_Match=etag)
        weak_too = fetch(address, published.path, If_None_Match=f'"other", W/{etag}')
        anything = fetch(address, published.path, If_None_Match="*")
        changed = fetch(address, published.path, If_None_Match='"something-else"')
        jwks_etag = fetch(address, "/.well-known/jwks.json")[1]["ETag"]
        jwks = fetch(address, "/.well-known/jwks.json", If_None_Match=jwks_etag)
    assert not_modified[0] == 304
    assert not_modified[2] == b""
    assert not_modified[1]["ETag"] == etag
    assert not_modified[1]["Cache-Control"] == headers["Cache-Control"]
    assert (weak_too[0], anything[0]) == (304, 304)
    assert changed[0] == 200
    assert changed[2]
    assert (jwks[0], jwks[2]) == (304, b"")


def test_if_modified_since_answers_304_when_if_none_match_is_absent(engine, clock, published):
    with listening(engine, clock) as address:
        since = fetch(address, published.path, If_Modified_Since="Mon, 07 Dec 2026 01:00:00 GMT")
        before = fetch(address, published.path, If_Modified_Since="Mon, 07 Dec 2026 00:59:59 GMT")
        tag_wins = fetch(
            address,
            published.path,
            If_Modified_Since="Mon, 07 Dec 2026 01:00:00 GMT",
            If_None_Match='"other"',
        )
    assert (since[0], before[0], tag_wins[0]) == (304, 200, 200)


def test_head_answers_the_headers_of_get_without_the_body(engine, clock, published):
    with listening(engine, clock) as address:
        get = fetch(address, published.path)
        head = fetch(address, published.path, "HEAD")
    assert head[0] == 200
    assert head[2] == b""
    assert head[1]["ETag"] == get[1]["ETag"]
    assert head[1]["Content-Length"] == str(len(get[2]))


@pytest.mark.parametrize(
    "path",
    [
        "/statuslists/999",
        "/statuslists/0",
        "/statuslists/01",
        "/statuslists/1x",
        "/statuslists/-1",
        "/statuslists/" + "1" * 11,
        "/statuslists/" + "9" * 400,
        "/statuslists/",
        "/statuslists",
        "/",
        "/.well-known/",
        "/.well-known/jwks.json/",
        "/metrics",
        "/../keysvc.db",
        "/keysvc.db",
    ],
)
def test_anything_but_a_published_list_or_the_jwks_is_not_found(engine, clock, published, path):
    with listening(engine, clock) as address:
        status, headers, _ = fetch(address, path)
    assert status == 404
    assert headers["Server"] == "keysvc"


def test_a_list_not_published_yet_is_not_found(engine, clock):
    SigningKeys(engine, b"test passphrase", clock).ensure_active_key()
    with listening(engine, clock) as address:
        status, headers, _ = fetch(address, "/statuslists/1")
        jwks_status = fetch(address, "/.well-known/jwks.json")[0]
    assert (status, headers["Cache-Control"]) == (404, "no-store")
    assert jwks_status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_not_allowed(engine, clock, published, method):
    with listening(engine, clock) as address:
        status, headers, _ = fetch(address, published.path, method)
        jwks_status = fetch(address, "/.well-known/jwks.json", method)[0]
    assert (status, jwks_status) == (405, 405)
    assert set(headers["Allow"].split(",")) == {"GET", "HEAD"}
    assert headers["Server"] == "keysvc"


def test_a_newly_published_token_is_served_once_the_cache_expires(engine, clock, published):
    signing_keys = SigningKeys(engine, b"test passphrase", clock)
    with listening(engine, clock, cache_seconds=0.2) as address:
        first = fetch(address, published.path)[2]
        # A day on, the publisher signs the list again though nothing changed.
        clock.advance(timedelta(days=1))
        StatusPublisher(engine, signing_keys, clock).publish_batch()
        cached = fetch(address, published.path)[2]
        deadline = 50
        while (again := fetch(address, published.path)[2]) == first and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
    assert cached == first
    assert again != first


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_unavailable(engine: Engine, clock: FixedClock) -> None:
    with listening(engine, clock) as address:
        answers = [fetch(address, path) for path in ("/statuslists/1", "/.well-known/jwks.json")]
    for status, headers, _ in answers:
        assert status == 503
        assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert headers["Cache-Control"] == "no-store"


def test_an_unreachable_postgresql_answers_503_with_retry_after(postgres_admin_url, clock):
    url = make_url(postgres_admin_url).set(host="127.0.0.1", port=_closed_port())
    engine = create_database_engine(url.render_as_string(hide_password=False))
    try:
        _assert_unavailable(engine, clock)
    finally:
        engine.dispose()


def test_a_sqlite_file_that_cannot_be_opened_answers_503_with_retry_after(tmp_path, clock):
    engine = create_database_engine(sqlite_url_for(tmp_path / "gone"))
    try:
        _assert_unavailable(engine, clock)
    finally:
        engine.dispose()


def test_a_withdrawn_key_leaves_the_served_jwks_and_moves_its_last_modified(
    engine, clock, published
):
    signing_keys = SigningKeys(engine, b"test passphrase", clock)
    with listening(engine, clock, cache_seconds=0) as address:
        _, before, first = fetch(address, "/.well-known/jwks.json")
        (old_kid,) = [key["kid"] for key in json.loads(first)["keys"]]
        clock.advance(timedelta(hours=1))
        with engine.begin() as connection:
            signing_keys.rotate(connection)
        rotated = fetch(address, "/.well-known/jwks.json")
        clock.advance(timedelta(hours=1))
        with engine.begin() as connection:
            withdraw_signing_key(connection, old_kid, "leaked", ADMIN, clock.now())
        status, after, body = fetch(
            address, "/.well-known/jwks.json", If_Modified_Since=rotated[1]["Last-Modified"]
        )
    assert len(json.loads(rotated[2])["keys"]) == 2
    assert status == 200  # changed since the rotation: not 304
    assert old_kid not in {key["kid"] for key in json.loads(body)["keys"]}
    assert after["Last-Modified"] == "Mon, 07 Dec 2026 03:00:00 GMT"
    assert len({before["ETag"], rotated[1]["ETag"], after["ETag"]}) == 3
