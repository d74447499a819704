"""The license-key e-mail, composed once as bytes: a pure function, no I/O.

The outbox stores the exact bytes `compose_license_mail` returns, so a retry
or a re-send after a crash sends the very same message, with the same
``Message-ID``::

    mail = compose_license_mail(
        key_request_id="kr_01",
        recipient="it@example.co.jp",
        customer_name="株式会社テスト",
        contract_number="SS-2026-000123",
        product_name="desknet's NEO",
        license_serial="L-000001",
        license_key="eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJrZXlzdmMifQ.c2ln",
        generation=1,
        support_end=date(2027, 3, 31),
        kind=KeyRequestKind.INITIAL,
        issued_at=datetime(2026, 11, 20, 7, 59, tzinfo=UTC),
        sender="desknet's NEO サポート <noreply@example.jp>",
        message_id_domain="keysvc.example.jp",
    )
    mail.message_id  # '<keysvc.kr_01@keysvc.example.jp>'

Encoding choices (see docs/mail.md):

- Headers are ASCII on the wire: the Japanese subject and display names become
  RFC 2047 encoded words (UTF-8), which every mail client decodes.
- The body is UTF-8 text with ``Content-Transfer-Encoding: 8bit``: the license
  key stays on one line, byte for byte, in the message as stored and sent, so
  it can be copied whole and even found with ``grep`` in a Maildir. Neither
  base64 nor quoted-printable would keep it readable in the raw message
  (quoted-printable also breaks long lines with ``=``). 8bit needs lines of at
  most 998 bytes (RFC 5322); a message with a longer line is written in base64
  instead. The SMTP transport re-encodes an 8bit message as base64 for a server
  that does not announce 8BITMIME.
"""

# ruff: noqa: RUF001
# Japanese text is written with full-width parentheses and colons, on purpose.

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

from keysvc.domain.lifecycle import KeyRequestKind
from keysvc.mail.address import deliverable_address
from keysvc.mail.errors import InvalidMail
from scheduler.calendar import JST, NaiveDatetime
from scheduler.calendar.business import as_utc

__all__ = [
    "MAIL_KINDS",
    "ComposedMail",
    "compose_license_mail",
    "message_id_for",
]

# Subject line per key-request kind: the product in 【】 as the product's own
# notices write it, then what happened, then the support service number.
_SUBJECTS: Final = {
    KeyRequestKind.INITIAL: "【{product}】ライセンスキーのお知らせ",
    KeyRequestKind.REISSUE: "【{product}】ライセンスキー再発行のお知らせ",
    KeyRequestKind.SEATS_CHANGE: "【{product}】ライセンス数変更に伴うライセンスキーのお知らせ",
    KeyRequestKind.REPLACEMENT: "【{product}】ライセンスキー再発行のお知らせ（署名鍵の更新）",
}
_SUBJECT_CONTRACT: Final = "（{contract}）"
MAIL_KINDS: Final = tuple(kind.value for kind in _SUBJECTS)

# Where a re-issue has no overlap (or its overlap ends at once): the old key stopped.
_PREVIOUS_KEY_STOPPED: Final = (
    "これまでのライセンスキーは、本ライセンスキーの発行をもって無効となりました。"
)

# The paragraph that says why this key was issued, and what happens to the old one.
_INTRODUCTIONS: Final = {
    KeyRequestKind.INITIAL: (
        "ご依頼いただきましたライセンスキーを発行いたしましたので、お知らせいたします。",
    ),
    KeyRequestKind.REISSUE: (
        "サーバー移行に伴うライセンスキーの再発行を承りましたので、",
        "新しいライセンスキーをお知らせいたします。",
        _PREVIOUS_KEY_STOPPED,
        "新しいサーバーに本ライセンスキーを設定してください。",
    ),
    KeyRequestKind.SEATS_CHANGE: (
        "ライセンス数の変更に伴い、新しいライセンスキーを発行いたしましたので、お知らせいたします。",
        "これまでのライセンスキーに代えて、本ライセンスキーを設定してください。",
    ),
    KeyRequestKind.REPLACEMENT: (
        "弊社がライセンスキーの署名に使用している鍵を更新いたしましたため、",
        "ご利用中のライセンスキーを再発行いたしましたので、お知らせいたします。",
        "これまでのライセンスキーは無効となりました。",
        "お手数をおかけして誠に申し訳ございませんが、ご利用中のサーバーに",
        "本ライセンスキーを設定してください（サーバーの移行やお手続きは不要です）。",
    ),
}

