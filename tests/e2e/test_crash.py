"""A server killed with SIGKILL in the middle of a large release loses and doubles nothing.

Requests accepted after Friday's cutoff fall due together on Tuesday at
09:00. The server is killed while it is releasing them and sending their
e-mails, then started again on the same database an hour later (the mail
lease of the killed process has run out by then). Afterwards every request
has exactly one license, every contract one active key, and the SMTP server
has a message for every request. It is killed twice: while releasing, and
after a restart while sending. A message the killed process handed over
just before dying may come again: it carries the same Message-ID, so the
duplicate is recognisable, and it is the same message.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.schema import key_requests, licenses, mail_outbox

from .clocked_keysvc import set_clock
from .conftest import BACKENDS, server_environment
from .server_process import Clients, create_token, keysvc_server, new_contract, submit_initial

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
REQUESTS = 500
KILL_AFTER = 120
BATCH = "25"


class Inbox:
    """An aiosmtpd handler keeping each message's raw bytes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.raw.append(envelope.original_content)
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(r, policy=email.policy.default) for r in raw]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(condition, timeout: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


def _count(engine, query) -> int:
    # A read transaction: it must not queue for SQLite's write lock behind the server.
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        return connection.execute(query).scalar_one()


def _kill_when(server, condition) -> None:
    _wait_for(condition, 60, "the moment to kill", step=0.005)
    server.process.kill()
    server.process.wait()


RELEASED = select(func.count()).select_from(key_requests).where(key_requests.c.state == "RELEASED")
SENT = select(func.count()).select_from(mail_outbox).where(mail_outbox.c.state == "SENT")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_mid_release_then_restart_loses_and_doubles_nothing(request, tmp_path, backend):
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    data = tmp_path / "data"
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    clock_file = tmp_path / "clock"
    set_clock(clock_file, datetime(2026, 11, 20, 18, tzinfo=TOKYO))
    env = server_environment(backend, data, url)
    env |= {"KEYSVC_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "KEYSVC_RELEASE_BATCH_SIZE": BATCH}
    engine = None
    try:
        with (
            keysvc_server(data, env, clock_file=clock_file) as server,
            grpc.insecure_channel(server.address) as channel,
        ):
            tokens = {role: create_token(data, role, env) for role in ("site", "admin")}
            clients = Clients(channel, tokens)

            def accept(index: int) -> str:
                contract = new_contract(clients, customer_name=f"株式会社クラッシュ{index}")
                return submit_initial(clients, contract.contract_number, f"fp1:crash-{index}").id

            with ThreadPoolExecutor(8) as pool:
                accepted = set(pool.map(accept, range(REQUESTS)))
            engine = create_database_engine(url or sqlite_url_for(data))

            set_clock(clock_file, datetime(2026, 11, 24, 9, tzinfo=TOKYO))
            _kill_when(server, lambda: _count(engine, RELEASED) >= KILL_AFTER)
        assert _count(engine, RELEASED) < REQUESTS, "killed after the release: nothing tested"

        # Restarted an hour later (the dead sender's lease has run out), and killed
        # again while the e-mails are going out.
        set_clock(clock_file, datetime(2026, 11, 24, 10, tzinfo=TOKYO))
        with keysvc_server(data, env, clock_file=clock_file) as server:
            _kill_when(server, lambda: _count(engine, SENT) >= KILL_AFTER)
        assert _count(engine, SENT) < REQUESTS, "killed after the e-mails: nothing tested"

        set_clock(clock_file, datetime(2026, 11, 24, 11, tzinfo=TOKYO))
        with keysvc_server(data, env, clock_file=clock_file):
            _wait_for(lambda: _count(engine, RELEASED) == REQUESTS, 120, "every release")
            _wait_for(lambda: _count(engine, SENT) == REQUESTS, 120, "every e-mail")
            time.sleep(2.5)  # one more sender round: nothing more may arrive

        with engine.connect() as connection:
            per_request = Counter(
                connection.execute(select(licenses.c.key_request_id)).scalars().all()
            )
            active_per_contract = Counter(
                connection.execute(
                    select(licenses.c.contract_number).where(licenses.c.status == "ACTIVE")
                ).scalars()
            )
            queued = Counter(connection.execute(select(mail_outbox.c.key_request_id)).scalars())
    finally:
        smtp.stop()
        if engine is not None:
            engine.dispose()

    assert set(per_request) == accepted
    assert set(per_request.values()) == {1}
    assert len(active_per_contract) == REQUESTS
    assert set(active_per_contract.values()) == {1}
    assert set(queued) == accepted
    assert set(queued.values()) == {1}

    by_message_id: dict[str, set[bytes]] = defaultdict(set)
    for message in inbox.messages():
        by_message_id[message["Message-ID"]].add(message.as_bytes())
    request_of = {
        message["Message-ID"]: message["X-Keysvc-Request-Id"] for message in inbox.messages()
    }
    # One Message-ID per request; a re-sent message is byte for byte the first one.
    assert sorted(request_of.values()) == sorted(accepted)
    assert {len(copies) for copies in by_message_id.values()} == {1}
