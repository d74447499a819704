"""OutboxSender against real SMTP servers and a real Maildir, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import timedelta

import pytest

from keysvc.mail import (
    DeliveryError,
    MaildirTransport,
    OutboxSender,
    maildir_file_name,
    transport_from_url,
)
from keysvc.mail.testing import CapturingTransport, parse_message
from keysvc.persistence.database import create_database_engine
from keysvc.persistence.outbox_repository import DEFAULT_LEASE, find_outbox_entry
from scheduler.clock import FixedClock

from .conftest import NOW, SMTP_USER, authenticated_url, license_key_of


def entry(engine, request_id):
    with engine.connect() as connection:
        found = find_outbox_entry(connection, request_id)
    assert found is not None
    return found


def message_ids(server) -> list[str]:
    return [
        str(parse_message(received.content)["Message-ID"]) for received in server.handler.messages()
    ]


def test_queued_mail_is_sent_once_and_marked_sent(engine, outbox, smtp_server):
    mail = outbox.queue("kr1")
    clock = FixedClock(NOW)
    sender = OutboxSender(engine, transport_from_url(smtp_server.url), clock)

    assert sender.send_due() == 1
    clock.advance(timedelta(days=1))
    assert sender.send_due() == 0

    (received,) = smtp_server.handler.messages()
    assert received.mail_from == "noreply@example.jp"
    assert received.rcpt_tos == ["it@example.co.jp"]
    assert received.content.replace(b"\r\n", b"\n") == mail.message.replace(b"\r\n", b"\n")
    message = parse_message(received.content)
    assert message["Message-ID"] == "<keysvc.kr1@keysvc.example.jp>"
    assert message["X-Keysvc-Request-Id"] == "kr1"
    assert license_key_of("kr1") in re.sub(r"\s+", "", message.get_content())
    stored = entry(engine, "kr1")
    assert (stored.state, stored.attempts, stored.sent_at, stored.last_error) == (
        "SENT",
        1,
        NOW,
        None,
    )


def test_a_batch_uses_one_connection(engine, outbox, smtp_server):
    outbox.queue_many(5)
    connections = 0
    transport = transport_from_url(smtp_server.url)
    original = transport.open_connection

    def counting():
        nonlocal connections
        connections += 1
        return original()

    transport.open_connection = counting  # type: ignore[method-assign]
    report = OutboxSender(engine, transport, FixedClock(NOW)).send_batch()
    assert (report.claimed, report.sent) == (5, 5)
    assert connections == 1
    assert len(smtp_server.handler.messages()) == 5


def test_batches_are_at_most_batch_size(engine, outbox, smtp_server):
    outbox.queue_many(5)
    sender = OutboxSender(
        engine, transport_from_url(smtp_server.url), FixedClock(NOW), batch_size=2
    )
    assert [sender.send_due() for _ in range(4)] == [2, 2, 1, 0]
    assert sorted(message_ids(smtp_server)) == [
        f"<keysvc.kr{index:03d}@keysvc.example.jp>" for index in range(5)
    ]


def test_server_down_counts_attempts_backs_off_then_delivers(engine, outbox, stopped_smtp_server):
    outbox.queue("kr1")
    clock = FixedClock(NOW)
    sender = OutboxSender(engine, transport_from_url(stopped_smtp_server.url, timeout=5), clock)

    expected_delays = [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    for attempt, delay in enumerate(expected_delays, start=1):
        report = sender.send_batch()
        assert (report.claimed, report.sent, report.retrying) == (1, 0, 1)
        stored = entry(engine, "kr1")
        assert stored.state == "QUEUED"
        assert stored.attempts == attempt
        assert stored.next_attempt_at == clock.now() + delay
        assert "cannot connect" in (stored.last_error or "")
        # Not due before the backoff has passed.
        clock.advance(delay - timedelta(seconds=1))
        assert sender.send_batch().claimed == 0
        clock.advance(timedelta(seconds=1))

    stopped_smtp_server.start()
    assert sender.send_due() == 1
    stored = entry(engine, "kr1")
    assert (stored.state, stored.attempts, stored.last_error) == ("SENT", 4, None)
    assert message_ids(stopped_smtp_server) == ["<keysvc.kr1@keysvc.example.jp>"]


def test_an_unreachable_server_is_tried_once_per_batch(engine, outbox, stopped_smtp_server):
    outbox.queue_many(3)
    transport = transport_from_url(stopped_smtp_server.url, timeout=5)
    attempts = 0
    original = transport.open_connection

    def counting():
        nonlocal attempts
        attempts += 1
        return original()

    transport.open_connection = counting  # type: ignore[method-assign]
    report = OutboxSender(engine, transport, FixedClock(NOW)).send_batch()
    assert (report.claimed, report.retrying) == (3, 3)
    assert attempts == 1
    assert all("cannot connect" in (entry(engine, f"kr{i:03d}").last_error or "") for i in range(3))


def test_gives_up_after_max_attempts(engine, outbox, stopped_smtp_server):
    outbox.queue("kr1")
    clock = FixedClock(NOW)
    sender = OutboxSender(
        engine, transport_from_url(stopped_smtp_server.url, timeout=5), clock, max_attempts=3
    )
    for _ in range(3):
        sender.send_batch()
        clock.advance(timedelta(hours=1))
    stored = entry(engine, "kr1")
    assert (stored.state, stored.attempts) == ("FAILED", 3)
    assert "cannot connect" in (stored.last_error or "")
    stopped_smtp_server.start()
    clock.advance(timedelta(days=30))
    assert sender.send_batch().claimed == 0
    assert stopped_smtp_server.handler.messages() == []


def test_recipient_refused_for_good_fails_at_once_and_the_batch_goes_on(
    engine, outbox, smtp_server
):
    smtp_server.handler.refuse["nobody@example.co.jp"] = "550 5.1.1 No such user"
    outbox.queue("kr1", recipient="nobody@example.co.jp")
    outbox.queue("kr2")
    report = OutboxSender(engine, transport_from_url(smtp_server.url), FixedClock(NOW)).send_batch()
    assert (report.sent, report.gave_up) == (1, 1)
    refused = entry(engine, "kr1")
    assert (refused.state, refused.attempts) == ("FAILED", 1)
    assert "550" in (refused.last_error or "")
    assert "No such user" in (refused.last_error or "")
    assert entry(engine, "kr2").state == "SENT"
    assert message_ids(smtp_server) == ["<keysvc.kr2@keysvc.example.jp>"]


def test_recipient_refused_for_now_is_retried(engine, outbox, smtp_server):
    smtp_server.handler.refuse["busy@example.co.jp"] = "450 4.2.1 Mailbox busy"
    outbox.queue("kr1", recipient="busy@example.co.jp")
    report = OutboxSender(engine, transport_from_url(smtp_server.url), FixedClock(NOW)).send_batch()
    assert report.retrying == 1
    stored = entry(engine, "kr1")
    assert (stored.state, stored.next_attempt_at) == ("QUEUED", NOW + timedelta(seconds=30))


def test_a_server_without_8bitmime_gets_base64_and_the_key_survives(
    engine, outbox, seven_bit_smtp_server
):
    outbox.queue("kr1")
    sender = OutboxSender(engine, transport_from_url(seven_bit_smtp_server.url), FixedClock(NOW))
    assert sender.send_due() == 1
    (received,) = seven_bit_smtp_server.handler.messages()
    assert received.content.isascii()
    assert b"Content-Transfer-Encoding: base64" in received.content
    message = parse_message(received.content)
    assert message["Message-ID"] == "<keysvc.kr1@keysvc.example.jp>"
    assert license_key_of("kr1") in message.get_content().splitlines()


def test_starttls_and_auth(engine, outbox, tls_smtp_server):
    outbox.queue("kr1")
    url = authenticated_url("smtp+starttls", tls_smtp_server.port)
    transport = transport_from_url(url, ssl_context=tls_smtp_server.client_context)
    assert OutboxSender(engine, transport, FixedClock(NOW)).send_due() == 1
    (received,) = tls_smtp_server.handler.messages()
    assert (received.tls, received.authenticated_as) == (True, SMTP_USER)


# See the smtps_server fixture: aiosmtpd warns, but the connection is TLS throughout.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_and_auth(engine, outbox, smtps_server):
    outbox.queue("kr1")
    url = authenticated_url("smtps", smtps_server.port)
    transport = transport_from_url(url, ssl_context=smtps_server.client_context)
    assert OutboxSender(engine, transport, FixedClock(NOW)).send_due() == 1
    (received,) = smtps_server.handler.messages()
    assert (received.tls, received.authenticated_as) == (True, SMTP_USER)


def test_wrong_password_is_retried_and_never_recorded(engine, outbox, tls_smtp_server):
    outbox.queue("kr1")
    url = authenticated_url(
        "smtp+starttls",
        tls_smtp_server.port,
        password="wrong-secret",  # noqa: S106 - a wrong one
    )
    transport = transport_from_url(url, ssl_context=tls_smtp_server.client_context)
    report = OutboxSender(engine, transport, FixedClock(NOW)).send_batch()
    assert report.retrying == 1
    stored = entry(engine, "kr1")
    assert "authentication" in (stored.last_error or "")
    assert "wrong-secret" not in (stored.last_error or "")
    assert tls_smtp_server.handler.messages() == []


def test_untrusted_certificate_is_a_delivery_failure(engine, outbox, tls_smtp_server):
    outbox.queue("kr1")
    url = authenticated_url("smtp+starttls", tls_smtp_server.port)
    report = OutboxSender(engine, transport_from_url(url), FixedClock(NOW)).send_batch()
    assert report.retrying == 1
    assert "CERTIFICATE_VERIFY_FAILED" in (entry(engine, "kr1").last_error or "")


def test_starttls_is_never_skipped_when_the_server_lacks_it(engine, outbox, smtp_server):
    outbox.queue("kr1")
    url = authenticated_url("smtp+starttls", smtp_server.port)
    report = OutboxSender(engine, transport_from_url(url), FixedClock(NOW)).send_batch()
    assert report.retrying == 1
    assert "STARTTLS" in (entry(engine, "kr1").last_error or "")
    assert smtp_server.handler.messages() == []


@pytest.mark.parametrize("senders", [2, 4])
def test_concurrent_senders_deliver_each_message_once(
    engine, outbox, database_url, smtp_server, senders
):
    queued = outbox.queue_many(40)
    engines = [create_database_engine(database_url) for _ in range(senders)]
    clock = FixedClock(NOW)
    errors: list[BaseException] = []
    sent_counts = [0] * senders
    barrier = threading.Barrier(senders)

    def run(index: int) -> None:
        sender = OutboxSender(
            engines[index], transport_from_url(smtp_server.url), clock, batch_size=3
        )
        try:
            barrier.wait()
            while (report := sender.send_batch()).claimed:
                sent_counts[index] += report.sent
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for each in engines:
        each.dispose()

    assert errors == []
    assert sum(sent_counts) == 40
    received = message_ids(smtp_server)
    assert sorted(received) == sorted(mail.message_id for mail in queued)
    assert all(entry(engine, f"kr{index:03d}").state == "SENT" for index in range(40))


def test_maildir_delivery_writes_one_file_per_message(engine, outbox, tmp_path):
    queued = outbox.queue_many(3)
    maildir = tmp_path / "data" / "mail"
    sender = OutboxSender(engine, MaildirTransport(maildir), FixedClock(NOW))
    assert sender.send_due() == 3
    files = sorted((maildir / "new").iterdir())
    assert [path.name for path in files] == sorted(
        maildir_file_name(mail.message_id) for mail in queued
    )
    for mail in queued:
        message = parse_message((maildir / "new" / maildir_file_name(mail.message_id)).read_bytes())
        assert message["Message-ID"] == mail.message_id
        request_id = str(message["X-Keysvc-Request-Id"])
        assert license_key_of(request_id) in message.get_content().splitlines()
    assert all(entry(engine, f"kr{index:03d}").state == "SENT" for index in range(3))


class SimulatedCrash(BaseException):
    """The process dying: not an Exception, so nothing in the sender catches it."""


class CrashAfterDelivery:
    """Delivers through ``transport``, then 'crashes' before the sender can record it."""

    def __init__(self, transport) -> None:
        self._transport = transport

    def session(self):
        outer = self

        class _Session:
            def __init__(self, inner) -> None:
                self._inner = inner

            def deliver(self, mail) -> None:
                self._inner.deliver(mail)
                self._inner.flush()  # out for good (in new/, for a Maildir)
                raise SimulatedCrash

            def flush(self) -> None:
                self._inner.flush()

        @contextlib.contextmanager
        def opened():
            with outer._transport.session() as inner:
                yield _Session(inner)

        return opened()


def test_crash_after_sending_resends_with_the_same_message_id(engine, outbox, smtp_server):
    outbox.queue("kr1")
    clock = FixedClock(NOW)
    transport = transport_from_url(smtp_server.url)
    with pytest.raises(SimulatedCrash):
        OutboxSender(engine, CrashAfterDelivery(transport), clock).send_batch()
    assert entry(engine, "kr1").state == "QUEUED"

    restarted = OutboxSender(engine, transport, clock)
    # Leased by the crashed sender: not re-sent before the lease runs out.
    clock.advance(DEFAULT_LEASE - timedelta(seconds=1))
    assert restarted.send_due() == 0
    clock.advance(timedelta(seconds=1))
    assert restarted.send_due() == 1

    first, second = smtp_server.handler.messages()
    assert first.content == second.content
    assert message_ids(smtp_server) == ["<keysvc.kr1@keysvc.example.jp>"] * 2
    stored = entry(engine, "kr1")
    assert (stored.state, stored.attempts) == ("SENT", 2)


def test_crash_after_writing_to_the_maildir_leaves_one_file(engine, outbox, tmp_path):
    outbox.queue("kr1")
    clock = FixedClock(NOW)
    transport = MaildirTransport(tmp_path / "mail")
    with pytest.raises(SimulatedCrash):
        OutboxSender(engine, CrashAfterDelivery(transport), clock).send_batch()
    clock.advance(DEFAULT_LEASE)
    assert OutboxSender(engine, transport, clock).send_due() == 1
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 1
    assert entry(engine, "kr1").state == "SENT"


def test_stops_starting_deliveries_when_half_the_lease_has_passed(engine, outbox):
    outbox.queue_many(3)
    clock = FixedClock(NOW)
    lease = timedelta(minutes=4)

    class SlowTransport(CapturingTransport):
        def deliver(self, mail) -> None:
            super().deliver(mail)
            clock.advance(timedelta(minutes=2))

    transport = SlowTransport()
    report = OutboxSender(engine, transport, clock, lease=lease).send_batch()
    assert (report.claimed, report.sent, report.deferred) == (3, 1, 2)
    # The deferred messages come back when their lease runs out, not before.
    assert entry(engine, "kr001").next_attempt_at == NOW + lease
    clock.set(NOW + lease)
    assert OutboxSender(engine, CapturingTransport(), clock).send_batch().sent == 2


def test_a_session_that_cannot_open_fails_the_batch_for_now(engine, outbox):
    outbox.queue_many(2)

    class Unopenable(CapturingTransport):
        def session(self):
            raise DeliveryError("disk full")

    report = OutboxSender(engine, Unopenable(), FixedClock(NOW)).send_batch()
    assert (report.claimed, report.retrying) == (2, 2)
    assert entry(engine, "kr000").last_error == "disk full"


def test_an_unexpected_error_is_recorded_with_its_type(engine, outbox):
    outbox.queue("kr1")
    transport = CapturingTransport()
    transport.fail_with(RuntimeError("bug"))
    report = OutboxSender(engine, transport, FixedClock(NOW)).send_batch()
    assert report.retrying == 1
    assert entry(engine, "kr1").last_error == "RuntimeError: bug"


def test_nothing_due_opens_no_session(engine, outbox):
    transport = CapturingTransport()
    assert OutboxSender(engine, transport, FixedClock(NOW)).send_due() == 0
    assert transport.sessions_opened == 0
