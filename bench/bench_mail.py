"""Benchmark draining the mail outbox over SMTP against bare smtplib, in the same run (B3).

    .venv/bin/python bench/bench_mail.py [--messages N] [--rounds R] [--json PATH]
                                         [--postgres ADMIN_URL] [--smtp-server process|thread]

The SMTP server is aiosmtpd on 127.0.0.1 with a handler that only counts
messages, in a process of its own by default (a real mail server is not in
keysvc's process; in a thread it would compete with the sender for the GIL).

- Floor: bare `smtplib.SMTP` sending N pre-composed license e-mails
  (`compose_license_mail`) over ONE connection: connect, EHLO, N times
  MAIL/RCPT/DATA, QUIT.
- Figure: N license e-mails queued (`queue_mails`) in a migrated database,
  drained by the real `OutboxSender` (`transport_from_url("smtp://...")`,
  `SystemClock`, default batch size) calling ``send_batch`` until it claims
  nothing: claim, one SMTP connection per batch, SENT recorded ten messages to a
  transaction. Logging as the service configures it (JSON, INFO), written to
  /dev/null.

Rounds alternate floor and figure; each round queues N fresh messages (not
timed). Reported: the median rate of each and the median per-round ratio.
Goal: the figure reaches at least 70 % of the floor.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import multiprocessing.synchronize
import os
import secrets
import smtplib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Final

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from common import Figure, Goal, free_port, machine, median, write_json
from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.pool import NullPool

from keysvc.mail import ComposedMail, OutboxSender, compose_license_mail, transport_from_url
from keysvc.mail.outbox import DEFAULT_BATCH_SIZE
from keysvc.observability.logs import JsonFormatter
from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.outbox_repository import queue_mails
from keysvc.persistence.schema import contracts, key_requests
from keysvc.persistence.schema_migrations import upgrade_database
from scheduler.clock import SystemClock
from signing import KeyRing, LicenseClaims, SigningKey, fingerprint_hash

HOST: Final = "127.0.0.1"
GOAL: Final = Goal("ratio", ">=", 0.70)
SENDER: Final = "desknet's NEO サポート <noreply@example.jp>"
ENVELOPE_SENDER: Final = "noreply@example.jp"
RECIPIENT: Final = "it@example.co.jp"
CONTRACT_NUMBER: Final = "SS-2026-000123"
# Seeded by the first migration.
PRODUCT_CODE: Final = "neo-webconf"
NOW: Final = datetime(2026, 11, 20, 7, 59, tzinfo=UTC)
WARM_UP_MESSAGES: Final = 50


# --- the SMTP server ------------------------------------------------------------------


class CountingHandler:
    """Accepts every message and counts it; keeps nothing."""

    def __init__(self, count: Synchronized[int]) -> None:
        self._count = count

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Counts the message and accepts it."""
        with self._count.get_lock():
            self._count.value += 1
        return "250 Message accepted"


def run_smtp_server(
    port: int,
    count: Synchronized[int],
    ready: multiprocessing.synchronize.Event,
    stop: multiprocessing.synchronize.Event,
) -> None:
    """Runs aiosmtpd on ``port`` until ``stop`` is set (the server process's target)."""
    controller = Controller(CountingHandler(count), hostname=HOST, port=port)
    controller.start()
    ready.set()
    try:
        stop.wait()
    finally:
        controller.stop()


@contextlib.contextmanager
def smtp_server(mode: str) -> Iterator[tuple[int, Synchronized[int]]]:
    """An aiosmtpd server on a free port: (port, received-message counter)."""
    context = multiprocessing.get_context("spawn")
    count: Synchronized[int] = context.Value("q", 0)
    port = free_port()
    if mode == "thread":
        controller = Controller(CountingHandler(count), hostname=HOST, port=port)
        controller.start()
        try:
            yield port, count
        finally:
            controller.stop()
        return
    ready, stop = context.Event(), context.Event()
    process = context.Process(
        target=run_smtp_server, args=(port, count, ready, stop), name="aiosmtpd", daemon=True
    )
    process.start()
    try:
        deadline = time.monotonic() + 30
        while not ready.wait(0.05):
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the aiosmtpd process did not start")
        yield port, count
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join()


def wait_for_count(count: Synchronized[int], expected: int, timeout: float = 10.0) -> None:
    """Waits until the server has counted ``expected`` messages; raises if it never does."""
    deadline = time.monotonic() + timeout
    while count.value < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the SMTP server received {count.value}, expected {expected}")
        time.sleep(0.001)


