"""Servers for the end-to-end tests: one per backend per test module."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from .server_process import Clients, create_token, keysvc_server, run_keysvc

PASSPHRASE = {"KEYSVC_SIGNING_KEY_PASSPHRASE": "e2e passphrase, not a secret"}
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def server_environment(backend: str, data: Path, postgres_url: str = "") -> dict[str, str]:
    """The environment of a server on `backend`; a PostgreSQL database is migrated first."""
    env = dict(PASSPHRASE)
    if backend == "postgresql":
        env["KEYSVC_DATABASE_URL"] = postgres_url
        upgraded = run_keysvc("db", "upgrade", "--data-dir", str(data), env=env)
        assert upgraded.returncode == 0, upgraded.stderr
    return env


@pytest.fixture(scope="module", params=BACKENDS)
def clients(request, tmp_path_factory):
    # One server per backend for the module: each test works on contracts of its own.
    data = tmp_path_factory.mktemp(request.param) / "data"
    url = request.getfixturevalue("module_postgres_url") if request.param == "postgresql" else ""
    env = server_environment(request.param, data, url)
    with keysvc_server(data, env) as server, grpc.insecure_channel(server.address) as channel:
        tokens = {role: create_token(data, role, env) for role in ("site", "migration", "admin")}
        clients = Clients(channel, tokens, server.address)
        clients.make_token = lambda role: create_token(data, role, env)
        yield clients
