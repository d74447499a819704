"""`keysvc admin`, the real command, against a real server: a day of support work.

Every command runs as a process (`.venv/bin/keysvc admin ...`) with the admin
token in KEYSVC_TOKEN, as support staff run it, and its `--json` output is
parsed. The server runs on the fixed clock of `conftest.py` (a Sunday), so
requests wait until a test releases them; expectations never depend on the day
the tests run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.message import Message

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2
from signing import LicenseVerifier

from .clocked_keysvc import set_clock
from .conftest import server_environment
from .server_process import create_token, keysvc_server

pytestmark = pytest.mark.e2e

KEYSVC = Path(sys.executable).with_name("keysvc")
JST = ZoneInfo("Asia/Tokyo")
REFUSED, USAGE, UNAVAILABLE, DENIED = 1, 2, 3, 4


class Clients(Protocol):
    """What this module uses of the `clients` fixture (tests/e2e/conftest.py)."""

    address: str
    tokens: dict[str, str]
    make_token: Callable[[str], str]
    today: date

    # Each answers with the response message of the method named.
    def admin(self, method: str, request: Message) -> Any: ...
    def site(self, method: str, request: Message) -> Any: ...


@dataclass
class AdminCli:
    """Runs `keysvc admin` against the test server, with the admin token unless told."""

    address: str
    token: str

    def run(
        self, *args: str, token: str | None = None, address: str | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "KEYSVC_ADDRESS": address or self.address,
            "KEYSVC_TOKEN": self.token if token is None else token,
        }
        env.pop("KEYSVC_TOKEN_FILE", None)
        return subprocess.run(
            [str(KEYSVC), "admin", *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def ok(self, *args: str) -> str:
        """Runs a command for people; returns its stdout."""
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, *args: str, stdin: str = "") -> dict[str, Any]:
        """Runs a command with --json and returns the parsed document."""
        result = self.run(*args, "--json", stdin=stdin)
        assert result.returncode == 0, result.stderr
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def fails(
        self,
        *args: str,
        exit_code: int,
        reason: str,
        token: str | None = None,
        address: str | None = None,
    ) -> dict[str, Any]:
        """Runs a command that must fail; returns the JSON error object."""
        result = self.run(*args, "--json", token=token, address=address)
        assert result.returncode == exit_code, (result.stdout, result.stderr)
        assert reason in result.stderr
        error: dict[str, Any] = json.loads(result.stdout)["error"]
        assert error["reason"] == reason
        return error


@pytest.fixture(scope="module")
def cli(clients: Clients) -> AdminCli:
    return AdminCli(clients.address, clients.tokens["admin"])


def _contract(clients: Clients) -> str:
    """A neo-webconf contract covered today (purchased today), made through the API."""
    today = clients.today.isoformat()
    request = admin_service_pb2.CreateContractRequest(
        request_id=str(uuid.uuid4()),
        product_code="neo-webconf",
        customer_name="株式会社サンプル",
        contact_email="it@example.co.jp",
        seats=5,
        purchase_date=today,
        accept_date=today,
    )
    number: str = clients.admin("CreateContract", request).contract_number
    return number


def _submit(
    clients: Clients,
    number: str,
    fingerprint: str,
    kind: resources_pb2.KeyRequestKind.ValueType = resources_pb2.KEY_REQUEST_KIND_INITIAL,
    previous_serial: str = "",
) -> resources_pb2.KeyRequest:
    """Submits a key request as the product site does."""
    request = license_service_pb2.SubmitKeyRequestRequest(
        contract_number=number,
        kind=kind,
        fingerprint=fingerprint,
        previous_license_serial=previous_serial,
    )
    submitted: resources_pb2.KeyRequest = clients.site("SubmitKeyRequest", request)
    return submitted


def _reissue(clients: Clients, number: str, serial: str, server: int) -> resources_pb2.KeyRequest:
    fingerprint = f"fp1:e2e-admin-cli-server-{server}"
    return _submit(clients, number, fingerprint, resources_pb2.KEY_REQUEST_KIND_REISSUE, serial)


def _issue_now(clients: Clients, request_id: str) -> resources_pb2.KeyRequest:
    request = admin_service_pb2.IssueKeyNowRequest(id=request_id)
    released: resources_pb2.KeyRequest = clients.admin("IssueKeyNow", request)
    return released


def _create_args(product: str, purchase: str, *more: str) -> tuple[str, ...]:
    customer = ("--customer", "株式会社サンプル", "--email", "it@example.co.jp", "--seats", "5")
    return ("contracts", "create", "--product", product, *customer, "--purchase-date", purchase,
            *more)  # fmt: skip


def _create(cli: AdminCli, product: str, purchase: str, *more: str) -> dict[str, Any]:
    """Creates a contract with the CLI and returns it as --json printed it."""
    return cli.json(*_create_args(product, purchase, *more))


def test_contracts_of_both_products_get_their_computed_periods(cli: AdminCli) -> None:
    webconf = _create(cli, "neo-webconf", "2026-11-22", "--accept-date", "2026-11-22")
    assert webconf["periods"] == [{"start": "2027-01-01", "end": "2027-12-31"}]
    assert webconf["coverage_start"] == "2026-11-22"
    backup = _create(cli, "neo-backup", "2026-11-01", "--accept-date", "2026-11-01")
    assert backup["periods"] == [{"start": "2026-11-01", "end": "2027-10-31"}]
    assert cli.json("contracts", "show", backup["contract_number"]) == backup

    renewed = cli.json(
        "contracts", "renew", webconf["contract_number"], "--accept-date", "2027-12-01"
    )
    assert renewed["periods"][-1] == {"start": "2028-01-01", "end": "2028-12-31"}

    # neo-backup lapsed for a year or more: a plain renewal is refused, a re-continuation is not.
    number = backup["contract_number"]
    renewal = ("contracts", "renew", number, "--accept-date", "2028-11-30")
    error = cli.fails(*renewal, exit_code=REFUSED, reason="RECONTINUATION_REQUIRED")
    assert error["code"] == "FAILED_PRECONDITION"
    text = cli.ok("contracts", "recontinue", number, "--accept-date", "2028-11-30")
    assert f"Re-continued {number}: new period 2028-12-01 to 2029-11-30." in text

    added = cli.json("contracts", "add-licenses", number, "--seats", "3")
    assert added["contract"]["seats"] == 8  # 5 + 3
    assert "key_request" not in added  # no license yet: nothing to re-key

    status = cli.json("contracts", "status", number, "--date", "2026-11-15")
    assert (status["covered"], status["period_end"]) == (True, "2027-10-31")


def test_contract_lists_page(cli: AdminCli) -> None:
    created = {_create(cli, "neo-backup", "2026-11-22")["contract_number"] for _ in range(3)}
    first = cli.json("contracts", "list", "--page-size", "1")
    assert len(first["items"]) == 1
    assert first["next_page_token"]
    token = first["next_page_token"]
    second = cli.json("contracts", "list", "--page-size", "1", "--page-token", token)
    assert second["items"][0]["contract_number"] > first["items"][0]["contract_number"]

    everything = cli.json("contracts", "list", "--page-size", "1", "--all")
    numbers = [item["contract_number"] for item in everything["items"]]
    assert created <= set(numbers)
    assert numbers == sorted(numbers)
    assert everything["next_page_token"] == ""

    by_product = cli.json("contracts", "list", "--product", "neo-backup", "--all")
    assert {item["product_code"] for item in by_product["items"]} == {"neo-backup"}

    table = cli.ok("contracts", "list", "--page-size", "1")
    assert "contract" in table
    assert "current period" in table
    assert "--page-token" in table


def _mail_state_once_sent(cli: AdminCli, request_id: str) -> str:
    """The request's delivery state as `requests show` gives it, waiting (30 s at most)
    for the server's outbox sender to deliver its e-mail."""
    deadline = time.monotonic() + 30
    while True:
        state: str = cli.json("requests", "show", request_id)["mail_delivery_state"]
        if state != "MAIL_DELIVERY_STATE_QUEUED" or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def test_a_site_request_is_listed_issued_now_and_its_license_revoked(
    clients: Clients, cli: AdminCli
) -> None:
    number = _contract(clients)
    submitted = _submit(clients, number, "fp1:e2e-admin-cli-first-server")
    pending = cli.json("requests", "list", "--pending", "--contract", number)
    assert [item["id"] for item in pending["items"]] == [submitted.id]
    assert pending["total_size"] == 1
    shown = cli.json("requests", "show", submitted.id)
    assert shown["state"] == "KEY_REQUEST_STATE_PENDING"
    assert shown["due_date"] == submitted.due_date

    table = cli.ok("requests", "list", "--contract", number)
    assert "due" in table
    assert submitted.id in table

    released = cli.json("requests", "issue-now", submitted.id)
    assert released["state"] == "KEY_REQUEST_STATE_RELEASED"
    serial = released["license_serial"]
    assert serial
    assert released["license_key"].count(".") == 2
    assert cli.json("requests", "list", "--pending", "--contract", number)["items"] == []
    # The list says of the request's e-mail what `show` says, once the sender has sent it.
    assert _mail_state_once_sent(cli, submitted.id) == "MAIL_DELIVERY_STATE_SENT"
    listed = cli.json("requests", "list", "--contract", number)["items"]
    assert [item["mail_delivery_state"] for item in listed] == ["MAIL_DELIVERY_STATE_SENT"]

    licenses = cli.json("licenses", "list", "--contract", number)
    assert [(lic["serial"], lic["status"]) for lic in licenses["items"]] == [
        (serial, "LICENSE_STATUS_ACTIVE")
    ]
    text = cli.ok("licenses", "revoke", serial, "--reason", "e2e: contract cancelled")
    assert f"Revoked license {serial}" in text
    revoked = cli.json("licenses", "list", "--contract", number, "--status", "revoked")
    assert [(lic["serial"], lic["revoke_reason"]) for lic in revoked["items"]] == [
        (serial, "e2e: contract cancelled")
    ]
    assert cli.json("licenses", "show", serial)["status"] == "LICENSE_STATUS_REVOKED"