# --- the messages ---------------------------------------------------------------------


def license_key() -> str:
    """A real compact license key of typical size (the service signs them so)."""
    claims = LicenseClaims(
        serial="L-2026-000123",
        issued_at=1795305600,
        product_code="ACME-SRV",
        contract_number=CONTRACT_NUMBER,
        seats=25,
        generation=1,
        fingerprint_hash=fingerprint_hash("fp1:" + "0123456789abcdef" * 4),
        support_end=date(2027, 11, 21),
    )
    return KeyRing(SigningKey.generate()).sign_license(claims)


def compose(request_id: str, key: str) -> ComposedMail:
    """The license e-mail of key request ``request_id``, as the release use case composes it."""
    return compose_license_mail(
        key_request_id=request_id,
        recipient=RECIPIENT,
        customer_name="株式会社サンプル",
        contract_number=CONTRACT_NUMBER,
        product_name="desknet's NEO",
        license_serial=f"L-{request_id}",
        license_key=key,
        generation=1,
        support_end=date(2027, 11, 21),
        kind="INITIAL",
        issued_at=NOW,
        sender=SENDER,
        message_id_domain="keysvc.example.jp",
    )


# --- the floor ------------------------------------------------------------------------


def send_bare(port: int, messages: Sequence[ComposedMail]) -> float:
    """Sends ``messages`` with bare smtplib over one connection; returns the seconds taken."""
    start = time.perf_counter()
    client = smtplib.SMTP(HOST, port)
    try:
        for mail in messages:
            client.sendmail(
                ENVELOPE_SENDER, [mail.recipient], mail.message, mail_options=["BODY=8BITMIME"]
            )
    finally:
        client.quit()
    return time.perf_counter() - start


# --- the figure -----------------------------------------------------------------------


@dataclass
class Database:
    """A migrated database with the contract the queued messages' key requests belong to."""

    name: str
    engine: Engine

    @classmethod
    def prepared(cls, name: str, url: str) -> Database:
        """Migrates the database at ``url`` and adds the contract."""
        engine = create_database_engine(url)
        upgrade_database(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(contracts),
                {
                    "contract_number": CONTRACT_NUMBER,
                    "product_code": PRODUCT_CODE,
                    "customer_name": "株式会社サンプル",
                    "contact_email": RECIPIENT,
                    "seats": 25,
                    "purchase_date": NOW.date(),
                    "accept_date": NOW.date(),
                    "created_at": NOW,
                },
            )
        return cls(name, engine)

    def queue(self, prefix: str, count: int, key: str) -> None:
        """Queues ``count`` license e-mails, each with its key request, due now."""
        now = datetime.now(UTC) - timedelta(seconds=1)
        request_ids = [f"{prefix}{index:05d}" for index in range(count)]
        with self.engine.begin() as connection:
            connection.execute(
                insert(key_requests),
                [
                    {
                        "id": request_id,
                        "contract_number": CONTRACT_NUMBER,
                        "kind": "INITIAL",
                        "state": "PENDING",
                        "fingerprint_hash": "f" * 64,
                        "contact_email": RECIPIENT,
                        "accepted_at": now,
                        "due_date": now.date(),
                        "release_at": now,
                    }
                    for request_id in request_ids
                ],
            )
            queue_mails(
                connection,
                {request_id: compose(request_id, key) for request_id in request_ids},
                now,
            )

    def drain(self, port: int) -> tuple[float, int]:
        """Drains the outbox with `OutboxSender`; returns (seconds, messages sent)."""
        sender = OutboxSender(
            self.engine, transport_from_url(f"smtp://{HOST}:{port}"), SystemClock()
        )
        sent = 0
        start = time.perf_counter()
        while True:
            report = sender.send_batch()
            if report.claimed == 0:
                break
            if report.sent != report.claimed:
                raise RuntimeError(f"a batch did not deliver everything it claimed: {report}")
            sent += report.sent
        return time.perf_counter() - start, sent


@contextlib.contextmanager
def databases(directory: Path, postgres_admin_url: str | None) -> Iterator[list[Database]]:
    """A SQLite database in ``directory``, and with an admin URL a PostgreSQL one too.

    The PostgreSQL database is ``keysvc_bench_<hex>``, created here and dropped afterwards.
    """
    with contextlib.ExitStack() as stack:
        sqlite = Database.prepared("SQLite", sqlite_url_for(directory))
        stack.callback(sqlite.engine.dispose)
        prepared = [sqlite]
        if postgres_admin_url is not None:
            url = stack.enter_context(scratch_postgres_database(postgres_admin_url))
            postgres = Database.prepared("PostgreSQL", url)
            stack.callback(postgres.engine.dispose)
            prepared.append(postgres)
        yield prepared


