"""``keysvc-migrate`` as a customer runs it: the installed command against a real server.

An "old server" gets its key the way the product site asks for it; then the
migration tool, on "this" machine, does the rest alone: fingerprint, JWKS,
request, wait, install, verify. Every run is a separate process with only the
environment a customer would set (KEYSVC_ADDRESS, KEYSVC_TOKEN).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import grpc
import pytest

from keysvc.migrate.wording import describe_schedule
from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2

from .clocked_keysvc import set_clock

if TYPE_CHECKING:
    # The shared e2e helpers carry no annotations yet, and mypy --strict would
    # report their errors with this module's. These are the signatures relied on.
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

    from google.protobuf.message import Message

    class ServerProcess:
        address: str

        def stop(self, timeout: float = 15.0) -> int: ...

    class Clients:
        address: str
        tokens: dict[str, str]
        today: date

        def __init__(
            self, channel: grpc.Channel, tokens: dict[str, str], address: str = ""
        ) -> None: ...
        def site(self, method: str, request: Message) -> Any: ...
        def admin(self, method: str, request: Message) -> Any: ...

    def keysvc_server(
        data_dir: Path, env: Mapping[str, str] | None = None, *, clock_file: Path | None = None
    ) -> AbstractContextManager[ServerProcess]: ...
    def create_token(data_dir: Path, role: str, env: Mapping[str, str] | None = None) -> str: ...
    def new_contract(
        clients: Clients, product: str = "neo-backup", purchase: str = "2026-11-02"
    ) -> resources_pb2.Contract: ...
    def submit_initial(
        clients: Clients, contract_number: str, fingerprint: str
    ) -> resources_pb2.KeyRequest: ...
    def server_environment(backend: str, data: Path, postgres_url: str = "") -> dict[str, str]: ...

else:
    from .conftest import server_environment
    from .server_process import (
        Clients,
        ServerProcess,
        create_token,
        keysvc_server,
        new_contract,
        submit_initial,
    )

pytestmark = pytest.mark.e2e

MIGRATE = Path(sys.executable).with_name("keysvc-migrate")
TOKYO = ZoneInfo("Asia/Tokyo")
OLD_SERVER = "fp1:old-server-0d6c8f1e"
EMAIL = "it@example.co.jp"
# Settings of the developer's shell must not leak into the customer's runs.
_CLEARED = (
    "KEYSVC_ADDRESS",
    "KEYSVC_TOKEN",
    "KEYSVC_TOKEN_FILE",
    "KEYSVC_TLS_CA",
    "KEYSVC_TLS_CLIENT_CERT",
    "KEYSVC_TLS_CLIENT_KEY",
    "KEYSVC_MIGRATE_STATE_FILE",
)

# The tool on a clock the test sets, as clocked_keysvc does for the server: the
# words of a schedule ("翌営業日 ...") depend on when they are read.
CLOCKED = """
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from keysvc.migrate.cli import main
from keysvc.migrate.runtime import Runtime
now = datetime.fromisoformat(sys.argv[1])
sys.exit(main(sys.argv[2:], runtime=replace(Runtime.system(), now=lambda: now)))
"""

# The tool where the server's libraries, and the network ones, cannot be imported.
WITHOUT = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"{name} is blocked in this test")
        return None
BLOCKED = ("sqlalchemy", "alembic", "psycopg", "grpc", "keysvc.client")
sys.meta_path.insert(0, Blocker())
from keysvc.migrate.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


@dataclass
class Customer:
    """The customer's shell on the new server: a directory, the address and the token."""

    directory: Path
    address: str
    token: str

    def environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name not in _CLEARED}
        return env | {"KEYSVC_ADDRESS": self.address, "KEYSVC_TOKEN": self.token}

    def command(self, command: list[str], *argv: str, env: dict[str, str] | None = None) -> Ran:
        completed = subprocess.run(
            [*command, *argv],
            cwd=self.directory,
            env=self.environment() | (env or {}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Ran(completed.returncode, completed.stdout, completed.stderr)

    def __call__(self, *argv: str, env: dict[str, str] | None = None) -> Ran:
        """Runs the installed ``keysvc-migrate``."""
        return self.command([str(MIGRATE)], *argv, env=env)

    def at(self, now: datetime, *argv: str) -> Ran:
        """Runs the tool with its clock at ``now``."""
        return self.command([sys.executable, "-c", CLOCKED, now.isoformat()], *argv)

    def without_server_libraries(self, *argv: str) -> Ran:
        return self.command([sys.executable, "-c", WITHOUT], *argv)

    def request(
        self,
        contract: str,
        *extra: str,
        old_key: str = "old.key",
        env: dict[str, str] | None = None,
    ) -> Ran:
        return self(
            "request",
            "--contract",
            contract,
            "--old-key",
            old_key,
            "--email",
            EMAIL,
            *extra,
            env=env,
        )


def old_server_key(clients: Clients, purchase: str) -> tuple[str, str]:
    """A contract whose key the old server got through the product site: (number, key)."""
    contract = new_contract(clients, "neo-backup", purchase)
    submitted = submit_initial(clients, contract.contract_number, OLD_SERVER)
    issued = clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id))
    return contract.contract_number, issued.license_key


