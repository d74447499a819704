"""The errors of the mail package.

::

    MailError                      anything this package raises on purpose
    ├── InvalidMail (ValueError)   compose_license_mail got something it cannot put in a message
    │   └── UndeliverableAddress   an address that is not deliverable (keysvc.mail.address)
    ├── InvalidSmtpUrl (ValueError) KEYSVC_SMTP_URL is not a URL this package can use
    └── DeliveryError              a transport could not deliver one message; try again later
        └── PermanentDeliveryError the message can never be delivered as it is; do not retry

The two ``ValueError`` subclasses are configuration or programming errors,
raised before anything is queued or sent. `DeliveryError` is what transports
raise and `OutboxSender` records in ``mail_outbox.last_error``: its message is
shown to operators, so it never contains a password.
"""

from __future__ import annotations

__all__ = [
    "DeliveryError",
    "InvalidMail",
    "InvalidSmtpUrl",
    "MailError",
    "PermanentDeliveryError",
    "UndeliverableAddress",
]


class MailError(Exception):
    """Base class of the errors this package raises on purpose."""


class InvalidMail(MailError, ValueError):
    """A value given to `compose_license_mail` cannot go into a message (bad address, CR/LF …)."""


class UndeliverableAddress(InvalidMail):
    """Not a deliverable address (`keysvc.mail.address` defines one).

    ``problem`` says what is wrong, in English, for operators; the message
    repeats only ``prefix``, the start of the value (`keysvc.mail.address.shown`).
    """

    def __init__(self, problem: str, prefix: str) -> None:
        """Keep the problem; the message is the problem and the value's prefix."""
        super().__init__(f"not a deliverable e-mail address ({problem}): {prefix}")
        self.problem = problem


class InvalidSmtpUrl(MailError, ValueError):
    """The SMTP URL is malformed or asks for something unsupported; the text says what."""


class DeliveryError(MailError):
    """A message could not be delivered this time (server down, timeout, 4xx); retry later."""


class PermanentDeliveryError(DeliveryError):
    """The server refused this message for good (5xx for its recipient or content); do not retry."""
