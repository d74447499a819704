"""IssueIceCredentials against a real coturn: the credentials allocate relays.

`keysvc serve` (on SQLite and on PostgreSQL) and coturn's `turnserver` share a
secret. The credentials the service issues for a covered neo-webconf contract
are handed to `turnutils_uclient`, which allocates two relays and sends a
message from one to the other through the server. Credentials changed in any part — the password,
the contract number in the username, an expiry in the past (with a correct
HMAC) — are refused by coturn with 401 and nothing is allocated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from keysvc.v1 import license_service_pb2

from .conftest import BACKENDS, backend_clients
from .server_process import Clients, new_contract
from .turn_server import TurnServer, UclientRun, require_coturn, run_uclient, turn_server

pytestmark = pytest.mark.e2e

SECRET = "e2e-coturn-secret"  # noqa: S105 - a test value shared by the two test servers
REALM = "keysvc.test"
REFUSED = "Cannot complete Allocation"  # turnutils_uclient, when the allocation is refused


@dataclass(frozen=True)
class Issued:
    """Credentials the service issued for two covered contracts."""

    number: str
    username: str
    password: str
    other_number: str
    host: str
    port: int


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    require_coturn()
    with turn_server(tmp_path_factory.mktemp("coturn"), SECRET, REALM) as server:
        yield server


def new_webconf_contract(clients: Clients) -> str:
    """A neo-webconf contract bought and accepted today (JST), so covered today."""
    # The host's day: coturn checks expiries on the host's clock, so keysvc runs on it too.
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    return new_contract(clients, "neo-webconf", today, seats=1).contract_number


@pytest.fixture(scope="module", params=BACKENDS)
def issued(
    request: pytest.FixtureRequest, turn: TurnServer, tmp_path_factory: pytest.TempPathFactory
) -> Issued:
    uris = f"turn:{turn.host}:{turn.port}?transport=udp"
    env = {"KEYSVC_TURN_SECRET": SECRET, "KEYSVC_TURN_URIS": uris}
    with backend_clients(request, tmp_path_factory, env, clocked=False) as clients:
        number = new_webconf_contract(clients)
        other = new_webconf_contract(clients)
        credential = clients.site(
            "IssueIceCredentials",
            license_service_pb2.IssueIceCredentialsRequest(contract_number=number),
        )
    # coturn is reached where the service says it is.
    found = re.fullmatch(r"turn:([\d.]+):(\d+)\?transport=udp", credential.uris[0])
    assert found, credential.uris
    return Issued(
        number=number,
        username=credential.username,
        password=credential.password,
        other_number=other,
        host=found.group(1),
        port=int(found.group(2)),
    )


def rest_password(username: str) -> str:
    """The TURN REST API password for `username`, computed here independently."""
    digest = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def allocate(
    turn: TurnServer, issued: Issued, username: str, password: str
) -> tuple[UclientRun, int]:
    """Runs the client; returns its run and where coturn's log stood before it."""
    offset = turn.log_size()
    run = run_uclient(issued.host, issued.port, username, password)
    return run, offset


def assert_allocated(turn: TurnServer, run: UclientRun, offset: int, username: str) -> None:
    assert run.returncode == 0, run.output
    assert REFUSED not in run.output
    # Two clients (-y), each with a relay on the loopback relay address ...
    assert len(run.relay_addresses) >= 2, run.output
    assert all(address.startswith(f"{turn.host}:") for address in run.relay_addresses)
    # ... and the message each sent to the other came through the relays.
    assert run.messages_received > 0, run.output
    assert f"<{username}>" not in turn.log_since(offset)


def assert_refused(turn: TurnServer, run: UclientRun, offset: int, username: str) -> None:
    assert run.returncode != 0, run.output
    assert REFUSED in run.output, run.output
    assert run.relay_addresses == [], run.output
    assert run.messages_received == 0
    # coturn's own account: it found no valid credentials for exactly this username
    # (its 401 answer to the long-term credential check).
    refusal = f"check_stun_auth: Cannot find credentials of user <{username}>"
    assert turn.wait_for_log(refusal, offset), turn.log_since(offset)


def test_issued_credentials_allocate_a_relay(turn: TurnServer, issued: Issued) -> None:
    expiry, number = issued.username.split(":")
    assert number == issued.number
    assert int(expiry) > time.time() + 60
    # The independent computation used below for forged credentials agrees with the service.
    assert rest_password(issued.username) == issued.password
    run, offset = allocate(turn, issued, issued.username, issued.password)
    assert_allocated(turn, run, offset, issued.username)


def test_a_tampered_password_is_refused(turn: TurnServer, issued: Issued) -> None:
    first = issued.password[0]
    tampered = ("B" if first == "A" else "A") + issued.password[1:]
    run, offset = allocate(turn, issued, issued.username, tampered)
    assert_refused(turn, run, offset, issued.username)


def test_the_password_does_not_fit_another_contract(turn: TurnServer, issued: Issued) -> None:
    expiry = issued.username.split(":")[0]
    username = f"{expiry}:{issued.other_number}"  # a real, covered contract of the same customer
    run, offset = allocate(turn, issued, username, issued.password)
    assert_refused(turn, run, offset, username)


def test_an_expired_username_is_refused_although_its_hmac_is_right(
    turn: TurnServer, issued: Issued
) -> None:
    now = int(time.time())
    # Control: the same HMAC, computed here, for a future expiry is accepted ...
    future = f"{now + 3600}:{issued.number}"
    run, offset = allocate(turn, issued, future, rest_password(future))
    assert_allocated(turn, run, offset, future)
    # ... so for an expiry in the past it is the expiry that coturn refuses.
    past = f"{now - 60}:{issued.number}"
    run, offset = allocate(turn, issued, past, rest_password(past))
    assert_refused(turn, run, offset, past)
