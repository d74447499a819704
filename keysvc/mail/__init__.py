"""The license e-mail: composing it, the transactional outbox sender, and transports.

- `deliverable_address` (pure) is what an address must be to be mailed; the
  API checks contact addresses with it too.
- `compose_license_mail` (pure) builds the message once, as bytes, with a
  deterministic ``Message-ID`` per key request.
- `keysvc.persistence.outbox_repository.queue_mail` stores it in the release
  transaction; `OutboxSender` delivers what is queued (`run_sender` loops it).
- Transports: `MaildirTransport` (the embedded default, ``<data-dir>/mail/``)
  and `SmtpTransport` (`transport_from_url` for ``KEYSVC_SMTP_URL``);
  `keysvc.mail.testing.CapturingTransport` for tests.

docs/mail.md describes the design and its guarantees.
"""

from __future__ import annotations

from keysvc.mail.address import deliverable_address, is_deliverable
from keysvc.mail.compose import MAIL_KINDS, ComposedMail, compose_license_mail, message_id_for
from keysvc.mail.errors import (
    DeliveryError,
    InvalidMail,
    InvalidSmtpUrl,
    MailError,
    PermanentDeliveryError,
    UndeliverableAddress,
)
from keysvc.mail.outbox import BatchReport, OutboxSender, retry_delay, run_sender
from keysvc.mail.smtp import SmtpSettings, SmtpTransport, parse_smtp_url, transport_from_url
from keysvc.mail.transports import (
    MaildirTransport,
    MailSession,
    MailTransport,
    maildir_file_name,
)

__all__ = [
    "MAIL_KINDS",
    "BatchReport",
    "ComposedMail",
    "DeliveryError",
    "InvalidMail",
    "InvalidSmtpUrl",
    "MailError",
    "MailSession",
    "MailTransport",
    "MaildirTransport",
    "OutboxSender",
    "PermanentDeliveryError",
    "SmtpSettings",
    "SmtpTransport",
    "UndeliverableAddress",
    "compose_license_mail",
    "deliverable_address",
    "is_deliverable",
    "maildir_file_name",
    "message_id_for",
    "parse_smtp_url",
    "retry_delay",
    "run_sender",
    "transport_from_url",
]