def test_a_fourth_reissue_is_held_then_approved_and_a_fifth_rejected(
    clients: Clients, cli: AdminCli
) -> None:
    number = _contract(clients)
    first = _submit(clients, number, "fp1:e2e-admin-cli-server-0")
    serial = _issue_now(clients, first.id).license_serial
    for server in (1, 2, 3):
        serial = _issue_now(clients, _reissue(clients, number, serial, server).id).license_serial
    fourth = _reissue(clients, number, serial, 4)
    held = cli.json("requests", "list", "--held", "--contract", number)
    assert [(r["id"], r["hold_reason"]) for r in held["items"]] == [(fourth.id, "REISSUE_LIMIT")]
    assert "held: REISSUE_LIMIT" in cli.ok("requests", "list", "--held", "--contract", number)

    approved = cli.json("requests", "approve", fourth.id)
    assert approved["state"] == "KEY_REQUEST_STATE_PENDING"
    serial = cli.json("requests", "issue-now", fourth.id)["license_serial"]

    fifth = _reissue(clients, number, serial, 5)
    assert fifth.state == resources_pb2.KEY_REQUEST_STATE_HELD
    text = cli.ok("requests", "reject", fifth.id, "--reason", "too many server changes")
    assert f"Rejected {fifth.id}." in text
    rejected = cli.json("requests", "show", fifth.id)
    assert rejected["state"] == "KEY_REQUEST_STATE_REJECTED"
    assert rejected["reject_reason"] == "too many server changes"
    cli.fails("requests", "approve", fifth.id, exit_code=REFUSED, reason="KEY_REQUEST_REJECTED")