def key_request(clients: Clients, request_id: str) -> resources_pb2.KeyRequest:
    request = license_service_pb2.GetKeyRequestRequest(id=request_id)
    answer: resources_pb2.KeyRequest = clients.site("GetKeyRequest", request)
    return answer


def flip(part: str) -> str:
    """One base64url character changed for another, in the middle: a copying error."""
    middle = len(part) // 2
    return part[:middle] + ("B" if part[middle] == "A" else "A") + part[middle + 1 :]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def customer(clients: Clients, tmp_path: Path) -> Customer:
    directory = tmp_path / "new-server"
    directory.mkdir()
    return Customer(directory, clients.address, clients.tokens["migration"])


def test_a_customer_moves_servers_with_the_migration_tool_alone(
    clients: Clients, customer: Customer
) -> None:
    # Covered on the server's today, so a re-issue is a support service it is entitled to.
    today = clients.today.isoformat()
    contract, old_key = old_server_key(clients, today)
    (customer.directory / "old.key").write_text(old_key + "\n")

    first, second = customer("fingerprint", "--json"), customer("fingerprint", "--json")
    assert first.code == 0, first.stderr
    fingerprint = first.json()["fingerprint"]
    assert fingerprint.startswith("fp1:")
    assert second.json()["fingerprint"] == fingerprint  # stable across runs
    assert [source["name"] for source in first.json()["sources"]] == [
        "machine-id",
        "product-uuid",
        "mac-addresses",
        "hostname",
    ]
    assert customer("fingerprint").stdout == fingerprint + "\n"

    saved = customer("jwks", "--output", "jwks.json")
    assert saved.code == 0, saved.stderr
    assert json.loads((customer.directory / "jwks.json").read_text())["keys"]

    before = datetime.now(UTC)
    asked = customer.request(contract, "--json")
    after = datetime.now(UTC)
    assert asked.code == 0, asked.stderr
    answer = asked.json()
    stored = key_request(clients, answer["key_request_id"])
    assert stored.kind == resources_pb2.KEY_REQUEST_KIND_REISSUE
    assert answer["due_date"] == stored.due_date
    assert answer["release_time"] == stored.release_time.ToDatetime(tzinfo=UTC).isoformat()
    due, release = date.fromisoformat(stored.due_date), stored.release_time.ToDatetime(tzinfo=UTC)
    # Fresh from SubmitKeyRequest, so not released yet: "今日中 ..." or "翌営業日 ...", in
    # the words of some instant while the tool ran.
    assert answer["state"] == "PENDING"
    assert answer["schedule"] in {describe_schedule(due, release, now) for now in (before, after)}
    assert answer["repeated"] is False

    state_file = customer.directory / "keysvc-migrate.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    state = json.loads(state_file.read_text())
    assert state["key_request_id"] == answer["key_request_id"]
    assert state["request_id"] == answer["request_id"]
    assert state["fingerprint"] == fingerprint

    again = customer.request(contract, "--json")
    assert again.code == 0, again.stderr
    assert again.json()["key_request_id"] == answer["key_request_id"]
    assert again.json()["request_id"] == answer["request_id"]
    assert again.json()["repeated"] is True

    # Support releases it now: the test may run outside business hours.
    clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=answer["key_request_id"]))
    waited = customer("wait", "--json", "--timeout", "60", "--interval", "0.5")
    assert waited.code == 0, waited.stderr
    assert waited.json()["state"] == "RELEASED"
    released_request = key_request(clients, answer["key_request_id"])
    assert waited.json()["license_serial"] == released_request.license_serial

    installed = customer("install", "--key-file", "license.key", "--json")
    assert installed.code == 0, installed.stderr
    key_file = customer.directory / "license.key"
    assert key_file.read_text() == released_request.license_key + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    verified = customer("verify", "--key-file", "license.key", "--jwks", "jwks.json", "--json")
    assert verified.code == 0, verified.stderr
    claims = verified.json()["claims"]
    assert claims["serial"] == released_request.license_serial
    assert claims["contract_number"] == contract
    assert claims["product_code"] == "neo-backup"
    assert claims["generation"] == 2
    assert verified.json()["fingerprint"] == fingerprint
    assert verified.json()["fingerprint_origin"] == "this machine"

    # The old key: keysvc knows it is superseded ...
    status = clients.site(
        "VerifyLicenseKey", license_service_pb2.VerifyLicenseKeyRequest(license_key=old_key)
    )
    assert status.valid
    assert status.license_status == resources_pb2.LICENSE_STATUS_SUPERSEDED
    # ... offline, its signature still holds for the old server: the tool says it cannot know.
    offline = customer(
        "verify", "--key-file", "old.key", "--jwks", "jwks.json", "--fingerprint", OLD_SERVER
    )
    assert offline.code == 0, offline.stderr
    assert "superseded" in offline.stdout
    here = customer("verify", "--key-file", "old.key", "--jwks", "jwks.json", "--json")
    assert here.code == 1
    assert here.json()["error"]["reason"] == "FINGERPRINT_MISMATCH"
    assert here.json()["claims"]["generation"] == 1


