"""compose_license_mail: a complete, deterministic message that carries the key intact."""

# ruff: noqa: RUF001
# The expected Japanese text has full-width parentheses and colons, on purpose.

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.mail import (
    InvalidMail,
    UndeliverableAddress,
    compose_license_mail,
    message_id_for,
)
from keysvc.mail.testing import parse_message

# A key of realistic shape and length: three base64url segments.
KEY = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImtQcktfNmpDVjFhYlVwZUxnSk5Jd2FVaGl2cGlkSGhNMkdvUFNQWEVSWmsi"
    "LCJ0eXAiOiJsaWNlbnNlK2p3dCJ9"
    ".eyJpc3MiOiJrZXlzdmMiLCJzdWIiOiJMLTAwMDAwMSIsImlhdCI6MTc2MzYyNTU0MCwicHJkIjoibmVvLXdlYmNv"
    "bmYiLCJjdHIiOiJTUy0yMDI2LTAwMDEyMyIsInN0cyI6MTAsImdlbiI6MSwiZnBoIjoiMnVfQXZMaEdUc3ZHRWpN"
    "SVQ5X2pUa3VKRHBWZkt6eFpVZzNfWXY4d2dmQSIsInN1cCI6IjIwMjctMDMtMzEifQ"
    ".-6XbtEb5svhb_13-Zq9m3lJ0m5pG9b1sQyQ3xkP0nJ2xq0WkS3fPAq4a6s2wqV9rN7uT0v9Qm1yZ4bKc8dE7Ag"
)

ARGUMENTS: dict[str, Any] = {
    "key_request_id": "kr_01JABCDEF",
    "recipient": "it@example.co.jp",
    "customer_name": "株式会社テスト",
    "contract_number": "SS-2026-000123",
    "product_name": "desknet's NEO",
    "license_serial": "L-000001",
    "license_key": KEY,
    "generation": 1,
    "support_end": date(2027, 3, 31),
    "kind": "INITIAL",
    "issued_at": datetime(2026, 11, 20, 7, 59, 59, tzinfo=UTC),
    "sender": "desknet's NEO サポート <noreply@example.jp>",
    "message_id_domain": "keysvc.example.jp",
}


def compose(**overrides: Any):
    return compose_license_mail(**(ARGUMENTS | overrides))


def body_of(mail) -> str:
    return parse_message(mail).get_content()


def test_message_id_is_derived_from_the_key_request_only():
    assert compose().message_id == "<keysvc.kr_01JABCDEF@keysvc.example.jp>"
    later = compose(issued_at=datetime(2027, 1, 4, tzinfo=UTC), kind="REISSUE")
    assert later.message_id == compose().message_id
    assert compose(key_request_id="kr_02").message_id != compose().message_id


def test_the_same_arguments_give_the_same_bytes():
    assert compose() == compose()


def test_headers_name_sender_recipient_date_and_request():
    message = parse_message(compose())
    assert message["From"].addresses[0].addr_spec == "noreply@example.jp"
    assert message["From"].addresses[0].display_name == "desknet's NEO サポート"
    assert str(message["To"]) == "it@example.co.jp"
    assert message["Message-ID"] == "<keysvc.kr_01JABCDEF@keysvc.example.jp>"
    assert message["X-Keysvc-Request-Id"] == "kr_01JABCDEF"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"


def test_date_header_is_the_issue_instant_in_japan_time():
    message = parse_message(compose())
    sent = parsedate_to_datetime(str(message["Date"]))
    assert sent == ARGUMENTS["issued_at"]
    assert sent.utcoffset() == timedelta(hours=9)
    assert str(message["Date"]) == "Fri, 20 Nov 2026 16:59:59 +0900"


