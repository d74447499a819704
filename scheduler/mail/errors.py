"""The errors of the mail package.

::

    MailError                      anything this package raises on purpose
    ├── InvalidMail (ValueError)   compose_license_mail got something it cannot put in a message
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
]


class MailError(Exception):
    """Base class of the errors this package raises on purpose."""


class InvalidMail(MailError, ValueError):
    """A value given to `compose_license_mail` cannot go into a message (bad address, CR/LF …)."""


class InvalidSmtpUrl(MailError, ValueError):
    """The SMTP URL is malformed or asks for something unsupported; the text says what."""


class DeliveryError(MailError):
    """A message could not be delivered this time (server down, timeout, 4xx); retry later."""


class PermanentDeliveryError(DeliveryError):
    """The server refused this message for good (5xx for its recipient or content); do not retry."""
