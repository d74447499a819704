"""``keysvc admin tokens``: the API's bearer tokens, listed and revoked.

Creating a token is not here, by design: its secret would cross the wire and
be kept with the call's idempotency record. It stays ``keysvc tokens create``
on the server host (docs/auth.md).
"""

from __future__ import annotations

import argparse

from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.formatting import jst_time, text
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

COLUMNS: list[Column[resources_pb2.Token]] = [
    Column("id", lambda t: t.id),
    Column("role", lambda t: t.role),
    Column("description", lambda t: text(t.description)),
    Column("created (JST)", lambda t: jst_time(t.create_time)),
    Column("revoked (JST)", lambda t: jst_time(t.revoke_time)),
]


def token_fields(token: resources_pb2.Token) -> list[tuple[str, str]]:
    """A token as label/value rows (there is no secret to show)."""
    return [
        ("id", token.id),
        ("role", token.role),
        ("description", text(token.description)),
        ("created (JST)", jst_time(token.create_time)),
        ("revoked (JST)", jst_time(token.revoke_time)),
    ]


def register(group: CommandGroup) -> None:
    """Adds the ``tokens`` commands."""
    listing = group.add(
        "list",
        _list,
        summary="list bearer tokens by id (never their secrets)",
        description="List the API's bearer tokens: id, role, description, dates. To make a "
        "token, run `keysvc tokens create --role ROLE` on the server host.",
    )
    listing.add_argument("--include-revoked", action="store_true", help="list revoked tokens too")
    add_paging_options(listing)

    revoke = group.add(
        "revoke",
        _revoke,
        summary="revoke a token at once",
        description="Revoke a token: its next call is refused. A token cannot revoke itself.",
    )
    revoke.add_argument("id", help="token id (the part after ksv1. in the token)")


def _list(args: argparse.Namespace, session: Session) -> None:
    admin = session.admin
    request = admin_service_pb2.ListTokensRequest(show_revoked=args.include_revoked)
    listing = fetch(admin, admin.list_tokens, request, lambda page: page.tokens, args)
    session.out.listing(listing, COLUMNS, noun="tokens")


def _revoke(args: argparse.Namespace, session: Session) -> None:
    token = session.admin.revoke_token(args.id)
    headline = f"Revoked {token.role} token {token.id}."
    session.out.record(token, token_fields(token), headline=headline)
