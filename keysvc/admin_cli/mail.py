"""``keysvc admin mail``: the key e-mails' deliveries, the failed ones first of all."""

from __future__ import annotations

import argparse

from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.formatting import enum_choices, enum_label, enum_number, jst_time
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

_MAIL = resources_pb2.MailDeliveryState.DESCRIPTOR

COLUMNS: list[Column[resources_pb2.MailDelivery]] = [
    Column("key request", lambda d: d.key_request_id),
    Column("recipient", lambda d: d.recipient),
    Column("state", lambda d: enum_label(_MAIL, d.state)),
    Column("attempts", lambda d: str(d.attempts)),
    Column("queued (JST)", lambda d: jst_time(d.create_time)),
    Column("sent (JST)", lambda d: jst_time(d.send_time)),
    Column("last error", lambda d: d.last_error),
]


def register(group: CommandGroup) -> None:
    """Adds the ``mail`` commands."""
    listing = group.add(
        "list",
        _list,
        summary="list the key e-mails' deliveries, newest first",
        description="List the key e-mails in the outbox, newest first: recipient, delivery "
        "state, attempts and the last error. The messages themselves (which carry the "
        "keys) are never shown.",
    )
    states = listing.add_mutually_exclusive_group()
    states.add_argument("--state", choices=enum_choices(_MAIL), help="only this state")
    states.add_argument(
        "--failed",
        dest="state",
        action="store_const",
        const="failed",
        help="--state failed: given up on after the last attempt",
    )
    add_paging_options(listing)

    failed = group.add(
        "failed",
        _failed,
        summary="list the deliveries given up on, with the reason (list --failed)",
        description="List the key e-mails whose delivery failed for good, newest first, "
        "with the mail server's last answer. Mend the address (contracts update) and "
        "issue the key again, or tell the customer another way.",
    )
    add_paging_options(failed)


def _list(args: argparse.Namespace, session: Session) -> None:
    _show(args, session, args.state)


def _failed(args: argparse.Namespace, session: Session) -> None:
    _show(args, session, "failed")


def _show(args: argparse.Namespace, session: Session, state: str | None) -> None:
    admin = session.admin
    request = admin_service_pb2.ListMailDeliveriesRequest(
        state=resources_pb2.MailDeliveryState.ValueType(enum_number(_MAIL, state) if state else 0)
    )
    listing = fetch(
        admin, admin.list_mail_deliveries, request, lambda page: page.mail_deliveries, args
    )
    session.out.listing(listing, COLUMNS, noun="e-mails")
