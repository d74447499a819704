"""``keysvc admin requests``: key requests, their approval and their release."""

from __future__ import annotations

import argparse

from keysvc.admin_cli.arguments import CommandGroup, add_request_id, iso_instant
from keysvc.admin_cli.formatting import (
    UNSET,
    enum_choices,
    enum_label,
    enum_number,
    joined,
    jst_time,
    text,
    yes_no,
)
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

_KIND = resources_pb2.KeyRequestKind.DESCRIPTOR
_STATE = resources_pb2.KeyRequestState.DESCRIPTOR
_MAIL = resources_pb2.MailDeliveryState.DESCRIPTOR


def _flags(request: resources_pb2.KeyRequest) -> str:
    """What needs a person's attention: at risk, late, why it is held."""
    return joined(
        [
            "at risk" if request.at_risk else "",
            "late" if request.late else "",
            f"held: {request.hold_reason}" if request.hold_reason else "",
        ]
    )


def _release(request: resources_pb2.KeyRequest) -> str:
    """When it was released, else when it is scheduled to be."""
    released = request.HasField("released_time")
    return jst_time(request.released_time if released else request.release_time)


COLUMNS: list[Column[resources_pb2.KeyRequest]] = [
    Column("id", lambda r: r.id),
    Column("contract", lambda r: r.contract_number),
    Column("kind", lambda r: enum_label(_KIND, r.kind)),
    Column("state", lambda r: enum_label(_STATE, r.state)),
    Column("accepted (JST)", lambda r: jst_time(r.accept_time)),
    Column("due", lambda r: r.due_date),
    Column("release (JST)", _release),
    Column("license", lambda r: text(r.license_serial)),
    Column("flags", _flags),
]


def key_request_fields(request: resources_pb2.KeyRequest) -> list[tuple[str, str]]:
    """A key request as label/value rows (the key text last: it is long)."""
    return [
        ("id", request.id),
        ("contract", request.contract_number),
        ("kind", enum_label(_KIND, request.kind)),
        ("state", enum_label(_STATE, request.state)),
        ("accepted (JST)", jst_time(request.accept_time)),
        ("due", request.due_date),
        ("scheduled release (JST)", jst_time(request.release_time)),
        ("released (JST)", jst_time(request.released_time)),
        ("at risk", yes_no(request.at_risk)),
        ("late", yes_no(request.late)),
        ("hold reason", text(request.hold_reason)),
        ("reject reason", text(request.reject_reason)),
        ("contact e-mail", text(request.contact_email)),
        ("replaces license", text(request.previous_license_serial)),
        ("license", text(request.license_serial)),
        ("e-mail delivery", enum_label(_MAIL, request.mail_delivery_state)),
        ("license key", text(request.license_key)),
    ]


def register(group: CommandGroup) -> None:
    """Adds the ``requests`` commands."""
    listing = group.add(
        "list",
        _list,
        summary="list key requests, oldest first, with filters",
        description="List key requests in acceptance order. Filters combine: e.g. "
        "--pending --at-risk lists waiting requests whose release now falls after the "
        "promised due date.",
    )
    states = listing.add_mutually_exclusive_group()
    states.add_argument("--state", choices=enum_choices(_STATE), help="only this state")
    states.add_argument(
        "--pending", dest="state", action="store_const", const="pending", help="--state pending"
    )
    states.add_argument(
        "--held",
        dest="state",
        action="store_const",
        const="held",
        help="--state held: waiting for an admin's approval",
    )
    listing.add_argument(
        "--at-risk", action="store_true", help="only those scheduled after their due date"
    )
    listing.add_argument("--late", action="store_true", help="only those released late")
    listing.add_argument("--contract", default="", metavar="NUMBER", help="only this contract")
    add_paging_options(listing)

    show = group.add("show", _show, summary="show a key request, with its key once released")
    show.add_argument("id", help="key request id (kr_...)")

    submit = group.add(
        "submit",
        _submit,
        summary="submit a key request for a customer",
        description="Submit a key request on a customer's behalf (e.g. asked by phone), "
        "as the product site would. It is scheduled by the business calendar like any other.",
    )
    submit.add_argument("contract", metavar="NUMBER", help="support service number")
    # Replacements are made by keysvc when a signing key is withdrawn, never submitted.
    submit.add_argument(
        "--kind",
        required=True,
        choices=[kind for kind in enum_choices(_KIND) if kind != "replacement"],
    )
    submit.add_argument("--fingerprint", default="", help="the (new) server's fingerprint")
    submit.add_argument(
        "--previous-serial", default="", metavar="SERIAL", help="REISSUE: the license replaced"
    )
    submit.add_argument("--email", default="", help="contact e-mail (default: the contract's)")
    add_request_id(submit)

    approve = group.add("approve", _approve, summary="approve a HELD request (it becomes PENDING)")
    approve.add_argument("id", help="key request id")

    reject = group.add("reject", _reject, summary="reject a HELD or PENDING request")
    reject.add_argument("id", help="key request id")
    reject.add_argument("--reason", required=True, help="why, in words for the customer")

    issue = group.add(
        "issue-now",
        _issue_now,
        summary="release a PENDING request at once, bypassing the calendar",
    )
    issue.add_argument("id", help="key request id")

    resend = group.add(
        "resend-mail",
        _resend_mail,
        summary="send a released key's e-mail again (to a corrected address with --to)",
        description="Queue the e-mail with a released key again: to the address stored with "
        "the request, or to --to, which the request then keeps. The customer receives a "
        "message of its own that says it repeats the e-mail of the release. Audited.",
    )
    resend.add_argument("id", help="key request id (RELEASED)")
    resend.add_argument("--to", default="", metavar="ADDRESS", help="a corrected address")

    release = group.add(
        "release-due",
        _release_due,
        summary="release every PENDING request due by now (or --as-of)",
        description="Release every PENDING request whose scheduled release is at or before "
        "--as-of (default now), exactly as the scheduler does: for clearing a backlog.",
    )
    release.add_argument(
        "--as-of",
        type=iso_instant,
        metavar="INSTANT",
        help="e.g. 2026-11-24T09:00+09:00 (default now)",
    )
    add_request_id(release)


