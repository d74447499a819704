"""The SMTP transport's TLS context: built once per transport, when first needed."""

from __future__ import annotations

import ssl
import threading

import pytest

import keysvc.mail.smtp as smtp_module
from keysvc.mail import SmtpSettings, transport_from_url
from keysvc.mail.smtp import SmtpTransport


@pytest.fixture
def contexts_built(monkeypatch) -> list[ssl.SSLContext]:
    """Every context `ssl.create_default_context` builds from now on (it still builds them)."""
    built: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args, **kwargs) -> ssl.SSLContext:
        context = original(*args, **kwargs)
        built.append(context)
        return context

    monkeypatch.setattr(smtp_module.ssl, "create_default_context", counting)
    return built


@pytest.mark.parametrize(
    "url", ["smtp://mail.example.jp", "smtp+starttls://mail.example.jp", "smtps://mail.example.jp"]
)
def test_making_a_transport_builds_no_context(contexts_built, url):
    transport_from_url(url)
    assert contexts_built == []


def test_the_default_context_is_built_once_and_kept(contexts_built):
    transport = transport_from_url("smtp+starttls://mail.example.jp")
    first = transport.tls_context()
    assert transport.tls_context() is first
    assert contexts_built == [first]
    # Still the system default: certificates verified, host names checked.
    assert (first.verify_mode, first.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_a_given_context_is_used_and_none_is_built(contexts_built):
    given = ssl.create_default_context()
    contexts_built.clear()
    transport = transport_from_url("smtps://mail.example.jp", ssl_context=given)
    assert transport.tls_context() is given
    assert contexts_built == []


def test_threads_asking_at_once_share_one_context(contexts_built):
    transport = SmtpTransport(SmtpSettings("mail.example.jp", 465, "tls"))
    barrier = threading.Barrier(8)
    seen: list[ssl.SSLContext] = []

    def ask() -> None:
        barrier.wait()
        seen.append(transport.tls_context())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(contexts_built) == 1
    assert all(context is contexts_built[0] for context in seen)


def test_each_transport_has_its_own_context(contexts_built):
    first = transport_from_url("smtps://a.example.jp").tls_context()
    second = transport_from_url("smtps://b.example.jp").tls_context()
    assert first is not second
    assert len(contexts_built) == 2
