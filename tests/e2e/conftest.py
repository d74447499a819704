"""Servers for the end-to-end tests: one per backend per test module."""

from __future__ import annotations

import grpc
import pytest

from keysvc.v1 import admin_service_pb2_grpc, license_service_pb2_grpc

from .server_process import bearer, create_token, keysvc_server, run_keysvc

PASSPHRASE = {"KEYSVC_SIGNING_KEY_PASSPHRASE": "e2e passphrase, not a secret"}


class Clients:
    def __init__(self, channel, tokens):
        self.channel = channel
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


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def clients(request, tmp_path_factory):
    # One server per backend for the module: each test works on contracts of its own.
    data = tmp_path_factory.mktemp(request.param) / "data"
    env = dict(PASSPHRASE)
    if request.param == "postgresql":
        url = request.getfixturevalue("module_postgres_url")
        env["KEYSVC_DATABASE_URL"] = url
        upgraded = run_keysvc("db", "upgrade", "--data-dir", str(data), env=env)
        assert upgraded.returncode == 0, upgraded.stderr
    with keysvc_server(data, env) as server, grpc.insecure_channel(server.address) as channel:
        tokens = {role: create_token(data, role, env) for role in ("site", "migration", "admin")}
        yield Clients(channel, tokens)
