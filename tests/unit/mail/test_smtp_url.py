"""KEYSVC_SMTP_URL: the forms it takes, the mistakes it refuses, the password it hides."""

from __future__ import annotations

import pytest

from keysvc.mail import InvalidSmtpUrl, SmtpSettings, parse_smtp_url, transport_from_url

PASSWORD = "s3cret-p@ss/word"  # noqa: S105 - a test value, not a credential
ENCODED = "s3cret-p%40ss%2Fword"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.jp", SmtpSettings("mail.example.jp", 25, "none")),
        ("smtp://mail.example.jp:2525", SmtpSettings("mail.example.jp", 2525, "none")),
        ("smtp://127.0.0.1:1025/", SmtpSettings("127.0.0.1", 1025, "none")),
        ("smtp://[::1]:1025", SmtpSettings("::1", 1025, "none")),
        (
            f"smtp+starttls://keysvc:{ENCODED}@mail.example.jp",
            SmtpSettings("mail.example.jp", 587, "starttls", "keysvc", PASSWORD),
        ),
        ("smtp+starttls://mail.example.jp:25", SmtpSettings("mail.example.jp", 25, "starttls")),
        (
            f"smtps://keysvc%40example.jp:{ENCODED}@mail.example.jp",
            SmtpSettings("mail.example.jp", 465, "tls", "keysvc@example.jp", PASSWORD),
        ),
    ],
)
def test_supported_urls(url, expected):
    assert parse_smtp_url(url) == expected


def test_timeout_is_passed_through():
    assert parse_smtp_url("smtp://h", timeout=5.0).timeout == 5.0


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example.jp", "unsupported scheme"),
        ("mail.example.jp:25", "unsupported scheme"),
        ("smtp://", "no host"),
        ("smtp://mail.example.jp:notaport", "malformed"),
        ("smtp://mail.example.jp:70000", "malformed"),
        ("smtp://mail.example.jp:0", "port 0"),
        ("smtp://mail.example.jp/relay", "path"),
        ("smtp://mail.example.jp?tls=1", "query"),
        ("smtp+starttls://keysvc@mail.example.jp", "both a user name and a password"),
        (f"smtp+starttls://:{ENCODED}@mail.example.jp", "both a user name and a password"),
        (f"smtp://keysvc:{ENCODED}@mail.example.jp", "in clear"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url, complaint):
    with pytest.raises(InvalidSmtpUrl, match=complaint):
        parse_smtp_url(url)


def test_invalid_url_is_a_value_error():
    with pytest.raises(ValueError, match="scheme"):
        transport_from_url("ftp://x")


@pytest.mark.parametrize(
    "url",
    [
        f"smtp://keysvc:{ENCODED}@mail.example.jp",
        f"smtp+starttls://keysvc:{ENCODED}@mail.example.jp/path",
        f"smtp+starttls://keysvc:{ENCODED}@mail.example.jp:bad",
        f"imap://keysvc:{ENCODED}@mail.example.jp",
        f"keysvc:{ENCODED}@mail.example.jp",
    ],
)
def test_errors_never_show_the_password(url):
    with pytest.raises(InvalidSmtpUrl) as caught:
        parse_smtp_url(url)
    for secret in (PASSWORD, ENCODED, "s3cret"):
        assert secret not in str(caught.value)


def test_repr_and_redacted_url_never_show_the_password():
    transport = transport_from_url(f"smtp+starttls://keysvc:{ENCODED}@mail.example.jp")
    shown = [repr(transport), repr(transport.settings), transport.settings.redacted_url()]
    for text in shown:
        assert "s3cret" not in text
    assert transport.settings.redacted_url() == "smtp+starttls://keysvc:***@mail.example.jp:587"