def test_a_closure_over_a_due_date_puts_it_at_risk_until_removed(
    clients: Clients, cli: AdminCli
) -> None:
    number = _contract(clients)
    waiting = _submit(clients, number, "fp1:e2e-admin-cli-at-risk")
    due = date.fromisoformat(waiting.due_date)
    end = due + timedelta(days=2)
    closure = cli.json("closures", "add", str(due), str(end), "--label", "臨時休業")
    at_risk = cli.json("requests", "list", "--pending", "--at-risk", "--contract", number)
    assert [item["id"] for item in at_risk["items"]] == [waiting.id]
    listed = cli.json("closures", "list", "--year", str(due.year), "--all")
    assert closure["id"] in [item["id"] for item in listed["items"]]
    assert "臨時休業" in cli.ok("closures", "list", "--year", str(due.year), "--all")

    removed = cli.ok("closures", "remove", closure["id"])
    assert f"Removed closure {closure['id']}" in removed
    assert cli.json("requests", "list", "--at-risk", "--contract", number)["items"] == []
    late = cli.json("requests", "list", "--late", "--contract", number)
    assert late == {"items": [], "next_page_token": "", "total_size": 0}

    # Clearing the backlog as the scheduler would, as of the request's release time.
    release_time = cli.json("requests", "show", waiting.id)["release_time"]
    cleared = cli.json("requests", "release-due", "--as-of", release_time)
    assert cleared["released_count"] >= 1
    released = cli.json("requests", "show", waiting.id)
    assert released["state"] == "KEY_REQUEST_STATE_RELEASED"
    assert released["license_serial"]
    cli.fails("closures", "remove", closure["id"], exit_code=REFUSED, reason="CLOSURE_NOT_FOUND")