def test_refusals_and_failures_have_their_reasons_and_exit_codes(
    clients: Clients, customer: Customer
) -> None:
    today = clients.today.isoformat()
    contract, old_key = old_server_key(clients, today)
    (customer.directory / "old.key").write_text(old_key + "\n")

    unknown = customer.request("SS-2026-999999", "--json")
    assert unknown.code == 1
    assert unknown.json()["error"]["reason"] == "CONTRACT_NOT_FOUND"
    assert "CONTRACT_NOT_FOUND" in unknown.stderr
    assert "No contract has this support service number." in unknown.stderr

    other = new_contract(clients, "neo-backup", today).contract_number
    foreign = customer.request(other, "--json")
    assert foreign.code == 1
    assert foreign.json()["error"]["reason"] == "PREVIOUS_LICENSE_NOT_FOUND"
    assert "PREVIOUS_LICENSE_NOT_FOUND" in foreign.stderr
    # Refused, so nothing was made: the state file is as it was (none), ready for a retry.
    assert not (customer.directory / "keysvc-migrate.json").exists()

    header, payload, signature = old_key.split(".")
    (customer.directory / "tampered.key").write_text(f"{header}.{payload}.{flip(signature)}")
    tampered = customer.request(contract, "--json", old_key="tampered.key")
    assert tampered.code == 1
    assert tampered.json()["error"]["reason"] == "LICENSE_KEY_BAD_SIGNATURE"
    assert tampered.json()["error"]["metadata"]["field"] == "previous_key"

    stranger = customer.request(contract, env={"KEYSVC_TOKEN": "ksv1.0000000000000000.nope"})
    assert stranger.code == 4
    assert "UNAUTHENTICATED" in stranger.stderr

    nowhere = customer.request(
        contract, "--json", env={"KEYSVC_ADDRESS": f"127.0.0.1:{closed_port()}"}
    )
    assert nowhere.code == 3
    assert nowhere.json()["error"]["reason"] == "UNAVAILABLE"
    # Unreachable, the request may or may not have been made: the state keeps its id.
    state = json.loads((customer.directory / "keysvc-migrate.json").read_text())
    assert state["key_request_id"] == ""

    # The same command, reachable: the kept request_id goes out, and the request is made.
    made = customer.request(contract, "--json")
    assert made.code == 0, made.stderr
    assert made.json()["request_id"] == state["request_id"]

    assert customer("jwks", "--output", "jwks.json").code == 0
    (customer.directory / "tampered-license.key").write_text(
        f"{header}.{flip(payload)}.{signature}"
    )
    broken = customer("verify", "--key-file", "tampered-license.key", "--jwks", "jwks.json")
    assert broken.code == 1
    assert "LICENSE_KEY_BAD_SIGNATURE" in broken.stderr
    assert "copy it again from the e-mail" in broken.stderr


@pytest.fixture
def clocked_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """A server of our own (SQLite), on Friday 2026-11-20 17:00 JST: the cutoff."""
    clock = tmp_path / "clock"
    set_clock(clock, datetime(2026, 11, 20, 17, 0, tzinfo=TOKYO))
    data = tmp_path / "data"
    env = server_environment("sqlite", data)
    with keysvc_server(data, env, clock_file=clock) as server:
        tokens = {role: create_token(data, role, env) for role in ("site", "migration", "admin")}
        yield server, tokens