def _list(args: argparse.Namespace, session: Session) -> None:
    admin = session.admin
    request = admin_service_pb2.ListKeyRequestsRequest(
        contract_number=args.contract,
        state=resources_pb2.KeyRequestState.ValueType(
            enum_number(_STATE, args.state) if args.state else 0
        ),
        at_risk=args.at_risk,
        late=args.late,
    )
    listing = fetch(
        admin,
        admin.list_key_requests,
        request,
        lambda page: page.key_requests,
        args,
        total_of=lambda page: page.total_size,
    )
    session.out.listing(listing, COLUMNS, noun="key requests")


def _show(args: argparse.Namespace, session: Session) -> None:
    request = session.license.get_key_request(args.id)
    session.out.record(request, key_request_fields(request))


def _submit(args: argparse.Namespace, session: Session) -> None:
    submitted = session.license.submit_key_request(
        args.contract,
        resources_pb2.KeyRequestKind.ValueType(enum_number(_KIND, args.kind)),
        fingerprint=args.fingerprint,
        contact_email=args.email,
        previous_license_serial=args.previous_serial,
        request_id=args.request_id,
    )
    headline = (
        f"Submitted {submitted.id}: {enum_label(_STATE, submitted.state)}, due "
        f"{submitted.due_date}, release {jst_time(submitted.release_time)} JST."
    )
    session.out.record(submitted, key_request_fields(submitted), headline=headline)


def _approve(args: argparse.Namespace, session: Session) -> None:
    approved = session.admin.approve_key_request(args.id)
    headline = (
        f"Approved {approved.id}: {enum_label(_STATE, approved.state)}, release "
        f"{jst_time(approved.release_time)} JST."
    )
    session.out.record(approved, key_request_fields(approved), headline=headline)


def _reject(args: argparse.Namespace, session: Session) -> None:
    rejected = session.admin.reject_key_request(args.id, args.reason)
    headline = f"Rejected {rejected.id}."
    session.out.record(rejected, key_request_fields(rejected), headline=headline)


def _issue_now(args: argparse.Namespace, session: Session) -> None:
    released = session.admin.issue_key_now(args.id)
    headline = f"Released {released.id} as license {released.license_serial or UNSET}."
    session.out.record(released, key_request_fields(released), headline=headline)


def _resend_mail(args: argparse.Namespace, session: Session) -> None:
    resent = session.admin.resend_key_mail(args.id, args.to)
    headline = f"Queued the key e-mail of {resent.id} again, to {resent.contact_email}."
    session.out.record(resent, key_request_fields(resent), headline=headline)


def _release_due(args: argparse.Namespace, session: Session) -> None:
    request = admin_service_pb2.ReleaseDueRequest(request_id=args.request_id)
    if args.as_of is not None:
        request.as_of.FromDatetime(args.as_of)
    response = session.admin.release_due(request)
    when = args.as_of.isoformat() if args.as_of is not None else "now"
    session.out.document(
        {"released_count": response.released_count},
        f"Released {response.released_count} key request(s) due at or before {when}.",
    )