def test_the_calendar_of_a_month_comes_from_the_server(clients: Clients, cli: AdminCli) -> None:
    closure = cli.json("closures", "add", "2026-11-26", "2026-11-27", "--label", "臨時休業")
    try:
        month = cli.json("closures", "calendar", "2026-11")
        text = cli.ok("closures", "calendar", "2026-11")
    finally:
        cli.json("closures", "remove", closure["id"])
    days = {day["date"]: day for day in month["days"]}
    assert len(days) == 30
    assert days["2026-11-23"]["business_day"] is False  # Labour Thanksgiving Day
    assert days["2026-11-23"]["kind"] == "holiday"
    assert days["2026-11-24"]["business_day"] is True
    assert days["2026-11-03"]["kind"] == "holiday"  # Culture Day
    assert (days["2026-11-26"]["kind"], days["2026-11-26"]["label"]) == ("closure", "臨時休業")
    weekends = [d for d in days.values() if date.fromisoformat(d["date"]).weekday() >= 5]
    assert weekends
    assert all(not d["business_day"] and d["kind"] == "weekend" for d in weekends)
    assert month["business_days"] == 30 - len(weekends) - 4  # Nov 3, 23, 26, 27
    assert "November 2026" in text
    assert "23 H" in text
    assert "26 C" in text
    assert "2026-11-26 Thu closure 臨時休業" in text


