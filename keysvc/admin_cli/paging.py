"""Paging options shared by every `list` command, and fetching what they ask for.

By default a list shows one page (the server's default size, 50, or
``--page-size``) and says how to get the next one; ``--page-token`` continues
from there and ``--all`` follows every page to the end.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from keysvc.admin_cli.arguments import positive
from keysvc.admin_cli.output import Listing
from keysvc.client import AdminClient


class PagedRequest(Protocol):
    """A List request (AIP-158)."""

    page_size: int
    page_token: str


class PagedResponse(Protocol):
    """A List response (AIP-158)."""

    @property
    def next_page_token(self) -> str: ...


RequestT = TypeVar("RequestT", bound=PagedRequest)
PageT = TypeVar("PageT", bound=PagedResponse)
ItemT = TypeVar("ItemT", bound=Message)


def add_paging_options(parser: argparse.ArgumentParser) -> None:
    """``--page-size``, ``--page-token`` and ``--all``."""
    group = parser.add_argument_group("paging")
    group.add_argument(
        "--page-size", type=positive, default=0, metavar="N", help="items per page (server: 50)"
    )
    pages = group.add_mutually_exclusive_group()
    pages.add_argument("--page-token", default="", metavar="TOKEN", help="continue a listing")
    pages.add_argument(
        "--all", action="store_true", dest="all_pages", help="follow every page to the end"
    )


def fetch(
    admin: AdminClient,
    list_method: Callable[[RequestT], PageT],
    request: RequestT,
    items_of: Callable[[PageT], Sequence[ItemT]],
    args: argparse.Namespace,
    *,
    total_of: Callable[[PageT], int] | None = None,
) -> Listing[ItemT]:
    """The page (or, with ``--all``, every page) the paging options ask for."""
    request.page_size = args.page_size
    request.page_token = args.page_token
    pages = admin.pages(list_method, request) if args.all_pages else iter([list_method(request)])
    items: list[ItemT] = []
    total: int | None = None
    next_token = ""
    for page in pages:
        items.extend(items_of(page))
        next_token = page.next_page_token
        if total is None and total_of is not None:
            total = total_of(page)
    return Listing(items, next_token, total)
