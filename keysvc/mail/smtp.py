"""The SMTP transport, configured by a URL (``KEYSVC_SMTP_URL``).

==============================================  =====================================
URL                                              connection
==============================================  =====================================
``smtp://host[:port]``                           plain SMTP, no auth (port 25)
``smtp+starttls://[user:pass@]host[:port]``      STARTTLS required, then AUTH (port 587)
``smtps://[user:pass@]host[:port]``              TLS from the first byte (port 465)
==============================================  =====================================

User and password are percent-decoded (``%40`` for ``@``). Credentials over
plain ``smtp://`` are refused: they would cross the network in clear. The
server certificate is verified against the system's trust store unless an
``ssl.SSLContext`` is given; that default context is built once per transport,
when its first connection needs TLS (never for ``smtp://``), as building one
costs some 20 ms.

The password is kept out of every ``repr``, log line and error message; the
transport never enables smtplib's debug output (which would print AUTH).

`smtplib` is blocking: the sender runs it in a worker thread. Every socket
operation has a timeout (30 s by default).
"""

from __future__ import annotations

import functools
import logging
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.parser import BytesParser
from types import TracebackType
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from keysvc.mail.compose import ComposedMail
from keysvc.mail.errors import DeliveryError, InvalidSmtpUrl, PermanentDeliveryError

__all__ = [
    "DEFAULT_SMTP_TIMEOUT",
    "SmtpSettings",
    "SmtpTransport",
    "parse_smtp_url",
    "transport_from_url",
]

logger = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]

DEFAULT_SMTP_TIMEOUT: Final = 30.0