def test_signing_keys_rotate_and_the_exported_jwks_verifies_old_keys(
    clients: Clients, cli: AdminCli, tmp_path: Path
) -> None:
    number = _contract(clients)
    submitted = _submit(clients, number, "fp1:e2e-admin-cli-keys")
    old_key = _issue_now(clients, submitted.id).license_key
    before = cli.json("keys", "list")["items"]
    assert before[0]["state"] == "SIGNING_KEY_STATE_ACTIVE"

    rotated = cli.json("keys", "rotate")
    assert rotated["state"] == "SIGNING_KEY_STATE_ACTIVE"
    after = cli.json("keys", "list")["items"]
    assert [key["kid"] for key in after][:1] == [rotated["kid"]]
    states = {key["kid"]: key["state"] for key in after}
    assert states[before[0]["kid"]] == "SIGNING_KEY_STATE_RETIRED"
    assert "RETIRED" in cli.ok("keys", "list")

    output = tmp_path / "published" / "jwks.json"
    output.parent.mkdir()
    exported = cli.json("keys", "export-jwks", "--output", str(output))
    assert set(exported["kids"]) == set(states)
    verifier = LicenseVerifier.from_jwks(output.read_text())
    assert verifier.verify(old_key).claims.contract_number == number
    assert list(output.parent.iterdir()) == [output]  # no staging file left behind
    assert json.loads(cli.ok("keys", "export-jwks")) == json.loads(output.read_text())

    # A key a customer mailed in, wrapped by their mail client, checked by support.
    wrapped = "\n".join(old_key[i : i + 76] for i in range(0, len(old_key), 76))
    checked = cli.json("licenses", "verify", "-", stdin=wrapped)
    assert (checked["valid"], checked["license_status"]) == (True, "LICENSE_STATUS_ACTIVE")
    # A character in the middle of the signature: its last ones carry padding bits.
    middle = len(old_key) - 40
    other = "B" if old_key[middle] == "A" else "A"
    tampered_key = old_key[:middle] + other + old_key[middle + 1 :]
    tampered = cli.run("licenses", "verify", "-", stdin=tampered_key)
    assert tampered.returncode == REFUSED
    assert "LICENSE_KEY_BAD_SIGNATURE" in tampered.stdout + tampered.stderr
    # For scripts: the answer is the one document, not followed by an error object.
    scripted = cli.run("licenses", "verify", "-", "--json", stdin=tampered_key)
    assert scripted.returncode == REFUSED
    answer = json.loads(scripted.stdout)
    assert (answer["valid"], answer["reason"]) == (False, "LICENSE_KEY_BAD_SIGNATURE")

    nowhere = tmp_path / "no-such-folder" / "jwks.json"
    unwritable = cli.run("keys", "export-jwks", "--output", str(nowhere), "--json")
    assert unwritable.returncode == REFUSED
    error = json.loads(unwritable.stdout)["error"]
    assert (error["code"], error["reason"]) == (None, "OUTPUT_FILE")
    assert str(nowhere) in error["message"]


def test_the_audit_log_shows_the_cli_s_own_actions(cli: AdminCli) -> None:
    number = _create(cli, "neo-webconf", "2026-11-22")["contract_number"]
    cli.json("contracts", "add-licenses", number, "--seats", "1")
    events = cli.json("audit", "list", "--resource", f"contracts/{number}")["items"]
    assert [event["method"] for event in events] == [
        "/keysvc.v1.AdminService/AddLicenses",  # newest first
        "/keysvc.v1.AdminService/CreateContract",
    ]
    admin_id = cli.token.split(".")[1]
    assert {(e["actor_token_id"], e["actor_role"], e["outcome"]) for e in events} == {
        (admin_id, "admin", "OK")
    }
    mine = cli.json("audit", "list", "--actor", admin_id, "--page-size", "1")
    assert len(mine["items"]) == 1
    assert mine["next_page_token"]
    assert "AdminService/AddLicenses" in cli.ok("audit", "list", "--page-size", "3")


def test_tokens_are_listed_and_revoked(clients: Clients, cli: AdminCli) -> None:
    site = clients.make_token("site")
    site_id = site.split(".")[1]
    listed = cli.json("tokens", "list", "--all")["items"]
    assert {"site"} == {t["role"] for t in listed if t["id"] == site_id}
    assert site.split(".")[2] not in json.dumps(listed)

    text = cli.ok("tokens", "revoke", site_id)
    assert f"Revoked site token {site_id}." in text
    assert site_id not in [t["id"] for t in cli.json("tokens", "list", "--all")["items"]]
    with_revoked = cli.json("tokens", "list", "--all", "--include-revoked")["items"]
    (revoked,) = [t for t in with_revoked if t["id"] == site_id]
    assert revoked["revoke_time"]
    cli.fails("contracts", "list", token=site, exit_code=DENIED, reason="UNAUTHENTICATED")
    own = cli.token.split(".")[1]
    cli.fails("tokens", "revoke", own, exit_code=REFUSED, reason="TOKEN_IS_CALLERS")


