"""The status lists of a real `keysvc serve --status-listen`, on SQLite and on
PostgreSQL: a key released over gRPC names its list, the scheduler publishes it
within the publication interval, the listener serves it with the JWKS that
verifies it, and `keysvc status export` writes the same bytes (SPEC section 5a)."""

from __future__ import annotations

import http.client
import socket
import stat
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2
from signing import LicenseVerifier, StatusOutcome, check_status, parse_status_list_token

from .clocked_keysvc import set_clock
from .conftest import BACKENDS, SERVER_NOW, backend_clients
from .server_process import new_contract, submit_initial

pytestmark = pytest.mark.e2e

# Wednesday 25 November 2026, 10:00 in Tokyo: a business morning, so an INITIAL
# request is released at once.
BUSINESS_MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
# The publisher looks every 10 s (PUBLICATION_INTERVAL); signing and storing take little.
PUBLICATION_WAIT_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module", params=BACKENDS)
def clients(request, tmp_path_factory):
    # A fixed port, as in production: the keys name the listener's address.
    address = f"127.0.0.1:{_free_port()}"
    with backend_clients(
        request, tmp_path_factory, arguments=("--status-listen", address)
    ) as clients:
        clients.status_address = address
        yield clients


def fetch(address: str, path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def released(clients):
    """A key released on a business morning, and its list once published."""
    set_clock(clients.clock_file, BUSINESS_MORNING, ticking=True)
    try:
        contract = new_contract(clients)
        request = submit_initial(clients, contract.contract_number, "fp1:status-list-server")
    finally:
        set_clock(clients.clock_file, SERVER_NOW, ticking=True)
    assert request.state == resources_pb2.KEY_REQUEST_STATE_RELEASED
    _, _, jwks = fetch(clients.status_address, "/.well-known/jwks.json")
    license_ = LicenseVerifier.from_jwks(jwks.decode()).verify(request.license_key)
    reference = license_.claims.status
    assert reference is not None
    base = f"http://{clients.status_address}"
    assert reference.uri.startswith(f"{base}/statuslists/")
    path = reference.uri.removeprefix(base)
    deadline = time.monotonic() + PUBLICATION_WAIT_SECONDS
    while (answer := fetch(clients.status_address, path))[0] == 404:
        assert time.monotonic() < deadline, f"{reference.uri} not published in time"
        time.sleep(0.5)
    return request.license_key, reference.uri, path, answer


def test_the_listener_s_address_is_logged(clients):
    (record,) = [r for r in clients.server.logs() if r.get("message") == "serving status lists"]
    assert record["status_lists"] == f"http://{clients.status_address}/statuslists/"
    assert record["status_base_url"] == f"http://{clients.status_address}"


def test_the_jwks_is_served(clients):
    status, headers, body = fetch(clients.status_address, "/.well-known/jwks.json")
    assert (status, headers["Content-Type"]) == (200, "application/jwk-set+json")
    assert headers["Server"] == "keysvc"
    assert LicenseVerifier.from_jwks(body.decode())


def test_a_released_key_s_list_is_published_and_says_valid(clients, released):
    key, uri, _, (status, headers, token) = released
    assert (status, headers["Content-Type"]) == (200, "application/statuslist+jwt")
    assert headers["ETag"].startswith('"')
    assert headers["Cache-Control"] == "max-age=3600"
    _, _, jwks = fetch(clients.status_address, "/.well-known/jwks.json")
    verifier = LicenseVerifier.from_jwks(jwks.decode())
    status_list = parse_status_list_token(token.decode(), verifier, expected_uri=uri)
    # The server's clock, not the host's: the list was signed on its time.
    now = BUSINESS_MORNING.timestamp() + 60
    assert check_status(verifier.verify(key), status_list, now=now) is StatusOutcome.VALID


def test_status_export_writes_what_the_listener_serves(clients, released, tmp_path):
    _, _, path, _ = released
    target = tmp_path / "public"
    result = clients.keysvc("status", "export", str(target))
    assert result.returncode == 0, result.stderr
    list_file = target / path.lstrip("/")
    jwks_file = target / ".well-known" / "jwks.json"
    assert f"wrote {list_file} (application/statuslist+jwt)" in result.stdout
    assert f"wrote {jwks_file} (application/jwk-set+json)" in result.stdout
    assert list_file.read_bytes() == fetch(clients.status_address, path)[2]
    assert jwks_file.read_bytes() == fetch(clients.status_address, "/.well-known/jwks.json")[2]
    for file in (list_file, jwks_file):
        assert stat.S_IMODE(file.stat().st_mode) == 0o644
    for folder in (target, list_file.parent, jwks_file.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    # Nothing else: no temporary file left behind.
    written = {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
    assert written == {list_file.relative_to(target), jwks_file.relative_to(target)}
    # A second export replaces the files in place.
    again = clients.keysvc("status", "export", str(target))
    assert again.returncode == 0, again.stderr
    assert list_file.read_bytes() == fetch(clients.status_address, path)[2]


def _status(clients, key: str, now: float) -> StatusOutcome:
    """What the published list says of `key` now, as a product fetching it would read it."""
    _, _, jwks = fetch(clients.status_address, "/.well-known/jwks.json")
    verifier = LicenseVerifier.from_jwks(jwks.decode())
    verified = verifier.verify(key)
    uri = verified.claims.status.uri
    status, _, token = fetch(
        clients.status_address, uri.removeprefix(f"http://{clients.status_address}")
    )
    if status != 200:
        raise AssertionError(f"{uri} answered {status}")
    return check_status(
        verified, parse_status_list_token(token.decode(), verifier, expected_uri=uri), now=now
    )


def _until(clients, key: str, outcome: StatusOutcome, now: float) -> None:
    """Polls the listener until the list says `outcome` of `key`, within the publication delay."""
    deadline = time.monotonic() + PUBLICATION_WAIT_SECONDS
    while (seen := _status(clients, key, now)) is not outcome:
        assert time.monotonic() < deadline, f"the list still says {seen}, not {outcome}"
        time.sleep(0.5)


def test_a_reissued_key_is_valid_until_its_overlap_ends_then_superseded(clients):
    # Released on a business morning: the overlap ends at 09:00 on the 5th business day on.
    set_clock(clients.clock_file, BUSINESS_MORNING, ticking=True)
    try:
        contract = new_contract(clients)
        first = submit_initial(clients, contract.contract_number, "fp1:status-reissue-old")
        moved = clients.site(
            "SubmitKeyRequest",
            license_service_pb2.SubmitKeyRequestRequest(
                contract_number=contract.contract_number,
                kind=resources_pb2.KEY_REQUEST_KIND_REISSUE,
                fingerprint="fp1:status-reissue-new",
                previous_license_serial=first.license_serial,
                request_id=str(uuid.uuid4()),
            ),
        )
        assert moved.state == resources_pb2.KEY_REQUEST_STATE_RELEASED
        end = moved.previous_supersede_time.ToDatetime(tzinfo=UTC)
        # Wednesday 25 Nov + 5 business days: Wednesday 2 Dec, 09:00 JST.
        assert end == datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
        before = (BUSINESS_MORNING + timedelta(minutes=1)).timestamp()
        _until(clients, first.license_key, StatusOutcome.VALID, before)
        _until(clients, moved.license_key, StatusOutcome.VALID, before)
        set_clock(clients.clock_file, end, ticking=True)
        _until(clients, first.license_key, StatusOutcome.SUPERSEDED, end.timestamp() + 60)
        assert _status(clients, moved.license_key, end.timestamp() + 60) is StatusOutcome.VALID
    finally:
        set_clock(clients.clock_file, SERVER_NOW, ticking=True)


def test_a_revoked_key_is_invalid_within_the_publication_delay(clients):
    set_clock(clients.clock_file, BUSINESS_MORNING, ticking=True)
    try:
        contract = new_contract(clients)
        issued = submit_initial(clients, contract.contract_number, "fp1:status-revoked")
        now = (BUSINESS_MORNING + timedelta(minutes=1)).timestamp()
        _until(clients, issued.license_key, StatusOutcome.VALID, now)
        revoked_at = time.monotonic()
        clients.admin(
            "RevokeLicense",
            admin_service_pb2.RevokeLicenseRequest(
                serial=issued.license_serial, reason="契約解除", request_id=str(uuid.uuid4())
            ),
        )
        _until(clients, issued.license_key, StatusOutcome.INVALID, now)
        # SPEC 5a: a change reaches the published list within 60 s.
        assert time.monotonic() - revoked_at < 60
    finally:
        set_clock(clients.clock_file, SERVER_NOW, ticking=True)
