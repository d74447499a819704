"""Real SMTP servers (aiosmtpd) on free ports, and outbox rows to send.

- ``smtp_server``: plain SMTP on 127.0.0.1, collecting what it receives.
- ``tls_smtp_server``: STARTTLS required, AUTH required (user ``keysvc``),
  with a self-signed certificate for 127.0.0.1 made here with ``cryptography``;
  ``tls_smtp_server.client_context`` trusts it.
- ``outbox``: queues license e-mails on the test's database (the ``engine``
  fixture: SQLite and PostgreSQL), with the contract and key requests they
  need.

Every server is stopped when its test ends, also when it fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from keysvc.mail import ComposedMail, compose_license_mail
from keysvc.persistence.outbox_repository import queue_mails
from keysvc.persistence.schema import contracts, key_requests
from tests.integration.persistence.rows import contract, key_request

HOST = "127.0.0.1"
NOW = datetime(2026, 11, 20, 7, 59, tzinfo=UTC)
SMTP_USER = "keysvc"
SMTP_PASSWORD = "correct horse battery staple"  # noqa: S105 - the test server's password


def authenticated_url(scheme: str, port: int, password: str = SMTP_PASSWORD) -> str:
    """``scheme://keysvc:<password>@127.0.0.1:port``, the password percent-encoded."""
    return f"{scheme}://{SMTP_USER}:{quote(password, safe='')}@{HOST}:{port}"


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated_as: str | None
    tls: bool


@dataclass
class CollectingHandler:
    """An aiosmtpd handler that keeps messages and can refuse chosen recipients."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        # What the authenticator returned as auth_data: the user name.
        user = session.auth_data if session.authenticated else None
        with self.lock:
            self.received.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    content=bytes(envelope.original_content or b""),
                    authenticated_as=user,
                    tls=server.transport.get_extra_info("ssl_object") is not None,
                )
            )
        return "250 Message accepted"

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)


@dataclass
class SmtpServer:
    """A running (or stoppable and restartable) aiosmtpd server on a fixed port."""

    port: int
    handler: CollectingHandler
    options: dict
    controller: Controller | None = None
    client_context: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname=HOST, port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextlib.contextmanager
def running(server: SmtpServer, *, start: bool = True) -> Iterator[SmtpServer]:
    if start:
        server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP, no auth, 8BITMIME announced."""
    with running(SmtpServer(free_port(), CollectingHandler(), {})) as server:
        yield server


@pytest.fixture
def stopped_smtp_server() -> Iterator[SmtpServer]:
    """Like ``smtp_server`` but not started: its port refuses connections until ``start()``."""
    with running(SmtpServer(free_port(), CollectingHandler(), {}), start=False) as server:
        yield server


@pytest.fixture
def seven_bit_smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP that does not announce 8BITMIME (``decode_data=True``)."""
    handler = CollectingHandler()
    with running(SmtpServer(free_port(), handler, {"decode_data": True})) as server:
        yield server


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keysvc test SMTP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: aiosmtpd then answers 535 itself (True would mean "already answered").
    return AuthResult(success=ok, handled=False, auth_data=SMTP_USER if ok else None)


@pytest.fixture
def tls_certificate(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a self-signed 127.0.0.1 certificate."""
    cert_path, key_path = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    client_context = ssl.create_default_context(cafile=str(cert_path))
    return server_context, client_context


@pytest.fixture
def tls_smtp_server(tls_certificate) -> Iterator[SmtpServer]:
    """STARTTLS required before anything else, then AUTH required."""
    server_context, client_context = tls_certificate
    options = {
        "tls_context": server_context,
        "require_starttls": True,
        "auth_required": True,
        "auth_require_tls": True,
        "authenticator": _authenticator,
    }
    server = SmtpServer(free_port(), CollectingHandler(), options, client_context=client_context)
    with running(server):
        yield server


@pytest.fixture
def smtps_server(tls_certificate) -> Iterator[SmtpServer]:
    """TLS from the first byte (smtps://), AUTH required."""
    server_context, client_context = tls_certificate
    options = {
        "ssl_context": server_context,
        "auth_required": True,
        # aiosmtpd 1.4 counts only STARTTLS as TLS and would not offer AUTH on
        # an implicit-TLS connection; it is encrypted from the first byte here.
        "auth_require_tls": False,
        "authenticator": _authenticator,
    }
    server = SmtpServer(free_port(), CollectingHandler(), options, client_context=client_context)
    with running(server):
        yield server


def license_mail(request_id: str, recipient: str = "it@example.co.jp") -> ComposedMail:
    """The license e-mail of key request ``request_id`` (its key names the request)."""
    return compose_license_mail(
        key_request_id=request_id,
        recipient=recipient,
        customer_name="株式会社テスト",
        contract_number="C-0001",
        product_name="desknet's NEO",
        license_serial=f"L-{request_id}",
        license_key=license_key_of(request_id),
        generation=1,
        support_end=date(2027, 3, 31),
        kind="INITIAL",
        issued_at=NOW,
        sender="desknet's NEO サポート <noreply@example.jp>",
        message_id_domain="keysvc.example.jp",
    )


def license_key_of(request_id: str) -> str:
    return f"eyJhbGciOiJFZERTQSJ9.{'p' * 300}{request_id}.{'s' * 86}"


@dataclass
class Outbox:
    """Queues license e-mails on one database, creating the rows they refer to."""

    engine: Engine

    def queue(
        self, request_id: str, recipient: str = "it@example.co.jp", now: datetime = NOW
    ) -> ComposedMail:
        mail = license_mail(request_id, recipient)
        with self.engine.begin() as connection:
            connection.execute(key_requests.insert(), key_request(request_id))
            queue_mails(connection, {request_id: mail}, now)
        return mail

    def queue_many(self, count: int, prefix: str = "kr") -> list[ComposedMail]:
        return [self.queue(f"{prefix}{index:03d}") for index in range(count)]


@pytest.fixture
def outbox(engine) -> Outbox:
    """An `Outbox` on the ``engine`` fixture's database, with contract C-0001 in it."""
    with engine.begin() as connection:
        connection.execute(contracts.insert(), contract())
    return Outbox(engine)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Polls ``condition`` until it holds or ``timeout`` seconds pass."""
    event = threading.Event()
    deadline = datetime.now(UTC) + dt.timedelta(seconds=timeout)
    while datetime.now(UTC) < deadline:
        if condition():
            return True
        event.wait(0.02)
    return condition()