def test_failures_have_exit_codes_and_explanations(clients: Clients, cli: AdminCli) -> None:
    error = cli.fails(
        "contracts", "show", "SS-2026-999999", exit_code=REFUSED, reason="CONTRACT_NOT_FOUND"
    )
    assert error["code"] == "NOT_FOUND"
    for_people = cli.run("contracts", "show", "SS-2026-999999")
    assert for_people.returncode == REFUSED
    assert for_people.stdout == ""
    assert "No contract has this support service number." in for_people.stderr

    site = clients.tokens["site"]
    denied = cli.fails(
        "contracts", "list", token=site, exit_code=DENIED, reason="PERMISSION_DENIED"
    )
    assert denied["metadata"]["role"] == "site"
    cli.fails("contracts", "list", token="", exit_code=DENIED, reason="UNAUTHENTICATED")
    nowhere = "127.0.0.1:1"
    cli.fails("contracts", "list", address=nowhere, exit_code=UNAVAILABLE, reason="UNAVAILABLE")

    usage = cli.run("contracts", "create", "--product", "neo-backup")
    assert usage.returncode == USAGE
    assert "required" in usage.stderr
    assert usage.stdout == ""
    scripted = cli.run("contracts", "create", "--product", "neo-backup", "--json")
    assert scripted.returncode == USAGE
    assert json.loads(scripted.stdout)["error"]["reason"] == "USAGE"
    # Failures on this side of the wire answer --json too, with no status code.
    missing = cli.run("licenses", "verify", "/nonexistent/key.txt", "--json")
    assert missing.returncode == REFUSED
    error = json.loads(missing.stdout)["error"]
    assert (error["code"], error["reason"]) == (None, "KEY_FILE")
    assert "error: cannot read the key" in missing.stderr
    assert cli.run("requests", "frobnicate").returncode == USAGE
    unknown = _create_args("neo-nothing", "2026-11-22")
    cli.fails(*unknown, exit_code=REFUSED, reason="UNKNOWN_PRODUCT")