@contextlib.contextmanager
def scratch_postgres_database(admin_url: str) -> Iterator[str]:
    """Creates database ``keysvc_bench_<hex>`` through ``admin_url``; yields its URL; drops it."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"keysvc_bench_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def log_like_the_service() -> None:
    """JSON log records at INFO, as `keysvc serve` writes them, but into /dev/null."""
    handler = logging.StreamHandler(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


# --- the run --------------------------------------------------------------------------


def measure(
    messages: int, rounds: int, postgres_admin_url: str | None, server_mode: str
) -> tuple[list[Figure], dict[str, object]]:
    """Alternates floor and figure rounds; returns the figures and what was measured how."""
    log_like_the_service()
    key = license_key()
    floor_messages = [compose(f"floor{index:05d}", key) for index in range(messages)]
    with (
        tempfile.TemporaryDirectory(prefix="keysvc-bench-mail-") as directory,
        databases(Path(directory), postgres_admin_url) as prepared,
        smtp_server(server_mode) as (port, count),
    ):
        # Warm up: imports, connection pools, the server's first connections.
        expected = 0
        send_bare(port, floor_messages[:WARM_UP_MESSAGES])
        expected += WARM_UP_MESSAGES
        for database in prepared:
            database.queue("warm", WARM_UP_MESSAGES, key)
            database.drain(port)
            expected += WARM_UP_MESSAGES
        wait_for_count(count, expected)

        floor_rates: list[float] = []
        rates: dict[str, list[float]] = {database.name: [] for database in prepared}
        ratios: dict[str, list[float]] = {database.name: [] for database in prepared}
        for round_number in range(rounds):
            for database in prepared:
                database.queue(f"r{round_number:02d}n", messages, key)
            floor_rate = messages / send_bare(port, floor_messages)
            expected += messages
            wait_for_count(count, expected)
            floor_rates.append(floor_rate)
            for database in prepared:
                seconds, sent = database.drain(port)
                if sent != messages:
                    raise RuntimeError(f"{database.name}: sent {sent} of {messages} messages")
                expected += sent
                wait_for_count(count, expected)
                rates[database.name].append(sent / seconds)
                ratios[database.name].append(rates[database.name][-1] / floor_rate)
            print(
                f"  round {round_number + 1}/{rounds}: floor {floor_rate:,.0f} msg/s; "
                + "; ".join(f"{name} {values[-1]:,.0f} msg/s" for name, values in rates.items()),
                file=sys.stderr,
            )
    floor_name = "bare smtplib, one connection, pre-composed messages"
    figures = [
        Figure(
            name=f"outbox drained over SMTP by OutboxSender, {name}",
            value=median(rates[name]),
            unit="msg/s",
            floor=floor_name,
            floor_value=median(floor_rates),
            ratio=median(ratios[name]),
            goal=GOAL,
        )
        for name in rates
    ]
    settings: dict[str, object] = {
        "messages_per_round": messages,
        "rounds": rounds,
        "message_bytes": len(floor_messages[0].message),
        "batch_size": DEFAULT_BATCH_SIZE,
        "smtp_server": f"aiosmtpd in a {server_mode}",
        "per_round": {
            "floor_msg_per_s": [round(rate) for rate in floor_rates],
            **{f"{name}_msg_per_s": [round(rate) for rate in rates[name]] for name in rates},
        },
    }
    return figures, settings


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures and optionally write JSON; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=500, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="floor/figure rounds")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="also on PostgreSQL: creates and drops a database keysvc_bench_<hex> through "
        "this URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument(
        "--smtp-server",
        choices=("process", "thread"),
        default="process",
        help="run aiosmtpd in its own process (default) or in a thread of this one",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.rounds < 1:
        parser.error("--messages and --rounds must be at least 1")

    figures, settings = measure(args.messages, args.rounds, args.postgres, args.smtp_server)
    for figure in figures:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "mail",
            machine(("sqlalchemy", "aiosmtpd", "psycopg")),
            [figure.as_dict() for figure in figures],
            settings=settings,
        )
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
