"""The three clients over TLS and mutual TLS, configured as their users configure them.

`keysvc.client` with `ClientConfig(tls_ca=..., tls_cert=..., tls_key=...)`,
`keysvc admin` with `--tls-*` or `KEYSVC_TLS_*`, and `keysvc-migrate` the same
way, each against a real `keysvc serve` with TLS (and one requiring client
certificates), with certificates the test makes (tests/e2e/certificates.py).
The servers run on the Sunday clock of conftest.py, so requests wait until
the test issues them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from keysvc.client import (
    NO_RETRY,
    TLS_HANDSHAKE_FAILED,
    AdminClient,
    ClientConfig,
    LicenseClient,
    UnavailableError,
)
from keysvc.v1 import admin_service_pb2, resources_pb2
from signing import LicenseVerifier

from .certificates import Pair, make_authority
from .clocked_keysvc import set_clock
from .conftest import PASSPHRASE, SERVER_NOW
from .server_process import create_token, keysvc_server

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
INITIAL = resources_pb2.KEY_REQUEST_KIND_INITIAL
OLD_SERVER = "fp1:tls-old-server"
# The developer's shell must not configure the tools' connection.
_CLEARED = (
    "KEYSVC_ADDRESS",
    "KEYSVC_TOKEN",
    "KEYSVC_TOKEN_FILE",
    "KEYSVC_TLS_CA",
    "KEYSVC_TLS_CLIENT_CERT",
    "KEYSVC_TLS_CLIENT_KEY",
    "KEYSVC_MIGRATE_STATE_FILE",
    "GRPC_VERBOSITY",
)


@dataclass(frozen=True)
class Authority:
    ca: Pair
    server: Pair
    client: Pair
    other_ca: Pair  # a CA of the same name that did not sign the server's certificate
    stranger: Pair  # a client certificate from other_ca


@dataclass(frozen=True)
class Server:
    address: str
    tokens: dict[str, str]

    def config(self, role: str, **tls: Path) -> ClientConfig:
        return ClientConfig(address=self.address, token=self.tokens[role], **tls)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    ours, theirs = tmp_path_factory.mktemp("ca"), tmp_path_factory.mktemp("other-ca")
    ca, server, client = make_authority(ours)
    other_ca, _, stranger = make_authority(theirs)
    return Authority(ca, server, client, other_ca, stranger)


def _server(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("tls") / "data"
    clock = data.parent / "clock"
    set_clock(clock, SERVER_NOW, ticking=True)
    env = PASSPHRASE | env
    with keysvc_server(data, env, clock_file=clock) as server:
        roles = ("site", "migration", "admin")
        yield Server(server.address, {role: create_token(data, role, env) for role in roles})


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[Server]:
    yield from _server(
        tmp_path_factory,
        {
            "KEYSVC_TLS_CERT_FILE": str(authority.server.cert),
            "KEYSVC_TLS_KEY_FILE": str(authority.server.key),
        },
    )


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[Server]:
    yield from _server(
        tmp_path_factory,
        {
            "KEYSVC_TLS_CERT_FILE": str(authority.server.cert),
            "KEYSVC_TLS_KEY_FILE": str(authority.server.key),
            "KEYSVC_TLS_CLIENT_CA_FILE": str(authority.ca.cert),
        },
    )


def _contract(admin: AdminClient) -> str:
    """A neo-backup contract covered on the server's today."""
    today = SERVER_NOW.date().isoformat()
    return admin.create_contract(
        admin_service_pb2.CreateContractRequest(
            product_code="neo-backup",
            customer_name="株式会社ティーエルエス",
            contact_email="it@example.co.jp",
            seats=5,
            purchase_date=today,
            accept_date=today,
        )
    ).contract_number