def test_global_options_may_come_first_through_the_keysvc_launcher(clients: Clients) -> None:
    result = subprocess.run(
        [str(KEYSVC), "admin", "--json", "contracts", "list", "--page-size", "1"],
        env={
            **os.environ,
            "KEYSVC_ADDRESS": clients.address,
            "KEYSVC_TOKEN": clients.tokens["admin"],
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "items" in json.loads(result.stdout)


def test_a_request_released_after_its_due_date_is_listed_late(tmp_path: Path) -> None:
    # A server of our own, on a clock that stands still until the test moves it.
    clock = tmp_path / "clock"
    set_clock(clock, datetime(2026, 11, 22, 12, 0, tzinfo=JST))  # Sunday
    data = tmp_path / "data"
    env = server_environment("sqlite", data)
    with keysvc_server(data, env, clock_file=clock) as server:
        cli = AdminCli(server.address, create_token(data, "admin", env))

        def submit(fingerprint: str) -> dict[str, Any]:
            number = _create(cli, "neo-webconf", "2026-11-22")["contract_number"]
            kind = ("--kind", "initial", "--fingerprint", fingerprint)
            return cli.json("requests", "submit", number, *kind)

        on_time, delayed = submit("fp1:e2e-on-time"), submit("fp1:e2e-delayed")
        assert on_time["due_date"] == delayed["due_date"] == "2026-11-24"  # Monday a holiday
        cli.json("requests", "issue-now", on_time["id"])  # early: before its due date
        # Closed on the due day, after the promise was made: the release moves to Wednesday.
        cli.json("closures", "add", "2026-11-24", "2026-11-24", "--label", "臨時休業")
        moved = cli.json("requests", "show", delayed["id"])
        assert moved["at_risk"] is True
        assert moved["release_time"] == "2026-11-25T00:00:00Z"  # 09:00 JST
        assert cli.json("requests", "list", "--late")["items"] == []

        set_clock(clock, datetime(2026, 11, 25, 10, 0, tzinfo=JST))
        cli.json("requests", "release-due")  # unless the release loop was first
        late = cli.json("requests", "list", "--late", "--all")
        assert [item["id"] for item in late["items"]] == [delayed["id"]]
        (item,) = late["items"]
        assert (item["state"], item["late"], item["due_date"]) == (
            "KEY_REQUEST_STATE_RELEASED",
            True,
            "2026-11-24",
        )
        assert late["total_size"] == 1
        assert cli.json("requests", "show", on_time["id"])["late"] is False
        table = cli.ok("requests", "list", "--late")
        assert delayed["id"] in table
        assert on_time["id"] not in table


def test_a_contract_is_mended_and_its_waiting_request_follows_the_new_address(
    clients: Clients, cli: AdminCli
) -> None:
    number = _contract(clients)
    waiting = _submit(clients, number, "fp1:e2e-admin-cli-mended")
    updated = cli.json("contracts", "update", number, "--contact-email", "New-IT@example.co.jp")
    assert (updated["customer_name"], updated["contact_email"]) == (
        "株式会社サンプル",
        "New-IT@example.co.jp",
    )
    assert cli.json("requests", "show", waiting.id)["contact_email"] == "New-IT@example.co.jp"
    text = cli.ok("contracts", "update", number, "--customer-name", "株式会社新社名")
    assert f"Updated contract {number}: customer_name." in text
    assert cli.json("contracts", "show", number)["customer_name"] == "株式会社新社名"
    events = cli.json("audit", "list", "--resource", f"contracts/{number}")["items"]
    assert [e["method"] for e in events][:2] == ["/keysvc.v1.AdminService/UpdateContract"] * 2

    nothing = cli.run("contracts", "update", number, "--json")
    assert nothing.returncode == USAGE
    assert json.loads(nothing.stdout)["error"]["reason"] == "USAGE"
    assert "--customer-name" in nothing.stderr
    error = cli.fails(
        "contracts", "update", number, "--contact-email", "a@b@c.jp",
        exit_code=REFUSED, reason="INVALID_EMAIL",
    )  # fmt: skip
    assert error["metadata"]["field"] == "contract.contact_email"
    cli.fails(
        "contracts", "update", "SS-2026-999999", "--customer-name", "x",
        exit_code=REFUSED, reason="CONTRACT_NOT_FOUND",
    )  # fmt: skip


def test_mail_deliveries_are_listed_without_their_keys(clients: Clients, cli: AdminCli) -> None:
    number = _contract(clients)
    released = _issue_now(clients, _submit(clients, number, "fp1:e2e-admin-cli-mailed").id)
    assert _mail_state_once_sent(cli, released.id) == "MAIL_DELIVERY_STATE_SENT"
    listed = cli.json("mail", "list", "--all")
    (item,) = [d for d in listed["items"] if d["key_request_id"] == released.id]
    assert (item["recipient"], item["state"]) == ("it@example.co.jp", "MAIL_DELIVERY_STATE_SENT")
    assert item["attempts"] >= 1
    assert "send_time" in item
    assert released.license_key not in json.dumps(listed)
    assert released.license_key not in cli.ok("mail", "list", "--all")
    # `failed` lists only what was given up on (the Maildir refuses nothing, so it
    # holds no e-mail of this test).
    failed = cli.json("mail", "failed", "--all")["items"]
    assert all(d["state"] == "MAIL_DELIVERY_STATE_FAILED" for d in failed)
    assert released.id not in {d["key_request_id"] for d in failed}
    assert cli.json("mail", "list", "--state", "sent", "--all")["items"]


def test_a_released_key_s_e_mail_is_sent_again_to_a_corrected_address(
    clients: Clients, cli: AdminCli
) -> None:
    number = _contract(clients)
    released = _issue_now(clients, _submit(clients, number, "fp1:e2e-admin-cli-resent").id)
    resent = cli.json("requests", "resend-mail", released.id, "--to", "desk@example.co.jp")
    assert resent["contact_email"] == "desk@example.co.jp"
    assert _mail_state_once_sent(cli, released.id) == "MAIL_DELIVERY_STATE_SENT"
    listed = cli.json("mail", "list", "--all")["items"]
    recipients = sorted(d["recipient"] for d in listed if d["key_request_id"] == released.id)
    assert recipients == ["desk@example.co.jp", "it@example.co.jp"]
    # A request not released (the server's Sunday: it waits) has no key e-mail to resend.
    waiting = _submit(clients, _contract(clients), "fp1:e2e-admin-cli-not-yet")
    assert waiting.state == resources_pb2.KEY_REQUEST_STATE_PENDING
    cli.fails(
        "requests", "resend-mail", waiting.id,
        exit_code=REFUSED, reason="KEY_REQUEST_NOT_RELEASED",
    )  # fmt: skip
