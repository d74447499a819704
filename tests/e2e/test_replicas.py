"""Two `keysvc serve` replicas on one PostgreSQL database release a morning's queue.

Several hundred requests accepted after Friday's cutoff all fall due at 09:00
on Tuesday (Monday the 23rd is a holiday). Both replicas' release loops, a
ReleaseDue call to each at the same moment, and both mail senders go at them
at once: each request is released exactly once, with
one license, and exactly one e-mail reaches the SMTP server for each.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from keysvc.persistence.database import create_database_engine
from keysvc.persistence.schema import key_requests, licenses, mail_outbox
from keysvc.v1 import admin_service_pb2, admin_service_pb2_grpc, resources_pb2

from .clocked_keysvc import set_clock
from .conftest import server_environment
from .server_process import (
    Clients,
    bearer,
    create_token,
    keysvc_server,
    new_contract,
    submit_initial,
)

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
REQUESTS = 400
# Small batches, so that both replicas claim many times over.
BATCH = "5"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _released_count(clients: Clients) -> int:
    state = resources_pb2.KEY_REQUEST_STATE_RELEASED
    listed = clients.admin(
        "ListKeyRequests", admin_service_pb2.ListKeyRequestsRequest(state=state, page_size=1)
    )
    return listed.total_size


def test_two_replicas_release_each_request_once_and_mail_it_once(tmp_path, postgres_url) -> None:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    clock_file = tmp_path / "clock"
    set_clock(clock_file, datetime(2026, 11, 20, 18, tzinfo=TOKYO))
    env = server_environment("postgresql", tmp_path / "a", postgres_url)
    env |= {"KEYSVC_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "KEYSVC_RELEASE_BATCH_SIZE": BATCH}
    try:
        with (
            keysvc_server(tmp_path / "a", env, clock_file=clock_file) as first,
            keysvc_server(tmp_path / "b", env, clock_file=clock_file) as second,
            grpc.insecure_channel(first.address) as channel,
        ):
            tokens = {role: create_token(tmp_path / "a", role, env) for role in ("site", "admin")}
            clients = Clients(channel, tokens)

            def accept(index: int) -> str:
                contract = new_contract(clients, customer_name=f"株式会社レプリカ{index}")
                return submit_initial(clients, contract.contract_number, f"fp1:replica-{index}").id

            with ThreadPoolExecutor(8) as pool:
                accepted = list(pool.map(accept, range(REQUESTS)))
            assert _released_count(clients) == 0

            # The morning comes for both loops, and staff press ReleaseDue on both
            # replicas at the same moment, so their claims certainly overlap.
            set_clock(clock_file, datetime(2026, 11, 24, 9, tzinfo=TOKYO))
            start = threading.Barrier(2)

            def release_due(server) -> int:
                with grpc.insecure_channel(server.address) as replica:
                    stub = admin_service_pb2_grpc.AdminServiceStub(replica)
                    start.wait()
                    return stub.ReleaseDue(
                        admin_service_pb2.ReleaseDueRequest(),
                        timeout=60,
                        metadata=bearer(tokens["admin"]),
                    ).released_count

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(release_due, (first, second)))
            _wait_for(lambda: _released_count(clients) == REQUESTS, 120, "every release")
            _wait_for(lambda: inbox.count() >= REQUESTS, 120, "every e-mail")
            time.sleep(3)  # another round of both senders: nothing more may arrive
            by_replica = [
                sum(r.get("released", 0) for r in server.logs()) for server in (first, second)
            ]
    finally:
        smtp.stop()

    # Both replicas took part, and together released each request once.
    assert sum(by_replica) == REQUESTS
    assert min(by_replica) > 0, by_replica

    engine = create_database_engine(postgres_url)
    try:
        with engine.connect() as connection:
            per_request = Counter(
                connection.execute(select(licenses.c.key_request_id)).scalars().all()
            )
            states = Counter(connection.execute(select(key_requests.c.state)).scalars().all())
            outbox = connection.execute(select(func.count()).select_from(mail_outbox)).scalar_one()
    finally:
        engine.dispose()
    assert set(per_request) == set(accepted)
    assert set(per_request.values()) == {1}
    assert states == {"RELEASED": REQUESTS}
    assert outbox == REQUESTS

    request_ids = Counter(message["X-Keysvc-Request-Id"] for message in inbox.messages)
    message_ids = Counter(message["Message-ID"] for message in inbox.messages)
    assert set(request_ids) == set(accepted)
    assert set(request_ids.values()) == {1}
    assert len(message_ids) == REQUESTS
