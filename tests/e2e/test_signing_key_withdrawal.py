"""Withdrawing a signing key through the admin CLI against a real server (docs/signing-keys.md):
confirmation, the key gone from the JWKS, the old key refused as withdrawn, and the
replacement released by the server's own release loop and shown in `keys list`."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from signing import (
    LicenseVerifier,
    StatusOutcome,
    UnknownStatusListKeyId,
    check_status,
    parse_status_list_token,
)

from .clocked_keysvc import set_clock
from .conftest import BACKENDS, server_environment
from .server_process import create_token, keysvc_server
from .test_admin_cli import AdminCli, _create
from .test_status_lists import _free_port, fetch

JST = ZoneInfo("Asia/Tokyo")


def _keys(cli: AdminCli) -> dict[str, dict[str, Any]]:
    return {key["kid"]: key for key in cli.json("keys", "list")["items"]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_withdrawn_keys_licenses_get_replacements_from_the_release_loop(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    clock = tmp_path / "clock"
    morning = datetime(2026, 12, 7, 10, 0, tzinfo=JST)  # a business morning
    set_clock(clock, morning, ticking=True)
    data = tmp_path / "data"
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    env = server_environment(backend, data, url)
    status = f"127.0.0.1:{_free_port()}"
    arguments = ("--data-dir", str(data), "--listen", "127.0.0.1:0", "--status-listen", status)
    with keysvc_server(data, env, clock_file=clock, arguments=arguments) as server:
        cli = AdminCli(server.address, create_token(data, "admin", env))
        number = _create(cli, "neo-backup", "2026-12-01")["contract_number"]
        kind = ("--kind", "initial", "--fingerprint", "fp1:e2e-withdrawal")
        submitted = cli.json("requests", "submit", number, *kind)
        issued = cli.json("requests", "issue-now", submitted["id"])
        old_key = issued["license_key"]
        (old_kid,) = _keys(cli)
        jwks_before = cli.ok("keys", "export-jwks")
        cli.json("keys", "rotate")

        # The active key is refused; without a terminal, --yes is required.
        active = next(kid for kid, key in _keys(cli).items() if kid != old_kid)

        def withdraw(kid: str, *options: str) -> subprocess.CompletedProcess[str]:
            # `--` before the kid: one may start with '-' (base64url).
            return cli.run("keys", "withdraw", *options, "--json", "--", kid)

        refused = withdraw(active, "--reason", "x", "--yes")
        assert refused.returncode == 1
        assert json.loads(refused.stdout)["error"]["reason"] == "SIGNING_KEY_ACTIVE"
        unconfirmed = withdraw(old_kid, "--reason", "x")
        assert unconfirmed.returncode == 2
        assert json.loads(unconfirmed.stdout)["error"]["reason"] == "NOT_CONFIRMED"
        assert "--yes" in unconfirmed.stderr
        assert _keys(cli)[old_kid]["state"] == "SIGNING_KEY_STATE_RETIRED"

        answered = withdraw(old_kid, "--reason", "秘密鍵漏えいの疑い", "--yes")
        assert answered.returncode == 0, answered.stderr
        withdrawn = json.loads(answered.stdout)
        assert withdrawn["state"] == "SIGNING_KEY_STATE_WITHDRAWN"
        assert withdrawn["withdraw_reason"] == "秘密鍵漏えいの疑い"
        assert withdrawn["replacements_total"] == 1

        # The release loop runs every 2 s: the replacement comes out on its own.
        deadline = time.monotonic() + 30
        while _keys(cli)[old_kid].get("replacements_released", 0) != 1:
            assert time.monotonic() < deadline, "the replacement was not released"
            time.sleep(0.5)
        assert "1/1" in cli.ok("keys", "list")

        jwks = cli.ok("keys", "export-jwks")
        assert old_kid not in {key["kid"] for key in json.loads(jwks)["keys"]}
        # The listener's JWKS, what products fetch, has lost it too.
        _, _, served = fetch(status, "/.well-known/jwks.json")
        assert old_kid not in {key["kid"] for key in json.loads(served)["keys"]}
        checked = cli.run("licenses", "verify", "-", "--json", stdin=old_key)
        assert json.loads(checked.stdout)["reason"] == "LICENSE_KEY_SIGNING_KEY_WITHDRAWN"

        requests = cli.json("requests", "list", "--contract", number, "--all")["items"]
        (replacement,) = [r for r in requests if r["kind"] == "KEY_REQUEST_KIND_REPLACEMENT"]
        assert replacement["state"] == "KEY_REQUEST_STATE_RELEASED"
        shown = cli.json("requests", "show", replacement["id"])
        new_key = shown["license_key"]
        verified = LicenseVerifier.from_jwks(jwks).verify(new_key, "fp1:e2e-withdrawal")
        assert verified.claims.generation == 2
        assert verified.claims.contract_number == number
        # The list, signed again by the active key, says the old key is INVALID and its
        # replacement VALID.
        old = LicenseVerifier.from_jwks(jwks_before).verify(old_key)
        uri = verified.claims.status.uri
        assert old.claims.status.uri == uri
        published = LicenseVerifier.from_jwks(served.decode())
        deadline = time.monotonic() + 30
        while True:
            code, _, token = fetch(status, uri.removeprefix(f"http://{status}"))
            status_list = None  # 404: not published yet
            # UnknownStatusListKeyId: still the token the withdrawn key signed.
            with contextlib.suppress(UnknownStatusListKeyId):
                if code == 200:
                    status_list = parse_status_list_token(
                        token.decode(), published, expected_uri=uri
                    )
            if (
                status_list is not None
                and check_status(old, status_list, now=status_list.issued_at)
                is StatusOutcome.INVALID
            ):
                break
            assert time.monotonic() < deadline, "the list was not signed again"
            time.sleep(0.5)
        assert check_status(verified, status_list, now=status_list.issued_at) is StatusOutcome.VALID
        # The customer's e-mail with the replacement key, delivered to the Maildir.
        deadline = time.monotonic() + 30
        while not _mail_with(data / "mail", shown["license_key"]):
            assert time.monotonic() < deadline, "no e-mail with the replacement key"
            time.sleep(0.5)


def _mail_with(maildir: Path, text: str) -> bool:
    """Whether a delivered message's body holds `text` (its lines unwrapped)."""
    for path in maildir.glob("*/keysvc.*"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = message.get_body(preferencelist=("plain",))
        if body is not None and text in "".join(body.get_content().split()):
            return True
    return False
