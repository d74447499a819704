"""Runs `keysvc serve` as a real process on a free port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from keysvc.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    license_service_pb2,
    license_service_pb2_grpc,
    resources_pb2,
)

KEYSVC = Path(sys.executable).with_name("keysvc")
PROJECT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


@dataclass
class ServerProcess:
    """A started server: its address and everything it has logged so far."""

    process: subprocess.Popen[str]
    address: str = ""
    log_lines: list[str] = field(default_factory=list)

    def logs(self) -> list[dict[str, object]]:
        """The JSON log records written so far (non-JSON lines are skipped)."""
        records = []
        for line in list(self.log_lines):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def stop(self, timeout: float = 15.0) -> int:
        """Sends SIGTERM and waits; kills it if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def run_keysvc(*args: str, env: Mapping[str, str] | None = None, timeout: float = 30.0):
    """Runs a `keysvc` subcommand to completion and returns the CompletedProcess."""
    return subprocess.run(
        [str(KEYSVC), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def keysvc_server(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    clock_file: Path | None = None,
    arguments: Sequence[str] | None = None,
) -> Iterator[ServerProcess]:
    """Starts `keysvc serve` on 127.0.0.1 with a free port; stops it on exit, also on failure.

    With `clock_file` the server runs on the time written there (see `clocked_keysvc`).
    `arguments` replace ``--data-dir data_dir --listen 127.0.0.1:0``.
    """
    if arguments is None:
        arguments = ("--data-dir", str(data_dir), "--listen", "127.0.0.1:0")
    command = [str(KEYSVC)]
    if clock_file is not None:
        command = [sys.executable, "-m", "tests.e2e.clocked_keysvc", str(clock_file)]
    process = subprocess.Popen(
        [*command, "serve", *arguments],
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = ServerProcess(process)
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.log_lines.append(line)
            if not ready.is_set() and '"serving"' in line:
                server.address = json.loads(line)["listen"]
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.1):
            if time.monotonic() > deadline:
                raise TimeoutError("keysvc serve did not start:\n" + "".join(server.log_lines))
        if not server.address:
            process.wait(5)
            raise RuntimeError(
                f"keysvc serve exited with {process.returncode}:\n" + "".join(server.log_lines)
            )
        yield server
    finally:
        server.stop()


def create_token(data_dir: Path, role: str, env: Mapping[str, str] | None = None) -> str:
    """Makes a token with `keysvc tokens create` and returns it (the last output line)."""
    result = run_keysvc("tokens", "create", "--role", role, "--data-dir", str(data_dir), env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def bearer(token: str) -> tuple[tuple[str, str]]:
    """Call metadata carrying the token."""
    return (("authorization", f"Bearer {token}"),)


def preview_release(channel: grpc.Channel, token: str, instant: str):
    """PreviewRelease for a request accepted at `instant` (RFC 3339)."""
    accept = Timestamp()
    accept.FromJsonString(instant)
    return license_service_pb2_grpc.LicenseServiceStub(channel).PreviewRelease(
        license_service_pb2.PreviewReleaseRequest(accept_time=accept),
        timeout=10,
        metadata=bearer(token),
    )


def error_info(error: object) -> tuple[object, str, dict[str, str]]:
    """The status code, ErrorInfo reason and metadata of a failed call."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    assert status is not None, f"no google.rpc.Status in {error}"
    # One ErrorInfo; a RESOURCE_EXHAUSTED also carries a RetryInfo.
    infos = []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            infos.append(info)
    (info,) = infos
    assert info.domain == "keysvc"
    return error.code(), info.reason, dict(info.metadata)


class Clients:
    def __init__(self, channel, tokens, address: str = ""):
        self.channel = channel
        self.address = address
        self.license = license_service_pb2_grpc.LicenseServiceStub(channel)
        self.admin_stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        self.tokens = tokens

    def site(self, method, request):
        return getattr(self.license, method)(
            request, timeout=10, metadata=bearer(self.tokens["site"])
        )

    def migration(self, method, request):
        return getattr(self.license, method)(
            request, timeout=10, metadata=bearer(self.tokens["migration"])
        )

    def admin(self, method, request):
        stub = self.admin_stub if hasattr(self.admin_stub, method) else self.license
        return getattr(stub, method)(request, timeout=10, metadata=bearer(self.tokens["admin"]))


def new_contract(
    clients: Clients, product: str = "neo-backup", purchase: str = "2026-11-02", **fields
):
    """Creates a contract (accepted on its purchase date unless told otherwise)."""
    values = {
        "request_id": str(uuid.uuid4()),
        "product_code": product,
        "customer_name": "株式会社サンプル",
        "contact_email": "it@example.co.jp",
        "seats": 25,
        "purchase_date": purchase,
        "accept_date": purchase,
    } | fields
    return clients.admin("CreateContract", admin_service_pb2.CreateContractRequest(**values))


def submit_initial(clients: Clients, contract_number: str, fingerprint: str, **fields):
    """Submits the first key request of a contract, as the product site does."""
    request = license_service_pb2.SubmitKeyRequestRequest(
        contract_number=contract_number,
        kind=resources_pb2.KEY_REQUEST_KIND_INITIAL,
        fingerprint=fingerprint,
        **fields,
    )
    return clients.site("SubmitKeyRequest", request)