def test_issue_instant_in_any_zone_gives_the_same_date_header():
    in_new_york = ARGUMENTS["issued_at"].astimezone(timezone(timedelta(hours=-5)))
    assert compose(issued_at=in_new_york) == compose()


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("INITIAL", "【desknet's NEO】ライセンスキーのお知らせ（SS-2026-000123）"),
        ("REISSUE", "【desknet's NEO】ライセンスキー再発行のお知らせ（SS-2026-000123）"),
        (
            "SEATS_CHANGE",
            "【desknet's NEO】ライセンス数変更に伴うライセンスキーのお知らせ（SS-2026-000123）",
        ),
    ],
)
def test_japanese_subject_names_product_kind_and_contract(kind, subject):
    assert parse_message(compose(kind=kind))["Subject"] == subject


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [
        ("INITIAL", "ライセンスキーを発行いたしました"),
        ("REISSUE", "これまでのライセンスキーは、本ライセンスキーの発行をもって無効"),
        ("SEATS_CHANGE", "ライセンス数の変更に伴い"),
    ],
)
def test_body_explains_why_the_key_was_issued(kind, phrase):
    assert phrase in body_of(compose(kind=kind))


def test_headers_are_ascii_on_the_wire_with_crlf_line_ends():
    raw = compose().message
    head, separator, _ = raw.partition(b"\r\n\r\n")
    assert separator
    assert head.isascii()
    assert b"\n" not in head.replace(b"\r\n", b"")
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_body_lists_contract_product_serial_generation_and_support_end():
    body = body_of(compose(generation=3, kind="REISSUE"))
    assert "株式会社テスト" in body
    assert "ご担当者様" in body
    assert "サポートサービス番号：SS-2026-000123" in body
    assert "製品：desknet's NEO" in body
    assert "ライセンスシリアル：L-000001" in body
    assert "ライセンスキー世代：3" in body
    assert "サポート期間終了日：2027年3月31日" in body
    assert "発行日時：2026年11月20日 16:59（日本時間）" in body


def test_key_is_alone_on_one_line_of_the_decoded_body():
    lines = body_of(compose()).splitlines()
    assert KEY in lines


def test_key_is_verbatim_in_the_raw_message_for_copy_and_grep():
    mail = compose()
    assert KEY.encode() in mail.message
    assert b"Content-Transfer-Encoding: 8bit" in mail.message


def test_key_given_with_line_breaks_is_joined_again():
    wrapped = "\n".join(KEY[i : i + 64] for i in range(0, len(KEY), 64))
    assert compose(license_key=wrapped) == compose()


def test_a_key_longer_than_an_smtp_line_goes_base64_and_survives():
    long_key = "a" * 1500 + "." + "b" * 500 + "." + "c" * 86
    mail = compose(license_key=long_key)
    assert b"Content-Transfer-Encoding: base64" in mail.message
    assert all(len(line) <= 998 for line in mail.message.split(b"\r\n"))
    assert long_key in body_of(mail).splitlines()


_BASE64URL = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=1,
    max_size=1500,
)


@given(header=_BASE64URL, payload=_BASE64URL, signature=_BASE64URL)
def test_any_key_reads_back_exactly_after_whitespace_removal(header, payload, signature):
    key = f"{header}.{payload}.{signature}"
    parsed = BytesParser(policy=policy.default).parsebytes(compose(license_key=key).message)
    body = parsed.get_content()
    assert key in body.splitlines()
    assert key in re.sub(r"\s+", "", body)


def test_nothing_but_the_key_is_secret_in_the_repr():
    assert KEY not in repr(compose())


@pytest.mark.parametrize(
    "recipient", ["", "it", "it@", "two words@example.jp", "<it@example.jp>", "社員@example.jp"]
)
def test_recipient_must_be_a_deliverable_address(recipient):
    with pytest.raises(UndeliverableAddress, match="not a deliverable e-mail address"):
        compose(recipient=recipient)


def test_the_recipient_is_written_in_its_normal_form():
    mail = compose(recipient="It@例え.JP")
    assert mail.recipient == "It@xn--r8jz45g.jp"
    assert b"\r\nTo: It@xn--r8jz45g.jp\r\n" in mail.message


