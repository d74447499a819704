"""The e-mail that carries a released key reaches the customer: Maildir and SMTP."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from pathlib import Path

import grpc
import pytest
from aiosmtpd.controller import Controller

from keysvc.v1 import (
    admin_service_pb2,
    license_service_pb2,
    license_service_pb2_grpc,
    resources_pb2,
)

from .server_process import (
    Clients,
    bearer,
    create_token,
    keysvc_server,
    new_contract,
    submit_initial,
)

pytestmark = pytest.mark.e2e


def _issue_a_key(address: str, data: Path, recipient: str) -> resources_pb2.KeyRequest:
    tokens = {role: create_token(data, role) for role in ("site", "admin")}
    with grpc.insecure_channel(address) as channel:
        clients = Clients(channel, tokens)
        contract = new_contract(clients, customer_name="株式会社メール", seats=5)
        submitted = submit_initial(
            clients, contract.contract_number, "fp1:mail-test-server", contact_email=recipient
        )
        return clients.admin("IssueKeyNow", admin_service_pb2.IssueKeyNowRequest(id=submitted.id))


def _delivery_state(address: str, data: Path, request_id: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = license_service_pb2_grpc.LicenseServiceStub(channel).GetKeyRequest(
            license_service_pb2.GetKeyRequestRequest(id=request_id),
            timeout=10,
            metadata=bearer(create_token(data, "site")),
        )
    return reply.mail_delivery_state


def _wait_for(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def _check_message(raw: bytes, issued: resources_pb2.KeyRequest, recipient: str) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == recipient
    assert message["X-Keysvc-Request-Id"] == issued.id
    assert message["Message-ID"].startswith(f"<keysvc.{issued.id}@")
    assert "ライセンスキー" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert issued.license_key in body
    assert issued.contract_number in body


def test_the_embedded_default_writes_the_key_e_mail_to_the_maildir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with keysvc_server(data) as server:
        issued = _issue_a_key(server.address, data, "new-admin@example.co.jp")
        files = _wait_for(lambda: list((data / "mail" / "new").glob("*")))
        assert len(files) == 1
        _check_message(files[0].read_bytes(), issued, "new-admin@example.co.jp")
        sent = resources_pb2.MAIL_DELIVERY_STATE_SENT
        _wait_for(lambda: _delivery_state(server.address, data, issued.id) == sent)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_keysvc_smtp_url_delivers_over_a_real_smtp_conversation(tmp_path: Path) -> None:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        data = tmp_path / "data"
        env = {"KEYSVC_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}
        with keysvc_server(data, env) as server:
            issued = _issue_a_key(server.address, data, "smtp-admin@example.co.jp")
            _wait_for(lambda: inbox.messages)
            time.sleep(2.5)  # one more sender round: nothing is sent twice
        assert not (data / "mail").exists()
    finally:
        controller.stop()
    ((recipients, raw),) = inbox.messages
    assert recipients == ["smtp-admin@example.co.jp"]
    _check_message(raw, issued, "smtp-admin@example.co.jp")
