"""Fixtures of the migration tool's tests against real Status List Tokens: an HTTP host,
the signing keys, a key file that names a list on that host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from signing import KeyRing, SigningKey, b64url_decode
from tests.integration.migrate.status_lists import (
    PROXY_VARIABLES,
    RFC8037_SEED,
    Files,
    StatusHost,
    handler,
    make_files,
)


@pytest.fixture
def status_host() -> Iterator[StatusHost]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host = StatusHost(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = handler(host)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours the environment's proxies, as the tool should; 127.0.0.1 is here.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing(SigningKey.from_private_bytes(b64url_decode(RFC8037_SEED)))


@pytest.fixture(scope="module")
def forger() -> KeyRing:
    return KeyRing(SigningKey.from_private_bytes(bytes(range(32))))


@pytest.fixture
def files(tmp_path: Path, ring: KeyRing, status_host: StatusHost) -> Files:
    """A key whose status is entry INDEX of list 1 on the status host."""
    return make_files(tmp_path, ring, status_host.base + "/statuslists/1")