_SCHEMES: Final[dict[str, tuple[Security, int]]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
# Over TLS PLAIN is as safe as any and the most widely offered.
_AUTH_MECHANISMS: Final = ("PLAIN", "LOGIN", "CRAM-MD5")
# The reply an SMTP server gives when it is closing the connection (RFC 5321 4.2.3).
_SERVICE_CLOSING: Final = 421
# The header fields the transport reads, each with its continuation lines (RFC 5322 2.2.3).
_NEEDED_FIELDS: Final = re.compile(
    rb"^(from|content-transfer-encoding):(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to connect; the password never appears in ``repr``."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_SMTP_TIMEOUT

    def redacted_url(self) -> str:
        """The settings as a URL with the password replaced by ``***``, fit for logs.

        >>> SmtpSettings("mail.example.jp", 587, "starttls", "keysvc", "s3cret").redacted_url()
        'smtp+starttls://keysvc:***@mail.example.jp:587'
        """
        scheme = next(name for name, (security, _) in _SCHEMES.items() if security == self.security)
        credentials = f"{self.username}:***@" if self.username is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{credentials}{host}:{self.port}"


def parse_smtp_url(url: str, *, timeout: float = DEFAULT_SMTP_TIMEOUT) -> SmtpSettings:
    """Parses an SMTP URL (see the module docstring); raises `InvalidSmtpUrl`.

    >>> settings = parse_smtp_url("smtp+starttls://keysvc:p%40ss@mail.example.jp")
    >>> settings.port, settings.security, settings.username, settings.password
    (587, 'starttls', 'keysvc', 'p@ss')

    Error messages show the URL with its password masked.
    """
    shown = _redacted(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise InvalidSmtpUrl(f"SMTP URL {shown!r} is malformed: {error}") from error
    if parts.scheme not in _SCHEMES:
        expected = ", ".join(f"{scheme}://" for scheme in _SCHEMES)
        raise InvalidSmtpUrl(
            f"SMTP URL {shown!r}: unsupported scheme {parts.scheme!r}; expected {expected}"
        )
    security, default_port = _SCHEMES[parts.scheme]
    if not parts.hostname:
        raise InvalidSmtpUrl(f"SMTP URL {shown!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidSmtpUrl(f"SMTP URL {shown!r}: a path, query or fragment is not supported")
    if port == 0:
        raise InvalidSmtpUrl(f"SMTP URL {shown!r}: port 0 is not a port to connect to")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None) or username == "":
        raise InvalidSmtpUrl(
            f"SMTP URL {shown!r}: give both a user name and a password, or neither"
        )
    if username is not None and security == "none":
        raise InvalidSmtpUrl(
            f"SMTP URL {shown!r}: credentials over plain smtp:// would be sent in clear; "
            "use smtp+starttls:// or smtps://"
        )
    if timeout <= 0:
        raise InvalidSmtpUrl(f"SMTP timeout must be positive, got {timeout}")
    return SmtpSettings(
        host=parts.hostname,
        port=port or default_port,
        security=security,
        username=username,
        password=password,
        timeout=timeout,
    )


def transport_from_url(
    url: str,
    *,
    timeout: float = DEFAULT_SMTP_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
    local_hostname: str | None = None,
) -> SmtpTransport:
    """An `SmtpTransport` for ``url``; raises `InvalidSmtpUrl` (a ``ValueError``).

    ``ssl_context`` defaults to ``ssl.create_default_context()`` (system trust
    store, host name checked), built once, at the first TLS connection;
    ``local_hostname`` is the EHLO name (default: this host's FQDN).
    """
    return SmtpTransport(
        parse_smtp_url(url, timeout=timeout),
        ssl_context=ssl_context,
        local_hostname=local_hostname,
    )


class SmtpTransport:
    """Delivers over SMTP: one connection per session (batch), opened on first use.

    A connection lost in the middle of a batch is opened again for the next
    message. Replies are mapped to errors so the outbox knows whether to retry:

    - 5xx for the recipient (RCPT) or the message (DATA): `PermanentDeliveryError`.
    - everything else — connection refused or lost, timeouts, TLS and
      authentication failures, 4xx, a refused sender — `DeliveryError`: the
      cause is the server's state or our configuration, which an operator can
      fix before the retries run out.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._settings = settings
        self._ssl_context = ssl_context
        self._ssl_context_lock = threading.Lock()
        self._local_hostname = local_hostname

    @property
    def settings(self) -> SmtpSettings:
        """The connection settings (the password is not in their ``repr``)."""
        return self._settings

    def __repr__(self) -> str:
        return f"SmtpTransport({self._settings.redacted_url()!r})"

    def session(self) -> _SmtpSession:
        """A session for one batch; it connects when the first message is delivered."""
        return _SmtpSession(self)

    def tls_context(self) -> ssl.SSLContext:
        """The context for STARTTLS and smtps: the one given, else the system default.

        The default (``ssl.create_default_context()``, some 20 ms) is built at
        the first call and kept for every later connection of this transport.
        """
        context = self._ssl_context
        if context is None:
            with self._ssl_context_lock:
                if self._ssl_context is None:
                    self._ssl_context = ssl.create_default_context()
                context = self._ssl_context
        return context

    def open_connection(self) -> smtplib.SMTP:
        """Connects, says EHLO, STARTTLS and AUTH as configured; raises `DeliveryError`.

        Sessions call this; the caller owns the connection and must QUIT or close it.
        """
        settings = self._settings
        shown = settings.redacted_url()
        client: smtplib.SMTP
        try:
            if settings.security == "tls":
                client = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=self._local_hostname,
                    timeout=settings.timeout,
                    context=self.tls_context(),
                )
            else:
                client = smtplib.SMTP(
                    settings.host,
                    settings.port,
                    local_hostname=self._local_hostname,
                    timeout=settings.timeout,
                )
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"cannot connect to {shown}: {_describe(error)}") from error
        try:
            client.ehlo_or_helo_if_needed()
            if settings.security == "starttls":
                # Raises SMTPNotSupportedError when not offered: never fall back to clear text.
                client.starttls(context=self.tls_context())
                client.ehlo_or_helo_if_needed()
            if settings.username is not None and settings.password is not None:
                _login(client, settings.username, settings.password)
        except smtplib.SMTPAuthenticationError as error:
            _close_quietly(client)
            raise DeliveryError(
                f"{shown}: authentication as {settings.username!r} refused: {_describe(error)}"
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            _close_quietly(client)
            raise DeliveryError(
                f"cannot open a session with {shown}: {_describe(error)}"
            ) from error
        logger.debug("connected to the SMTP server", extra={"smtp_url": shown})
        return client


class _SmtpSession:
    """One batch's SMTP connection: connects lazily, reconnects after a loss, QUITs at the end.

    A failure to connect (or to get through STARTTLS and AUTH) fails every
    later message of the session too, without trying again.
    """

    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._client: smtplib.SMTP | None = None
        self._cannot_connect: DeliveryError | None = None

    def __enter__(self) -> _SmtpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def flush(self) -> None:
        """Nothing to do: a message the server accepted is its to keep (RFC 5321, 6.1)."""

    def deliver(self, mail: ComposedMail) -> None:
        """Sends ``mail`` to ``mail.recipient``, the envelope sender being its From address."""
        envelope_sender, transfer_encoding = _envelope_sender_and_encoding(mail.message)
        if self._cannot_connect is not None:
            # The server was unreachable a moment ago: fail the rest of the batch
            # at once rather than wait out a connect timeout for every message.
            raise DeliveryError(str(self._cannot_connect))
        if self._client is None:
            try:
                self._client = self._transport.open_connection()
            except DeliveryError as error:
                self._cannot_connect = error
                raise
        client = self._client
        payload = mail.message
        options: list[str] = []
        if transfer_encoding == "8bit":
            if client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                # RFC 6152: without 8BITMIME the client must convert to 7 bit.
                payload = _as_base64(mail.message)
        try:
            client.sendmail(envelope_sender, [mail.recipient], payload, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients.get(mail.recipient, (0, b""))
            text = f"{self._shown()} refused recipient {mail.recipient}: {code} {_text(reply)}"
            raise _by_code(code, text) from error
        except smtplib.SMTPDataError as error:
            self._forget_if_closed()
            text = f"{self._shown()} refused the message: {_describe(error)}"
            raise _by_code(error.smtp_code, text) from error
        except (smtplib.SMTPException, OSError) as error:
            # Sender refused, connection lost, timeout …: not this message's fault.
            self._forget_if_closed(
                force=isinstance(error, OSError | smtplib.SMTPServerDisconnected)
            )
            raise DeliveryError(f"{self._shown()}: {_describe(error)}") from error

    def _shown(self) -> str:
        return self._transport.settings.redacted_url()

    def _forget_if_closed(self, *, force: bool = False) -> None:
        # smtplib closes the socket itself on 421; a timeout leaves the
        # conversation in an unknown state. Either way, the next message
        # starts on a new connection.
        client = self._client
        if client is None:
            return
        if force or client.sock is None:
            client.close()
            self._client = None


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH with the first mechanism of PLAIN, LOGIN, CRAM-MD5 the server offers.

    One mechanism only, unlike ``smtplib.SMTP.login``, which tries the next
    after a refusal: a wrong password then costs one failed login on the
    server (lock-outs count them), and the server's own refusal is reported.
    """
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH")
    offered = client.esmtp_features["auth"].upper().split()
    mechanism = next((name for name in _AUTH_MECHANISMS if name in offered), None)
    if mechanism is None:
        raise smtplib.SMTPNotSupportedError(f"no supported AUTH mechanism among {offered}")
    # The auth_* methods read the credentials from these attributes (see smtplib's docs).
    client.user, client.password = username, password
    authobject = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
    client.auth(mechanism, authobject)


def _envelope_sender_and_encoding(message: bytes) -> tuple[str, str]:
    """The From address (the envelope sender) and the Content-Transfer-Encoding, lower case.

    Reads only these two fields of the header section (the first of each),
    as ``BytesHeaderParser(policy=policy.default)`` would see them, and
    interprets each value with that policy's header registry once per distinct
    value (cached), not once per message: every license e-mail has the same
    From and Content-Transfer-Encoding. Raises `PermanentDeliveryError`
    without exactly one From address.
    """
    fields = _needed_fields(message)
    sender = _single_address(fields.get(b"from", ""))
    if sender is None:
        raise PermanentDeliveryError("the message has no single From address to use as sender")
    encoding = fields.get(b"content-transfer-encoding")
    return sender, "7bit" if encoding is None else _transfer_encoding(encoding)


def _needed_fields(message: bytes) -> dict[bytes, str]:
    """From and Content-Transfer-Encoding of the header section (lower-case name -> raw value).

    A value is as the email package's parser stores it: decoded as ASCII with
    surrogate escapes, leading blanks and the final line break removed, the
    folding line breaks kept.
    """
    if message.startswith((b"\n", b"\r\n")):
        return {}  # an empty header section
    # It ends at the first empty line: a line break, then LF or CRLF.
    end = message.find(b"\n\r\n")
    bare_lf = message.find(b"\n\n", 0, end if end >= 0 else len(message))
    if bare_lf >= 0:
        end = bare_lf
    header = message[:end] if end >= 0 else message
    fields: dict[bytes, str] = {}
    for match in _NEEDED_FIELDS.finditer(header):
        name = match[1].lower()
        if name not in fields:
            value = match[2].decode("ascii", "surrogateescape")
            fields[name] = value.lstrip(" \t").rstrip("\r\n")
    return fields


@functools.lru_cache(maxsize=64)
def _single_address(from_value: str) -> str | None:
    """The addr-spec of a From field holding exactly one address; None otherwise."""
    header = policy.default.header_fetch_parse("From", from_value)
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if len(addresses) != 1:
        return None
    return addresses[0].addr_spec


@functools.lru_cache(maxsize=16)
def _transfer_encoding(value: str) -> str:
    """A Content-Transfer-Encoding field's value, lower case (``8bit``, ``base64`` …)."""
    return (
        str(policy.default.header_fetch_parse("Content-Transfer-Encoding", value)).strip().lower()
    )


def _as_base64(message: bytes) -> bytes:
    parsed = BytesParser(policy=policy.SMTP).parsebytes(message)
    if parsed.is_multipart() or parsed.get_content_maintype() != "text":
        raise PermanentDeliveryError("cannot convert this 8bit message for a 7-bit server")
    text = parsed.get_content()
    parsed.set_content(
        text,
        subtype=parsed.get_content_subtype(),
        charset=parsed.get_content_charset() or "utf-8",
        cte="base64",
    )
    return parsed.as_bytes(policy=policy.SMTP)


def _by_code(code: int, text: str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(text)
    return DeliveryError(text)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return reply


def _close_quietly(client: smtplib.SMTP) -> None:
    try:
        client.close()
    except OSError:
        logger.debug("error closing an SMTP connection", exc_info=True)


def _redacted(url: str) -> str:
    # Mask everything between the first ":" after "//" and the last "@" of the
    # authority, whatever else is wrong with the URL.
    scheme, separator, rest = url.strip().partition("//")
    if not separator:
        return "<hidden>" if "@" in url else url.strip()
    authority_end = len(rest)
    for stop in "/?#":
        index = rest.find(stop, rest.rfind("@") + 1)
        if index != -1:
            authority_end = min(authority_end, index)
    authority, tail = rest[:authority_end], rest[authority_end:]
    credentials, at, host = authority.rpartition("@")
    if not at:
        return url.strip()
    user = credentials.split(":", 1)[0]
    return f"{scheme}//{user}:***@{host}{tail}"