def test_wait_install_and_verify_with_the_server_then_stopped(
    clocked_server: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = clocked_server
    friday_cutoff = datetime(2026, 11, 20, 17, 0, tzinfo=TOKYO)
    with grpc.insecure_channel(server.address) as channel:
        clients = Clients(channel, tokens, server.address)
        contract, old_key = old_server_key(clients, "2026-11-02")
        customer = Customer(tmp_path, server.address, tokens["migration"])
        (tmp_path / "old.key").write_text(old_key)
        request = ["request", "--contract", contract, "--old-key", "old.key", "--email", EMAIL]

        asked = customer.at(friday_cutoff, *request, "--json")
        assert asked.code == 0, asked.stderr
        # At the cutoff: Monday the 23rd is Labour Thanksgiving Day.
        assert asked.json()["schedule"] == "翌営業日 2026-11-24 09:00 JST"
        assert asked.json()["due_date"] == "2026-11-24"
        english = customer.at(friday_cutoff, *request, "--lang", "en").stdout
        assert "release:       next business day, 2026-11-24 09:00 JST" in english

        timed_out = customer("wait", "--timeout", "1", "--interval", "0.2", "--json")
        assert timed_out.code == 5
        assert timed_out.json()["error"]["reason"] == "WAIT_TIMEOUT"
        assert timed_out.json()["state"] == "PENDING"

        early = customer("install", "--key-file", "license.key")
        assert early.code == 1
        assert "KEY_REQUEST_NOT_RELEASED" in early.stderr
        assert not (tmp_path / "license.key").exists()

        number = asked.json()["key_request_id"]
        clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=str(number)))
        waited = customer.at(friday_cutoff, "wait", "--install", "license.key", "--json")
        assert waited.code == 0, waited.stderr
        assert waited.json()["schedule"] == "発行済み (2026-11-20 17:00 JST)"
        # The old key keeps working for five business days: Tuesday 24 to Monday 30.
        assert waited.json()["previous_key"] == "旧キーは 2026年11月30日 09:00 まで有効です"
        assert waited.json()["previous_key_valid_until"] == "2026-11-30T00:00:00+00:00"
        assert "old key:       旧キーは 2026年11月30日 09:00 まで有効です" in (
            customer.at(friday_cutoff, "wait").stdout
        )
        assert waited.json()["installed"]["valid"] is True
        assert customer("jwks", "--output", "jwks.json").code == 0
    server.stop()

    verify = ["verify", "--key-file", "license.key", "--jwks", "jwks.json"]
    offline = customer(*verify, "--json")
    assert offline.code == 0, offline.stderr
    assert offline.json()["claims"]["contract_number"] == contract
    # Neither the server's libraries nor gRPC: nothing here can reach the network.
    isolated = customer.without_server_libraries(*verify)
    assert isolated.code == 0, isolated.stderr
    assert isolated.stdout.startswith("valid: genuine, and issued for this fingerprint")

    gone = customer(*request, "--json")
    assert gone.code == 3
    assert gone.json()["error"]["reason"] == "UNAVAILABLE"
    assert customer("wait", "--timeout", "1").code == 3


def test_a_same_day_request_comes_back_released_and_says_today(
    clocked_server: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = clocked_server
    with grpc.insecure_channel(server.address) as channel:
        clients = Clients(channel, tokens, server.address)
        contract, old_key = old_server_key(clients, "2026-11-02")  # on Friday, after the cutoff
    # Tuesday 10:00, a business day before the cutoff: due today, released at once.
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
    set_clock(tmp_path / "clock", tuesday)
    customer = Customer(tmp_path, server.address, tokens["migration"])
    (tmp_path / "old.key").write_text(old_key)
    request = ["request", "--contract", contract, "--old-key", "old.key", "--email", EMAIL]

    asked = customer.at(tuesday, *request, "--json")
    assert asked.code == 0, asked.stderr
    answer = asked.json()
    assert (answer["state"], answer["due_date"]) == ("RELEASED", "2026-11-24")
    assert answer["schedule"] == "今日中 (発行済み 2026-11-24 10:00 JST)"
    for_people = customer.at(tuesday, *request).stdout
    assert "due date:      2026-11-24\n" in for_people
    assert "release:       今日中 (発行済み 2026-11-24 10:00 JST)\n" in for_people
    english = customer.at(tuesday, *request, "--lang", "en").stdout
    assert "release:       today (released 2026-11-24 10:00 JST)\n" in english


def test_the_installed_command_runs_outside_the_source_tree(tmp_path: Path) -> None:
    ran = subprocess.run(
        [str(MIGRATE), "--version"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0
    assert ran.stdout.startswith("keysvc-migrate ")