def _run(
    tool: str, *argv: str | Path, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    return subprocess.run(
        [str(BIN / tool), *map(str, argv)],
        cwd=cwd,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_client_library_issues_a_key_over_tls(tls_server: Server, authority: Authority) -> None:
    tls = {"tls_ca": authority.ca.cert}
    with (
        AdminClient(tls_server.config("admin", **tls)) as admin,
        LicenseClient(tls_server.config("site", **tls)) as site,
    ):
        number = _contract(admin)
        submitted = site.submit_key_request(number, INITIAL, fingerprint=OLD_SERVER)
        assert submitted.state == resources_pb2.KEY_REQUEST_STATE_PENDING  # a Sunday
        admin.issue_key_now(submitted.id)
        released = site.wait_for_release(submitted.id, timeout=5, poll_interval=0.1)
        verifier = LicenseVerifier.from_jwks(site.jwks())
        claims = verifier.verify(released.license_key, fingerprint=OLD_SERVER).claims
        assert claims.contract_number == number


def test_the_client_library_over_mutual_tls_needs_a_certificate_from_the_ca(
    mtls_server: Server, authority: Authority
) -> None:
    ca, client = authority.ca.cert, authority.client
    mutual = {"tls_ca": ca, "tls_cert": client.cert, "tls_key": client.key}
    with (
        AdminClient(mtls_server.config("admin", **mutual)) as admin,
        LicenseClient(mtls_server.config("site", **mutual)) as site,
    ):
        number = _contract(admin)
        submitted = site.submit_key_request(number, INITIAL, fingerprint=OLD_SERVER)
        assert site.get_key_request(submitted.id).contract_number == number

    stranger = authority.stranger
    for tls in (
        {"tls_ca": ca},
        {"tls_ca": ca, "tls_cert": stranger.cert, "tls_key": stranger.key},
    ):
        # Refused for good: no point in retrying it here.
        config = replace(mtls_server.config("site", **tls), retry=NO_RETRY)
        with LicenseClient(config) as site, pytest.raises(UnavailableError) as refused:
            site.jwks()
        assert refused.value.reason == "UNAVAILABLE"


def test_a_server_certificate_the_ca_did_not_sign_is_a_clear_tls_failure(
    tls_server: Server, authority: Authority, tmp_path: Path
) -> None:
    # The library: its own reason, and no retries (they cannot help).
    attempts = 0

    def counting(pause: float) -> None:
        nonlocal attempts
        attempts += 1

    config = tls_server.config("site", tls_ca=authority.other_ca.cert)
    with (
        LicenseClient(config, sleep=counting) as site,
        pytest.raises(UnavailableError) as refused,
    ):
        site.jwks()
    assert refused.value.reason == TLS_HANDSHAKE_FAILED
    assert not refused.value.transient
    assert attempts == 0
    # Plain TLS towards it, the other way round, is no handshake at all.
    plaintext = tls_server.config("site")
    with LicenseClient(plaintext) as site, pytest.raises(UnavailableError) as closed:
        site.jwks()
    assert closed.value.reason == "UNAVAILABLE"

    env = {"KEYSVC_ADDRESS": tls_server.address, "KEYSVC_TLS_CA": str(authority.other_ca.cert)}
    admin = _run(
        "keysvc",
        "admin",
        "contracts",
        "list",
        "--json",
        cwd=tmp_path,
        env=env | {"KEYSVC_TOKEN": tls_server.tokens["admin"]},
    )
    assert admin.returncode == 3
    assert json.loads(admin.stdout)["error"]["reason"] == TLS_HANDSHAKE_FAILED
    lines = admin.stderr.splitlines()
    assert lines[0].startswith("error: TLS_HANDSHAKE_FAILED: ")
    assert lines[1] == (
        "  The TLS handshake failed: the server's certificate is not signed by the CA given "
        "(--tls-ca, KEYSVC_TLS_CA) or is not for this address, or the server does not use TLS."
    )
    assert len(lines) == 2  # nothing of grpc core's own logging

    migrate = _run(
        "keysvc-migrate",
        "jwks",
        "--json",
        cwd=tmp_path,
        env=env | {"KEYSVC_TOKEN": tls_server.tokens["migration"]},
    )
    assert migrate.returncode == 3
    assert json.loads(migrate.stdout)["error"]["reason"] == TLS_HANDSHAKE_FAILED
    assert "the server's certificate is not signed by the CA given" in migrate.stderr


def test_keysvc_admin_works_over_tls_and_mutual_tls(
    tls_server: Server, mtls_server: Server, authority: Authority, tmp_path: Path
) -> None:
    token_file = tmp_path / "admin.token"
    token_file.write_text(tls_server.tokens["admin"] + "\n")
    create = ("contracts", "create", "--product", "neo-webconf", "--customer", "株式会社TLS",
              "--email", "it@example.co.jp", "--seats", "3",
              "--purchase-date", "2026-11-22")  # fmt: skip
    made = _run(
        "keysvc",
        "admin",
        *create,
        "--request-id",
        str(uuid.uuid4()),
        "--address",
        tls_server.address,
        "--token-file",
        token_file,
        "--tls-ca",
        authority.ca.cert,
        "--json",
        cwd=tmp_path,
        env={},
    )
    assert made.returncode == 0, made.stderr
    number = json.loads(made.stdout)["contract_number"]
    # The same from the environment, as support staff set it up.
    env = {
        "KEYSVC_ADDRESS": tls_server.address,
        "KEYSVC_TOKEN_FILE": str(token_file),
        "KEYSVC_TLS_CA": str(authority.ca.cert),
    }
    shown = _run("keysvc", "admin", "contracts", "show", number, "--json", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["product_code"] == "neo-webconf"

    client = authority.client
    mutual = {
        "KEYSVC_ADDRESS": mtls_server.address,
        "KEYSVC_TOKEN": mtls_server.tokens["admin"],
        "KEYSVC_TLS_CA": str(authority.ca.cert),
        "KEYSVC_TLS_CLIENT_CERT": str(client.cert),
        "KEYSVC_TLS_CLIENT_KEY": str(client.key),
    }
    listed = _run("keysvc", "admin", "keys", "list", "--json", cwd=tmp_path, env=mutual)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["items"]
    without = {k: v for k, v in mutual.items() if not k.startswith("KEYSVC_TLS_CLIENT")}
    refused = _run("keysvc", "admin", "keys", "list", "--json", cwd=tmp_path, env=without)
    assert refused.returncode == 3
    assert json.loads(refused.stdout)["error"]["code"] == "UNAVAILABLE"


def test_keysvc_migrate_moves_a_server_over_tls(
    tls_server: Server, mtls_server: Server, authority: Authority, tmp_path: Path
) -> None:
    with (
        AdminClient(tls_server.config("admin", tls_ca=authority.ca.cert)) as admin,
        LicenseClient(tls_server.config("site", tls_ca=authority.ca.cert)) as site,
    ):
        number = _contract(admin)
        first = site.submit_key_request(number, INITIAL, fingerprint=OLD_SERVER)
        old_key = admin.issue_key_now(first.id).license_key
        (tmp_path / "old.key").write_text(old_key + "\n")

        env = {
            "KEYSVC_ADDRESS": tls_server.address,
            "KEYSVC_TOKEN": tls_server.tokens["migration"],
            "KEYSVC_TLS_CA": str(authority.ca.cert),
        }

        def migrate(*argv: str) -> dict[str, Any]:
            ran = _run("keysvc-migrate", *argv, "--json", cwd=tmp_path, env=env)
            assert ran.returncode == 0, ran.stderr
            document: dict[str, Any] = json.loads(ran.stdout)
            return document

        migrate("jwks", "--output", "jwks.json")
        asked = migrate(
            "request", "--contract", number, "--old-key", "old.key", "--email", "it@example.co.jp"
        )
        assert asked["state"] == "PENDING"
        admin.issue_key_now(str(asked["key_request_id"]))
        waited = migrate("wait", "--install", "license.key", "--timeout", "30", "--interval", "0.2")
        assert waited["state"] == "RELEASED"
        verified = migrate("verify", "--key-file", "license.key", "--jwks", "jwks.json")
        assert verified["claims"]["generation"] == 2

    client = authority.client
    mutual = [
        "--address", mtls_server.address, "--tls-ca", str(authority.ca.cert),
        "--tls-cert", str(client.cert), "--tls-key", str(client.key),
    ]  # fmt: skip
    env = {"KEYSVC_TOKEN": mtls_server.tokens["migration"]}
    fetched = _run("keysvc-migrate", "jwks", *mutual, "--json", cwd=tmp_path, env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["ok"] is True
