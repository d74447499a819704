"""Withdrawing a signing key through the admin CLI against a real server (docs/signing-keys.md):
confirmation, the key gone from the JWKS, the old key refused as withdrawn, and the
replacement released by the server's own release loop and shown in `keys list`."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from signing import LicenseVerifier

from .clocked_keysvc import set_clock
from .conftest import server_environment
from .server_process import create_token, keysvc_server
from .test_admin_cli import AdminCli, _create

JST = ZoneInfo("Asia/Tokyo")


def _keys(cli: AdminCli) -> dict[str, dict[str, Any]]:
    return {key["kid"]: key for key in cli.json("keys", "list")["items"]}


def test_a_withdrawn_keys_licenses_get_replacements_from_the_release_loop(
    tmp_path: Path,
) -> None:
    clock = tmp_path / "clock"
    set_clock(clock, datetime(2026, 12, 7, 10, 0, tzinfo=JST))  # a business morning
    data = tmp_path / "data"
    env = server_environment("sqlite", data)
    with keysvc_server(data, env, clock_file=clock) as server:
        cli = AdminCli(server.address, create_token(data, "admin", env))
        number = _create(cli, "neo-backup", "2026-12-01")["contract_number"]
        kind = ("--kind", "initial", "--fingerprint", "fp1:e2e-withdrawal")
        submitted = cli.json("requests", "submit", number, *kind)
        issued = cli.json("requests", "issue-now", submitted["id"])
        old_key = issued["license_key"]
        (old_kid,) = _keys(cli)
        cli.json("keys", "rotate")

        # The active key is refused; without a terminal, --yes is required.
        active = next(kid for kid, key in _keys(cli).items() if kid != old_kid)
        withdraw = ("keys", "withdraw")
        cli.fails(
            *withdraw, active, "--reason", "x", "--yes", exit_code=1, reason="SIGNING_KEY_ACTIVE"
        )
        unconfirmed = cli.run(*withdraw, old_kid, "--reason", "x", "--json")
        assert unconfirmed.returncode == 2
        assert json.loads(unconfirmed.stdout)["error"]["reason"] == "NOT_CONFIRMED"
        assert "--yes" in unconfirmed.stderr
        assert _keys(cli)[old_kid]["state"] == "SIGNING_KEY_STATE_RETIRED"

        withdrawn = cli.json("keys", "withdraw", old_kid, "--reason", "秘密鍵漏えいの疑い", "--yes")
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