# RFC 5322: a line is at most 998 characters plus CRLF.
_MAX_LINE_BYTES: Final = 998
# RFC 5322 atext: what may appear between the dots of a dot-atom (the Message-ID's left part).
_DOT_ATOM: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_DOMAIN: Final = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
# RFC 5322's recommended line length, which also keeps encoded words under RFC 2047's 75.
_MAX_HEADER_LINE: Final = 78
# mail_outbox.message_id is VARCHAR(255).
_MAX_MESSAGE_ID: Final = 255


@dataclass(frozen=True, slots=True)
class ComposedMail:
    """A complete message ready to queue: its Message-ID, envelope recipient and bytes.

    ``message`` is the whole RFC 5322 message with CRLF line endings, as sent
    over SMTP. ``message_id`` includes the angle brackets, as in the header.
    """

    message_id: str
    recipient: str
    message: bytes

    def __repr__(self) -> str:
        # The bytes hold the license key; keep it out of logs and tracebacks.
        return (
            f"ComposedMail(message_id={self.message_id!r}, recipient={self.recipient!r}, "
            f"message=<{len(self.message)} bytes>)"
        )


def message_id_for(key_request_id: str, domain: str, resend: int = 0) -> str:
    """The Message-ID of the e-mail for a key request, or of its `resend`-th resend: the
    same every time it is asked.

    >>> message_id_for("kr_01", "keysvc.example.jp")
    '<keysvc.kr_01@keysvc.example.jp>'
    >>> message_id_for("kr_01", "keysvc.example.jp", resend=2)
    '<keysvc.kr_01.resend2@keysvc.example.jp>'

    Raises `InvalidMail` when the id is not a dot-atom or the domain not a host name.
    """
    if not _DOT_ATOM.fullmatch(key_request_id):
        raise InvalidMail(f"key request id {key_request_id!r} cannot be part of a Message-ID")
    if not _DOMAIN.fullmatch(domain):
        raise InvalidMail(f"Message-ID domain {domain!r} is not a host name")
    if resend < 0:
        raise InvalidMail(f"a resend is counted from 1, got {resend}")
    suffix = f".resend{resend}" if resend else ""
    message_id = f"<keysvc.{key_request_id}{suffix}@{domain}>"
    if len(message_id) > _MAX_MESSAGE_ID:
        raise InvalidMail(f"Message-ID longer than {_MAX_MESSAGE_ID} characters: {message_id!r}")
    return message_id


