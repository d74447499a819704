"""Whatever the umask, everything `keysvc serve` leaves in its data folder is owner-only."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import grpc
import pytest

from keysvc.v1 import admin_service_pb2

from .server_process import Clients, create_token, keysvc_server, new_contract, submit_initial

pytestmark = pytest.mark.e2e


def test_a_served_data_folder_holds_only_0700_folders_and_0600_files_under_umask_000(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    previous = os.umask(0)  # inherited by the server and the CLI: the most permissive
    try:
        tokens = {"site": create_token(data, "site"), "admin": create_token(data, "admin")}
        with (
            keysvc_server(data) as server,
            grpc.insecure_channel(server.address) as channel,
        ):
            clients = Clients(channel, tokens, server.address)
            contract = new_contract(clients)
            submitted = submit_initial(clients, contract.contract_number, "fp1:umask-test")
            clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id))
            deadline = time.monotonic() + 15
            while not list(data.glob("mail/new/*")) and time.monotonic() < deadline:
                time.sleep(0.05)  # the outbox sender writes the key's e-mail
    finally:
        os.umask(previous)
    modes = {
        path.relative_to(data).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in data.rglob("*")
    }
    assert any(name.startswith("mail/new/") for name in modes)
    assert "keys/dev-passphrase" in modes
    expected = {name: 0o700 if (data / name).is_dir() else 0o600 for name in modes}
    assert modes == expected
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
