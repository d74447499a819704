"""Contact addresses: checked when given, and the stored ones that cannot be mailed.

What a deliverable address is has one definition, `keysvc.mail.address`, which
the composer of the key e-mail uses too: an address accepted here is one its
e-mail can be sent to (docs/mail.md). Addresses stored before that definition
may not be; `undeliverable_addresses` finds them (``keysvc mail
check-addresses``), and a release that meets one is refused with
``CONTACT_EMAIL_UNDELIVERABLE`` rather than failing (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection

from keysvc.domain.errors import FailedPrecondition, InvalidArgument
from keysvc.mail import UndeliverableAddress, deliverable_address
from keysvc.mail.address import shown
from keysvc.persistence.contract_repository import contact_addresses
from keysvc.persistence.key_request_repository import waiting_addresses

__all__ = [
    "ContactEmailUndeliverable",
    "UndeliverableContact",
    "stored_address",
    "undeliverable_addresses",
    "validate_email",
]


class ContactEmailUndeliverable(FailedPrecondition):
    """The contact address stored for a contract or a waiting request is not deliverable.

    Met by a submission that gives no address of its own (the contract's is used)
    and by a release. ``metadata`` names the contract and, for a release, the request.
    """

    reason = "CONTACT_EMAIL_UNDELIVERABLE"


def validate_email(field: str, value: str) -> str:
    """The normal form of a deliverable address (`keysvc.mail.address`), or
    `InvalidArgument` naming `field`, reason ``INVALID_EMAIL``.

    The message repeats only the start of the value.
    """
    try:
        return deliverable_address(value)
    except UndeliverableAddress:
        raise InvalidArgument(
            field,
            f"{field} のメールアドレス {shown(value)} には送信できません。"
            "英数字の local@example.co.jp の形で、1件だけ指定してください。"
            f" / {field} is not a deliverable e-mail address ({shown(value)}): give one "
            "address local@domain, with an ASCII local part, no quotes, spaces or comments",
            reason="INVALID_EMAIL",
        ) from None


def stored_address(value: str, resource: str, metadata: Mapping[str, str]) -> str:
    """The normal form of the contact address stored for `resource`, or
    `ContactEmailUndeliverable` (with `metadata`) when it is not deliverable: the
    caller did not give it, so it is not a bad argument."""
    try:
        return deliverable_address(value)
    except UndeliverableAddress:
        raise ContactEmailUndeliverable(
            f"{resource} の連絡先メールアドレスには送信できません。"
            f" / the contact e-mail address stored for {resource} cannot be mailed "
            "(keysvc mail check-addresses lists such addresses)",
            metadata=metadata,
        ) from None


@dataclass(frozen=True, slots=True)
class UndeliverableContact:
    """A stored address that is not deliverable, where it is, and what is wrong with it.

    ``resource`` is ``contracts/<number>`` or ``key_requests/<id>``; ``state`` is a
    waiting request's (``PENDING``, ``HELD``), empty for a contract.
    """

    resource: str
    contract_number: str
    state: str
    address: str
    problem: str


def undeliverable_addresses(connection: Connection) -> Iterator[UndeliverableContact]:
    """Every contract, then every waiting key request, whose stored contact address
    is not deliverable: a contract's is the default of its next requests, a waiting
    request's is where its key will be mailed. Released and rejected requests are
    past mailing and left out."""
    for number, address in contact_addresses(connection):
        problem = _problem(address)
        if problem is not None:
            yield UndeliverableContact(f"contracts/{number}", number, "", address, problem)
    for request in waiting_addresses(connection):
        problem = _problem(request.contact_email)
        if problem is not None:
            yield UndeliverableContact(
                f"key_requests/{request.id}",
                request.contract_number,
                request.state,
                request.contact_email,
                problem,
            )


def _problem(address: str) -> str | None:
    try:
        deliverable_address(address)
    except UndeliverableAddress as error:
        return error.problem
    return None