def compose_license_mail(
    *,
    key_request_id: str,
    recipient: str,
    customer_name: str,
    contract_number: str,
    product_name: str,
    license_serial: str,
    license_key: str,
    generation: int,
    support_end: date,
    kind: KeyRequestKind,
    issued_at: datetime,
    sender: str,
    message_id_domain: str,
    previous_key_valid_until: datetime | None = None,
    resend: int = 0,
    resent_at: datetime | None = None,
) -> ComposedMail:
    """Composes the e-mail that hands a customer their license key.

    Deterministic: the same arguments give the same bytes. The message has
    ``From`` (``sender``, an address optionally with a display name), ``To``,
    a Japanese ``Subject`` by ``kind`` (``INITIAL``, ``REISSUE``,
    ``SEATS_CHANGE``), ``Date`` (``issued_at`` in JST), ``Message-ID``
    (`message_id_for`), ``X-Keysvc-Request-Id`` and ``Auto-Submitted:
    auto-generated`` (RFC 3834, so auto-responders stay quiet), and a polite
    plain-text body with the contract number, product, serial, generation,
    support end date, and the license key alone on its own line. A REISSUE's
    ``previous_key_valid_until`` (the end of its overlap, SPEC section 5a) says
    until when the old key keeps working; without one, or at the release itself,
    the old key stopped with this one.

    A resend (``resend`` ≥ 1, staff's ResendKeyMail) has a Message-ID of its own
    (`message_id_for`), is dated ``resent_at``, and says first that it repeats the
    e-mail of ``issued_at``; what it says of the old key is as of ``resent_at``.

    Nothing secret goes in but the key itself, which is the customer's.

    The recipient is written in its normal form (`deliverable_address`: the
    domain in lower case and A-labels); the envelope recipient is the same.

    Raises `InvalidMail` for an unknown kind, a naive ``issued_at``, or text
    with line breaks where a header needs one line, and its `UndeliverableAddress`
    for a recipient that is not a deliverable address (`keysvc.mail.address`:
    the one definition the API checks contact addresses with, too).
    """
    if kind not in _SUBJECTS:
        raise InvalidMail(f"unknown key request kind {kind!r}; expected one of {MAIL_KINDS}")
    if (resend > 0) != (resent_at is not None):
        raise InvalidMail("a resend has a number from 1 and a resent_at instant, or neither")
    try:
        issued_jst = as_utc(issued_at).astimezone(JST)
        sent_jst = issued_jst if resent_at is None else as_utc(resent_at).astimezone(JST)
        previous_until_jst = (
            None
            if previous_key_valid_until is None
            else as_utc(previous_key_valid_until).astimezone(JST)
        )
    except NaiveDatetime as error:
        raise InvalidMail(str(error)) from error
    message_id = message_id_for(key_request_id, message_id_domain, resend)
    recipient_address = deliverable_address(recipient)
    for name, value in (
        ("customer name", customer_name),
        ("contract number", contract_number),
        ("product name", product_name),
        ("license serial", license_serial),
    ):
        _require_one_line(name, value)
    key = "".join(license_key.split())
    if not key or not key.isascii():
        raise InvalidMail("the license key must be non-empty ASCII text")

    # Encoded in two parts: the first is the same for every key of a product and kind.
    subject = (
        _SUBJECTS[kind].format(product=product_name),
        _SUBJECT_CONTRACT.format(contract=contract_number),
    )
    body = _body(
        kind=kind,
        customer_name=customer_name,
        contract_number=contract_number,
        product_name=product_name,
        license_serial=license_serial,
        license_key=key,
        generation=generation,
        support_end=support_end,
        issued_jst=issued_jst,
        sent_jst=sent_jst,
        previous_until_jst=previous_until_jst,
    ).encode("utf-8")
    longest = max(map(len, body.splitlines()))
    if longest <= _MAX_LINE_BYTES:
        cte, payload = "8bit", body.replace(b"\n", b"\r\n")
    else:
        cte, payload = "base64", base64.encodebytes(body).replace(b"\n", b"\r\n")
    # Written out rather than through EmailMessage.as_bytes, whose header folding
    # cost milliseconds a message (docs/benchmarks.md, B2); the folding that
    # needs the email package (From with a display name) is cached per sender.
    headers = (
        _from_header(sender),
        f"To: {recipient_address}\r\n",
        _encoded_header("Subject", *subject),
        _date_line(sent_jst),
        f"Message-ID: {message_id}\r\n",
        f"X-Keysvc-Request-Id: {key_request_id}\r\n",
        "Auto-Submitted: auto-generated\r\n",
        'Content-Type: text/plain; charset="utf-8"\r\n',
        f"Content-Transfer-Encoding: {cte}\r\n",
        "MIME-Version: 1.0\r\n",
        "\r\n",
    )
    return ComposedMail(
        message_id=message_id,
        recipient=recipient_address,
        message="".join(headers).encode("ascii") + payload,
    )


@functools.lru_cache(maxsize=32)
def _from_header(sender: str) -> str:
    """The folded ``From:`` line for a sender, checked once: there are few senders."""
    _require_one_line("sender", sender)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    _check_sender(message)
    return str(policy.SMTP.fold("From", message["From"]))


@functools.lru_cache(maxsize=16)
def _date_line(issued_jst: datetime) -> str:
    """The ``Date:`` line: the same for a whole release batch, which shares its instant.

    Only ever given instants in JST: aware datetimes compare and hash by their
    instant, so the same instant in another zone would find this JST line.
    """
    return f"Date: {format_datetime(issued_jst)}\r\n"