@pytest.mark.parametrize("sender", ["", "nobody", "a@example.jp, b@example.jp"])
def test_sender_must_be_one_address(sender):
    with pytest.raises(InvalidMail, match="sender"):
        compose(sender=sender)


@pytest.mark.parametrize(
    "field", ["customer_name", "contract_number", "product_name", "license_serial", "sender"]
)
def test_line_breaks_cannot_inject_headers(field):
    with pytest.raises(InvalidMail):
        compose(**{field: "x\r\nBcc: victim@example.jp"})


def test_unknown_kind_is_refused():
    with pytest.raises(InvalidMail, match="kind"):
        compose(kind="RENEWAL")


def test_naive_issue_instant_is_refused():
    with pytest.raises(InvalidMail):
        compose(issued_at=datetime(2026, 11, 20, 16, 59))


@pytest.mark.parametrize("request_id", ["", "a b", "a..b", "a.", "<a>", "a@b"])
def test_key_request_id_must_fit_in_a_message_id(request_id):
    with pytest.raises(InvalidMail, match="Message-ID"):
        message_id_for(request_id, "keysvc.example.jp")


@pytest.mark.parametrize("domain", ["", "-bad.example", "a b", "example.jp.", "ex_ample.jp"])
def test_message_id_domain_must_be_a_host_name(domain):
    with pytest.raises(InvalidMail, match="domain"):
        message_id_for("kr_01", domain)


def test_empty_key_is_refused():
    with pytest.raises(InvalidMail, match="license key"):
        compose(license_key=" \n ")


@pytest.mark.parametrize("kind", ["INITIAL", "REISSUE", "SEATS_CHANGE"])
@pytest.mark.parametrize("sender", ["keysvc <k@example.jp>", "サポート窓口 <support@example.jp>"])
def test_a_strict_parser_finds_no_defect_in_any_header_or_the_body(kind, sender):
    raw = compose(kind=kind, sender=sender).message
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert message.defects == []
    for name, value in message.items():
        assert value.defects == (), (name, value.defects)
    assert message.get_content_type() == "text/plain"
    assert str(message["From"].addresses[0].display_name) == sender.split(" <")[0]
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))


@given(
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=120
    ).filter(str.strip)
)
def test_any_product_name_survives_the_subject_encoding(product_name):
    raw = compose(product_name=product_name).message
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    subject = BytesParser(policy=policy.default).parsebytes(raw)["Subject"]
    assert f"【{product_name}】" in str(subject)


def test_a_reissue_with_an_overlap_says_until_when_the_old_key_works():
    issued = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    body = body_of(
        compose(
            kind="REISSUE",
            issued_at=issued,
            previous_key_valid_until=datetime(2026, 12, 14, 0, 0, tzinfo=UTC),
        )
    )
    assert (
        "これまでのライセンスキーは、2026年12月14日 09:00（日本時間）まで"
        "引き続きご利用いただけます。\r\n"
        "それまでに新しいサーバーへの移行を完了してください。\r\n"
        "新しいサーバーに本ライセンスキーを設定してください。"
    ) in body
    assert "発行をもって無効" not in body


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1)])
def test_a_reissue_whose_overlap_ends_at_its_release_says_the_old_key_stopped(offset):
    issued = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    body = body_of(
        compose(kind="REISSUE", issued_at=issued, previous_key_valid_until=issued + offset)
    )
    assert "これまでのライセンスキーは、本ライセンスキーの発行をもって無効となりました。" in body
    assert "引き続きご利用" not in body


@pytest.mark.parametrize("kind", ["INITIAL", "SEATS_CHANGE"])
def test_only_a_reissue_speaks_of_an_overlap(kind):
    until = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)
    assert body_of(compose(kind=kind, previous_key_valid_until=until)) == body_of(
        compose(kind=kind)
    )


def test_a_naive_overlap_end_is_refused():
    with pytest.raises(InvalidMail):
        compose(kind="REISSUE", previous_key_valid_until=datetime(2026, 12, 14))
