"""Servers for the end-to-end tests: one per backend per test module.

The shared servers run on a clock set to Sunday 22 November 2026 at noon in
Tokyo (and ticking on from there), so that what the tests see does not depend
on when they run: a request accepted then waits for Tuesday 09:00 (Monday the
23rd is a holiday) until a test releases it. Tests take "now" and "today" from `clients.now` and
`clients.today`, never from the host's clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest

from .clocked_keysvc import set_clock
from .server_process import Clients, create_token, keysvc_server, run_keysvc

SERVER_NOW = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

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


@contextmanager
def backend_clients(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    extra_env: Mapping[str, str] | None = None,
    *,
    clocked: bool = True,
    arguments: Sequence[str] = (),
) -> Iterator[Clients]:
    """A server on the backend `request.param` (one of BACKENDS) and clients with tokens.

    Clocked, it runs on the test clock from SERVER_NOW, ticking; a test may move
    it with `set_clock(clients.clock_file, ...)` and must set it back. Otherwise
    it runs on the host's clock (for coturn, which checks expiries on that one).
    `arguments` are added to ``keysvc serve --data-dir DIR --listen 127.0.0.1:0``.
    """
    data = tmp_path_factory.mktemp(request.param) / "data"
    url = request.getfixturevalue("module_postgres_url") if request.param == "postgresql" else ""
    env = server_environment(request.param, data, url) | dict(extra_env or {})
    clock_file = data.parent / "clock" if clocked else None
    if clock_file is not None:
        set_clock(clock_file, SERVER_NOW, ticking=True)
    with (
        keysvc_server(
            data,
            env,
            clock_file=clock_file,
            arguments=("--data-dir", str(data), "--listen", "127.0.0.1:0", *arguments),
        ) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        tokens = {role: create_token(data, role, env) for role in ("site", "migration", "admin")}
        clients = Clients(channel, tokens, server.address)
        clients.make_token = lambda role: create_token(data, role, env)
        clients.data_dir, clients.environment = data, env
        # Another `keysvc` command on the server's database, e.g. ("audit", "verify").
        clients.keysvc = lambda *args: run_keysvc(*args, "--data-dir", str(data), env=env)
        clients.clock_file = clock_file
        clients.server = server
        if clocked:
            clients.now = SERVER_NOW
            clients.today = SERVER_NOW.date()
        yield clients


@pytest.fixture(scope="module", params=BACKENDS)
def clients(request, tmp_path_factory):
    # One server per backend for the module: each test works on contracts of its own.
    with backend_clients(request, tmp_path_factory) as clients:
        yield clients
