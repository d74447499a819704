"""Fakes for tests of keysvc and of programs built on it: a transport that keeps messages.

::

    transport = CapturingTransport()
    sender = OutboxSender(engine, transport, FixedClock(now))
    sender.send_due()
    [mail.message_id for mail in transport.delivered]

``transport.fail_with(DeliveryError("down"))`` makes every delivery fail until
``transport.fail_with(None)``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from keysvc.mail.compose import ComposedMail
from keysvc.mail.transports import MailSession

__all__ = ["CapturingTransport", "parse_message"]


def parse_message(mail: ComposedMail | bytes) -> EmailMessage:
    """The message as an `EmailMessage` (modern policy: decoded headers, `get_content`)."""
    data = mail.message if isinstance(mail, ComposedMail) else mail
    return BytesParser(policy=policy.default).parsebytes(data)


class CapturingTransport:
    """Keeps every delivered message in `delivered`, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delivered: list[ComposedMail] = []
        self._error: Exception | None = None
        self.sessions_opened = 0

    @property
    def delivered(self) -> list[ComposedMail]:
        """A copy of the delivered messages, oldest first."""
        with self._lock:
            return list(self._delivered)

    def fail_with(self, error: Exception | None) -> None:
        """Makes every delivery raise ``error`` from now on (None: deliver again)."""
        with self._lock:
            self._error = error

    @contextlib.contextmanager
    def session(self) -> Iterator[MailSession]:
        """A session; counted in `sessions_opened`."""
        with self._lock:
            self.sessions_opened += 1
        yield self

    def deliver(self, mail: ComposedMail) -> None:
        """Keeps ``mail``, or raises the error set with `fail_with`."""
        with self._lock:
            if self._error is not None:
                raise self._error
            self._delivered.append(mail)

    def flush(self) -> None:
        """Nothing to make durable: a kept message is in `delivered` at once."""
