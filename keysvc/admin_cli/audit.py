"""``keysvc admin audit``: who changed what, newest first."""

from __future__ import annotations

import argparse

from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.formatting import jst_time, short_method
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

COLUMNS: list[Column[resources_pb2.AuditEvent]] = [
    Column("time (JST)", lambda e: jst_time(e.time)),
    Column("actor", lambda e: f"{e.actor_token_id} ({e.actor_role})"),
    Column("method", lambda e: short_method(e.method)),
    Column("resource", lambda e: e.resource),
    Column("outcome", lambda e: e.outcome),
]


def register(group: CommandGroup) -> None:
    """Adds the ``audit`` commands."""
    listing = group.add(
        "list",
        _list,
        summary="list audit events, newest first",
        description="List the audit log of every mutating call, newest first.",
    )
    listing.add_argument(
        "--resource", default="", help="only this resource, e.g. contracts/SS-2026-000123"
    )
    listing.add_argument(
        "--actor", default="", metavar="TOKEN_ID", help="only calls made with this token id"
    )
    add_paging_options(listing)


def _list(args: argparse.Namespace, session: Session) -> None:
    admin = session.admin
    request = admin_service_pb2.ListAuditEventsRequest(
        resource=args.resource, actor_token_id=args.actor
    )
    listing = fetch(admin, admin.list_audit_events, request, lambda page: page.audit_events, args)
    session.out.listing(listing, COLUMNS, noun="audit events")
