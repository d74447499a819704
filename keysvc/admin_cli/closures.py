"""``keysvc admin closures``: company closures, and the month calendar they shape."""

from __future__ import annotations

import argparse

from keysvc.admin_cli.arguments import CommandGroup, add_request_id, iso_date
from keysvc.admin_cli.month_calendar import month_argument, show_calendar
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

COLUMNS: list[Column[resources_pb2.Closure]] = [
    Column("id", lambda c: c.id),
    Column("from", lambda c: c.start_date),
    Column("to", lambda c: c.end_date),
    Column("label", lambda c: c.label),
]


def closure_fields(closure: resources_pb2.Closure) -> list[tuple[str, str]]:
    """A closure as label/value rows."""
    return [
        ("id", closure.id),
        ("from", closure.start_date),
        ("to", closure.end_date),
        ("label", closure.label),
    ]


def register(group: CommandGroup) -> None:
    """Adds the ``closures`` commands."""
    add = group.add(
        "add",
        _add,
        summary="add a closure (no business days from START to END)",
        description="Add a company closure, both days included (夏期休暇, 臨時休業, ...). "
        "Every waiting request is rescheduled; those whose release now falls after their "
        "due date are flagged at risk (requests list --at-risk).",
    )
    add.add_argument("start", type=iso_date, help="first closed day, YYYY-MM-DD")
    add.add_argument("end", type=iso_date, help="last closed day, YYYY-MM-DD")
    add.add_argument("--label", required=True, help="what it is, e.g. 夏期休暇")
    add_request_id(add)

    listing = group.add(
        "list",
        _list,
        summary="list the closures added through the API, earliest first",
        description="List the closures added through the API (the yearly Dec 29 - Jan 3 and "
        "closures of the server's configuration file are not listed; the calendar shows "
        "them).",
    )
    listing.add_argument("--year", type=int, default=0, help="only those overlapping this year")
    add_paging_options(listing)

    remove = group.add(
        "remove", _remove, summary="remove a closure; waiting requests are rescheduled"
    )
    remove.add_argument("id", help="closure id (closures list shows them)")

    month = group.add(
        "calendar",
        show_calendar,
        summary="show a month with its business days, as the server computes them",
    )
    month.add_argument(
        "month", nargs="?", type=month_argument, help="YYYY-MM (default this month, JST)"
    )


def _add(args: argparse.Namespace, session: Session) -> None:
    request = admin_service_pb2.AddClosureRequest(
        request_id=args.request_id, start_date=args.start, end_date=args.end, label=args.label
    )
    closure = session.admin.add_closure(request)
    headline = (
        f"Added closure {closure.id}: {closure.start_date} to {closure.end_date}; "
        "waiting requests were rescheduled."
    )
    session.out.record(closure, closure_fields(closure), headline=headline)


def _list(args: argparse.Namespace, session: Session) -> None:
    admin = session.admin
    request = admin_service_pb2.ListClosuresRequest(year=args.year)
    listing = fetch(admin, admin.list_closures, request, lambda page: page.closures, args)
    session.out.listing(listing, COLUMNS, noun="closures")


def _remove(args: argparse.Namespace, session: Session) -> None:
    closure = session.admin.remove_closure(args.id)
    headline = f"Removed closure {closure.id} ({closure.label}); waiting requests were rescheduled."
    session.out.record(closure, closure_fields(closure), headline=headline)
