"""The SMTP transport's envelope sender and transfer encoding, read without parsing the message.

`_envelope_sender_and_encoding` reads two header fields with a scan and looks
the From field up in a cache; it must agree with what the email package's full
header parse (``policy.default``), which it replaced, makes of the same bytes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.parser import BytesHeaderParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.mail import PermanentDeliveryError, compose_license_mail
from keysvc.mail.smtp import _envelope_sender_and_encoding, _single_address


def reference(message: bytes) -> tuple[str, str]:
    """The former implementation: a full header parse with the modern policy."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(message)
    addresses: tuple[Address, ...] = getattr(headers["From"], "addresses", ())
    if len(addresses) != 1:
        raise PermanentDeliveryError("the message has no single From address to use as sender")
    encoding = str(headers.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    return addresses[0].addr_spec, encoding


def outcome(function, message: bytes) -> tuple[str, str] | str:
    try:
        return function(message)
    except PermanentDeliveryError:
        return "refused"
    except Exception as error:  # the email package's own bugs must at least be the same
        return f"raised {type(error).__name__}"


def message(*headers: str, body: str = "Hello.\r\n", newline: str = "\r\n") -> bytes:
    text = newline.join(headers) + newline + newline + body.replace("\r\n", newline)
    return text.encode("utf-8", "surrogateescape")


LICENSE_MAIL = compose_license_mail(
    key_request_id="kr1",
    recipient="it@example.co.jp",
    customer_name="株式会社テスト",
    contract_number="C-0001",
    product_name="desknet's NEO",
    license_serial="L-1",
    license_key="eyJhbGciOiJFZERTQSJ9.payload.signature",
    generation=1,
    support_end=date(2027, 3, 31),
    kind="INITIAL",
    issued_at=datetime(2026, 11, 20, 7, 59, tzinfo=UTC),
    sender="desknet's NEO サポート <noreply@example.jp>",
    message_id_domain="keysvc.example.jp",
).message

CASES = {
    "the license e-mail": LICENSE_MAIL,
    "plain": message("From: noreply@example.jp", "To: a@example.jp"),
    "display name": message('From: "Support, Tokyo" <support@example.jp>'),
    "encoded display name": message("From: =?utf-8?b?44K144Od44O844OI?= <noreply@example.jp>"),
    "folded From": message("From: =?utf-8?b?44K144Od44O844OI?=\r\n <noreply@example.jp>"),
    "folded with a tab": message("From: Support\r\n\t<noreply@example.jp>"),
    "lower-case name": message("from: noreply@example.jp"),
    "upper-case name": message("FROM: noreply@example.jp", "CONTENT-TRANSFER-ENCODING: 8BIT"),
    "no blank after the colon": message("From:noreply@example.jp"),
    "LF line endings": message(
        "From: noreply@example.jp", "Content-Transfer-Encoding: 8bit", newline="\n"
    ),
    "folded, LF": message("From: Support\n <noreply@example.jp>", newline="\n"),
    "the first From counts": message("From: first@example.jp", "From: second@example.jp"),
    "From after other fields": message(
        "To: a@example.jp", "Subject: hi", "X-From: x@example.jp", "From: last@example.jp"
    ),
    "Resent-From is not From": message("Resent-From: x@example.jp", "From: n@example.jp"),
    "comment in the address": message("From: noreply@example.jp (Support)"),
    "no From": message("To: a@example.jp"),
    "empty From": message("From: ", "To: a@example.jp"),
    "two addresses": message("From: a@example.jp, b@example.jp"),
    "an empty group": message("From: undisclosed-senders:;"),
    "a group of one": message("From: team: a@example.jp;"),
    "From only in the body": message("To: a@example.jp", body="From: x@example.jp\r\n"),
    "an empty header section": b"\r\nFrom: x@example.jp\r\n\r\nbody\r\n",
    "headers only, no body": b"From: noreply@example.jp\r\nContent-Transfer-Encoding: 8bit\r\n",
    "encoding folded": message("From: n@example.jp", "Content-Transfer-Encoding:\r\n 8bit"),
    "encoding with blanks": message("From: n@example.jp", "Content-Transfer-Encoding:   base64  "),
    "encoding quoted-printable": message(
        "From: n@example.jp", "Content-Transfer-Encoding: Quoted-Printable"
    ),
    "the first encoding counts": message(
        "From: n@example.jp", "Content-Transfer-Encoding: 8bit", "Content-Transfer-Encoding: 7bit"
    ),
    "encoding only in the body": message(
        "From: n@example.jp", body="Content-Transfer-Encoding: 8bit\r\n"
    ),
    "8-bit bytes in the display name": message("From: Sapporo \udce6 <n@example.jp>"),
}


@pytest.mark.parametrize("raw", CASES.values(), ids=CASES.keys())
def test_agrees_with_a_full_header_parse(raw: bytes) -> None:
    assert outcome(_envelope_sender_and_encoding, raw) == outcome(reference, raw)


def test_the_license_mail() -> None:
    assert _envelope_sender_and_encoding(LICENSE_MAIL) == ("noreply@example.jp", "8bit")


def test_without_a_single_address_the_message_is_refused_for_good() -> None:
    with pytest.raises(PermanentDeliveryError, match="single From address"):
        _envelope_sender_and_encoding(CASES["two addresses"])


def test_the_from_field_is_parsed_once_per_value() -> None:
    _single_address.cache_clear()
    for _ in range(3):
        _envelope_sender_and_encoding(LICENSE_MAIL)
    info = _single_address.cache_info()
    assert (info.misses, info.hits) == (1, 2)


_ATOM = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-_+", min_size=1, max_size=12)
_FIELD_NAMES = st.sampled_from(
    ["From", "from", "FROM", "To", "Subject", "X-From", "Content-Transfer-Encoding", "Reply-To"]
)
_VALUES = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}.jp", _ATOM, _ATOM),
    st.builds(
        lambda name, local: f"{name} <{local}@example.jp>",
        st.text(st.characters(codec="ascii", exclude_characters="\r\n"), max_size=15),
        _ATOM,
    ),
    st.sampled_from(["8bit", " 7BIT ", "base64", "a@b.jp, c@d.jp", "", "x:;", "=?utf-8?q?a?="]),
)


@given(
    fields=st.lists(st.tuples(_FIELD_NAMES, _VALUES, st.booleans()), max_size=6),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_agrees_with_a_full_header_parse_on_generated_headers(
    fields: list[tuple[str, str, bool]], newline: str
) -> None:
    lines = []
    for name, value, folded in fields:
        head, blank, tail = value.partition(" ")
        # Fold at the first blank, as a long header line would be.
        shown = f"{head}{newline} {tail}" if folded and blank and head else value
        lines.append(f"{name}: {shown}")
    raw = message(*lines, newline=newline) if lines else b"\r\nbody\r\n"
    assert outcome(_envelope_sender_and_encoding, raw) == outcome(reference, raw)
