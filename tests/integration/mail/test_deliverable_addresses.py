"""Every address the API accepts is delivered by a real SMTP server (aiosmtpd): the
composer and the SMTP transport send each class of deliverable address as it stands,
and an address that is not deliverable never reaches the transport."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keysvc.mail import UndeliverableAddress, deliverable_address, transport_from_url
from keysvc.mail.testing import parse_message
from tests.unit.mail.address_cases import ACCEPTED, PLAUSIBLE, REFUSED

from .conftest import license_mail


def _deliver(server, recipients):
    """Composes and sends one message per recipient in one SMTP session."""
    mails = [
        license_mail(f"kr{index:03d}", recipient) for index, recipient in enumerate(recipients)
    ]
    with transport_from_url(server.url).session() as session:
        for mail in mails:
            session.deliver(mail)
        session.flush()
    return mails


@pytest.mark.parametrize(("given_address", "normal"), ACCEPTED.items())
def test_each_class_of_accepted_address_is_delivered_as_normalised(
    smtp_server, given_address, normal
):
    (mail,) = _deliver(smtp_server, [given_address])
    (received,) = smtp_server.handler.messages()
    assert received.rcpt_tos == [normal]
    assert mail.recipient == normal
    assert parse_message(received.content)["To"].addresses[0].addr_spec == normal


def test_accepted_addresses_go_through_a_server_without_8bitmime(seven_bit_smtp_server):
    _deliver(seven_bit_smtp_server, list(ACCEPTED))
    received = seven_bit_smtp_server.handler.messages()
    assert [message.rcpt_tos for message in received] == [[normal] for normal in ACCEPTED.values()]


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_an_address_that_is_not_deliverable_never_reaches_the_server(smtp_server, value):
    with pytest.raises(UndeliverableAddress):
        _deliver(smtp_server, [value])
    assert smtp_server.handler.messages() == []


@settings(
    max_examples=40,
    deadline=None,
    # One server collects every example's messages; each example looks at its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.emails() | PLAUSIBLE, min_size=1, max_size=5))
def test_whatever_the_validator_accepts_a_real_server_accepts(smtp_server, values):
    accepted = []
    for value in values:
        try:
            accepted.append(deliverable_address(value))
        except UndeliverableAddress:
            continue
    before = len(smtp_server.handler.messages())
    _deliver(smtp_server, accepted)
    received = smtp_server.handler.messages()[before:]
    assert [message.rcpt_tos for message in received] == [[address] for address in accepted]
