"""SmtpTransport against real aiosmtpd servers: the TLS context is built once, never for smtp://."""

from __future__ import annotations

import ssl

import pytest

import keysvc.mail.smtp as smtp_module
from keysvc.mail import DeliveryError, OutboxSender, transport_from_url
from scheduler.clock import FixedClock

from .conftest import NOW, authenticated_url


@pytest.fixture
def contexts_built(monkeypatch) -> list[ssl.SSLContext]:
    """Every context `ssl.create_default_context` builds during the test (it still builds them).

    Patched after the server fixtures have made their own contexts.
    """
    built: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args, **kwargs) -> ssl.SSLContext:
        context = original(*args, **kwargs)
        built.append(context)
        return context

    monkeypatch.setattr(smtp_module.ssl, "create_default_context", counting)
    return built


def test_plain_smtp_never_builds_a_tls_context(engine, outbox, smtp_server, contexts_built):
    outbox.queue_many(4)
    sender = OutboxSender(
        engine, transport_from_url(smtp_server.url), FixedClock(NOW), batch_size=2
    )
    assert [sender.send_due() for _ in range(3)] == [2, 2, 0]
    assert contexts_built == []


def test_starttls_builds_the_default_context_once_for_every_connection(
    tls_smtp_server, contexts_built
):
    # No context given: the system trust store, which does not know the test
    # server's certificate, so every connection fails — with the same context.
    transport = transport_from_url(authenticated_url("smtp+starttls", tls_smtp_server.port))
    for _ in range(3):
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            transport.open_connection()
    assert len(contexts_built) == 1
    assert transport.tls_context() is contexts_built[0]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_with_a_given_context_builds_none(smtps_server, contexts_built):
    transport = transport_from_url(
        authenticated_url("smtps", smtps_server.port), ssl_context=smtps_server.client_context
    )
    for _ in range(2):
        transport.open_connection().quit()
    assert contexts_built == []


def test_starttls_connections_share_the_given_context(tls_smtp_server):
    context = tls_smtp_server.client_context
    assert context is not None
    transport = transport_from_url(
        authenticated_url("smtp+starttls", tls_smtp_server.port), ssl_context=context
    )
    clients = [transport.open_connection() for _ in range(2)]
    try:
        assert all(client.sock.context is context for client in clients)  # type: ignore[union-attr]
    finally:
        for client in clients:
            client.quit()
