"""Status List Tokens and license keys for the migration tool's tests, and ways to run it.

Shared by ``verify --status`` (test_verify_status.py) and ``status``
(test_status_save.py): a real HTTP server on 127.0.0.1 that serves tokens and
records requests (its fixture is in conftest.py), keys and lists signed with
`signing`, and the tool run in-process on a fixed clock or installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from keysvc.migrate import cli
from keysvc.migrate.runtime import Runtime
from signing import (
    KeyRing,
    LicenseClaims,
    StatusReference,
    StatusValue,
    fingerprint_hash,
)

# RFC 8037 Appendix A.1's example key signs the keys and the lists; another key
# signs the lists a forger would serve.
RFC8037_SEED = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
THIS_SERVER = "fp1:" + "ab" * 32
OTHER_SERVER = "fp1:" + "cd" * 32
# Monday 2026-12-07 10:00 JST; the list was signed an hour before and runs 7 days.
NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
ISSUED = int(NOW.timestamp()) - 3600
EXPIRES = ISSUED + 7 * 86400
INDEX = 4711
LIST_SIZE = 8192
MIGRATE = Path(sys.executable).with_name("keysvc-migrate")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY")


# -- a real HTTP server -------------------------------------------------------------


@dataclass
class Answer:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_length: bool = True


@dataclass
class StatusHost:
    """An HTTP server on 127.0.0.1, answering ``answers`` and recording each request."""

    base: str
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def serve(self, path: str, token: str | bytes, **kwargs: Any) -> str:
        body = token.encode("ascii") if isinstance(token, str) else token
        self.answers[path] = Answer(body, **kwargs)
        return self.base + path


def handler(host: StatusHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.requests.append((self.path, dict(self.headers)))
            answer = host.answers.get(self.path, Answer(b"not found", 404))
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/statuslist+jwt")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.content_length:
                self.send_header("Content-Length", str(len(answer.body)))
            else:
                self.close_connection = True  # the end of the body is the end of the stream
            self.end_headers()
            # The tool stops reading a body too large, as it should.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test's output is the tool's

    return Handler


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- keys and lists -------------------------------------------------------------------


def claims(status: StatusReference | None) -> LicenseClaims:
    return LicenseClaims(
        serial="L-2026-ABCDEFGHJK",
        issued_at=ISSUED - 86400,
        product_code="neo-webconf",
        contract_number="SS-2026-000123",
        seats=50,
        generation=2,
        fingerprint_hash=fingerprint_hash(THIS_SERVER),
        support_end=date(2027, 11, 21),
        status=status,
    )


def statuses(value: StatusValue, size: int = LIST_SIZE) -> list[int]:
    entries = [StatusValue.VALID] * size
    entries[min(INDEX, size - 1)] = value
    # Neighbours differ: the tool must read the key's own entry, not a nearby one.
    entries[INDEX - 1] = entries[INDEX + 1] = StatusValue.INVALID
    return entries


def token(
    ring: KeyRing,
    uri: str,
    value: StatusValue = StatusValue.VALID,
    *,
    issued_at: int = ISSUED,
    expires_at: int = EXPIRES,
) -> str:
    return ring.sign_status_list(
        statuses(value), uri=uri, issued_at=issued_at, expires_at=expires_at, ttl=3600
    )


@dataclass
class Files:
    """A key file, the JWKS file, and the URI the key names."""

    directory: Path
    key: Path
    jwks: Path
    uri: str

    def list_file(self, text: str, name: str = "list.jwt") -> Path:
        path = self.directory / name
        path.write_text(text + "\n", encoding="ascii")
        return path


def make_files(
    directory: Path, ring: KeyRing, uri: str | None, *, index: int = INDEX, name: str = "license"
) -> Files:
    reference = None if uri is None else StatusReference(index, uri)
    key = directory / f"{name}.key"
    key.write_text(ring.sign_license(claims(reference)) + "\n", encoding="ascii")
    jwks = directory / "jwks.json"
    jwks.write_text(ring.jwks_json(), encoding="utf-8")
    return Files(directory, key, jwks, uri or "")


# -- running the tool -------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document

    @property
    def first_line(self) -> str:
        return self.stdout.splitlines()[0]


def run(*argv: str, now: datetime = NOW) -> Ran:
    stdout, stderr = io.StringIO(), io.StringIO()
    runtime = dataclasses.replace(
        Runtime.system(), environ={}, now=lambda: now, stdout=stdout, stderr=stderr
    )
    code = cli.main(list(argv), runtime=runtime)
    return Ran(code, stdout.getvalue(), stderr.getvalue())


def installed(*argv: str) -> Ran:
    environ = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    done = subprocess.run(
        [str(MIGRATE), *argv], capture_output=True, text=True, check=False, env=environ
    )
    return Ran(done.returncode, done.stdout, done.stderr)
