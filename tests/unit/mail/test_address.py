"""deliverable_address: the one definition of an address keysvc accepts and can mail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from keysvc.mail import (
    InvalidMail,
    UndeliverableAddress,
    compose_license_mail,
    deliverable_address,
    is_deliverable,
)
from keysvc.mail.address import shown

from .address_cases import ACCEPTED, PLAUSIBLE, REFUSED, SMTP_MAILBOX


@pytest.mark.parametrize(("given_address", "normal"), ACCEPTED.items())
def test_deliverable_addresses_are_accepted_in_their_normal_form(given_address, normal):
    assert deliverable_address(given_address) == normal
    assert is_deliverable(given_address)


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_addresses_a_mail_server_would_refuse_are_refused(value):
    with pytest.raises(UndeliverableAddress) as caught:
        deliverable_address(value)
    assert isinstance(caught.value, InvalidMail)
    assert caught.value.problem
    assert not is_deliverable(value)


def test_a_refusal_repeats_only_a_short_escaped_prefix_of_the_value():
    value = "x" * 5000 + "\r\n@example.jp"
    with pytest.raises(UndeliverableAddress) as caught:
        deliverable_address(value)
    assert str(caught.value).endswith(": 'xxxxxxxxxxxx…'")
    assert shown("a\r\nb") == "'a\\r\\nb'"
    assert shown('"it dept"@example.jp') == "'\"it dept\"@ex…'"
    assert shown("o'brien@example.ie") == '"o\'brien@exam…"'


def _compose(recipient: str) -> bytes:
    return compose_license_mail(
        key_request_id="kr_01",
        recipient=recipient,
        customer_name="株式会社テスト",
        contract_number="SS-2026-000123",
        product_name="desknet's NEO",
        license_serial="L-000001",
        license_key="eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJrZXlzdmMifQ.c2ln",
        generation=1,
        support_end=date(2027, 3, 31),
        kind="INITIAL",
        issued_at=datetime(2026, 11, 20, 7, 59, tzinfo=UTC),
        sender="keysvc <keysvc@example.jp>",
        message_id_domain="keysvc.example.jp",
    ).message


# Near misses: a plausible address with a character anywhere.
MUTATED = st.builds(
    lambda address, index, character: address[:index] + character + address[index:],
    PLAUSIBLE,
    st.integers(min_value=0, max_value=80),
    st.characters() | st.sampled_from(list(' \r\n\t\x00"(),;:<>[]\\@.')),
)
ANY_ADDRESS_LIKE = st.emails() | PLAUSIBLE | MUTATED | st.text(max_size=300)


@given(ANY_ADDRESS_LIKE)
@example("社員@example.jp")
@example("info@例え.jp")
def test_the_composer_sends_exactly_what_the_validator_accepts(value):
    try:
        normal = deliverable_address(value)
    except UndeliverableAddress:
        with pytest.raises(UndeliverableAddress):
            _compose(value)
        return
    message = BytesParser(policy=policy.SMTP).parsebytes(_compose(value))
    assert message["To"].addresses[0].addr_spec == normal


@given(ANY_ADDRESS_LIKE)
@example("info@例え.jp")
@example("x" * 64 + "@" + ".".join(["b" * 61] * 3) + ".example.jp")
def test_every_accepted_address_is_one_an_smtp_server_takes_without_extensions(value):
    try:
        normal = deliverable_address(value)
    except UndeliverableAddress:
        return
    assert SMTP_MAILBOX.fullmatch(normal), normal
    assert len(normal) <= 254
    assert normal.isascii()
    assert deliverable_address(normal) == normal  # the normal form is a fixed point


@given(st.text() | st.binary().map(lambda raw: raw.decode("latin-1")))
def test_checking_never_raises_anything_but_undeliverable_address(value):
    try:
        deliverable_address(value)
    except UndeliverableAddress as error:
        refusal = error
    else:
        return
    assert str(refusal) == f"not a deliverable e-mail address ({refusal.problem}): {shown(value)}"
    if len(value) > 12:
        assert shown(value) == repr(value[:12])[:-1] + "…" + repr(value[:12])[-1]