def _body(
    *,
    kind: KeyRequestKind,
    customer_name: str,
    contract_number: str,
    product_name: str,
    license_serial: str,
    license_key: str,
    generation: int,
    support_end: date,
    issued_jst: datetime,
    sent_jst: datetime,
    previous_until_jst: datetime | None,
) -> str:
    issued = f"{_japanese_date(issued_jst.date())} {issued_jst:%H:%M}"
    resent = (
        ()
        if sent_jst == issued_jst
        else (f"※ 本メールは、{issued}（日本時間）にお送りしたお知らせの再送です。", "")
    )
    lines = [
        *resent,
        f"{customer_name}",
        "ご担当者様",
        "",
        f"平素より{product_name}をご利用いただき、誠にありがとうございます。",
        *_introduction(kind, sent_jst, previous_until_jst),
        "",
        "■ ご契約内容",
        f"　サポートサービス番号：{contract_number}",
        f"　製品：{product_name}",
        f"　ライセンスシリアル：{license_serial}",
        f"　ライセンスキー世代：{generation}",
        f"　サポート期間終了日：{_japanese_date(support_end)}",
        f"　発行日時：{issued}（日本時間）",
        "",
        "■ ライセンスキー",
        "次の行のライセンスキーを、すべてコピーして製品の管理画面に貼り付けてください。",
        "",
        license_key,
        "",
        "※ ライセンスキーはお客様のサーバー専用です。第三者に開示しないでください。",
        "※ お問い合わせの際は、サポートサービス番号をお知らせください。",
        "※ 本メールは送信専用アドレスから自動でお送りしています。",
        "　ご返信いただいてもお答えできませんので、ご了承ください。",
    ]
    return "\n".join(lines) + "\n"


def _introduction(
    kind: KeyRequestKind, issued_jst: datetime, previous_until_jst: datetime | None
) -> tuple[str, ...]:
    """The paragraph for `kind`; a REISSUE with an overlap says until when the old key
    keeps working instead of that it stopped."""
    lines = _INTRODUCTIONS[kind]
    if kind != KeyRequestKind.REISSUE or previous_until_jst is None:
        return lines
    if previous_until_jst <= issued_jst:
        return lines
    until = f"{_japanese_date(previous_until_jst.date())} {previous_until_jst:%H:%M}"
    overlap = (
        f"これまでのライセンスキーは、{until}（日本時間）まで引き続きご利用いただけます。",
        "それまでに新しいサーバーへの移行を完了してください。",
    )
    at = lines.index(_PREVIOUS_KEY_STOPPED)
    return (*lines[:at], *overlap, *lines[at + 1 :])


def _japanese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _require_one_line(name: str, value: str) -> None:
    if not value.strip():
        raise InvalidMail(f"the {name} is empty")
    if "\r" in value or "\n" in value:
        raise InvalidMail(f"the {name} must be one line: {value!r}")


def _encoded_header(name: str, *parts: str) -> str:
    """``name: parts`` as RFC 2047 encoded words (UTF-8, base64), one or more per part,
    folded so that no line passes 78 characters; each word holds whole characters.
    Readers join adjacent encoded words without the folding space between them."""
    words = [word for part in parts for word in _encoded_words(part, len(name))]
    return f"{name}: " + "\r\n ".join(words) + "\r\n"


@functools.lru_cache(maxsize=64)
def _encoded_words(text: str, name_length: int) -> tuple[str, ...]:
    # The first line also holds "Name: "; base64 turns 3 bytes into 4 characters.
    budget = (_MAX_HEADER_LINE - name_length - 2 - len("=?utf-8?b??=")) // 4 * 3
    whole = text.encode("utf-8")
    if len(whole) <= budget:  # one word: a contract number's part always is
        return (f"=?utf-8?b?{base64.b64encode(whole).decode('ascii')}?=",)
    chunks, chunk = [], b""
    for character in text:
        encoded = character.encode("utf-8")
        if len(chunk) + len(encoded) > budget:
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return tuple(f"=?utf-8?b?{base64.b64encode(c).decode('ascii')}?=" for c in chunks)


def _check_sender(message: EmailMessage) -> None:
    header = message["From"]
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if (
        header.defects
        or len(addresses) != 1
        or not addresses[0].username
        or not addresses[0].domain
        or not addresses[0].addr_spec.isascii()
    ):
        raise InvalidMail(f"sender {str(header)!r} is not one ASCII address")
