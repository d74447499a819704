"""List pagination (AIP-158): page sizes and opaque page tokens.

A page token is base64url JSON holding the position after which the next page
starts and a digest of the filters it was made for; a token used with other
filters is refused rather than silently giving a wrong page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from keysvc.errors import InvalidArgument
from signing import b64url_decode, b64url_encode

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page starts and how long it is."""

    size: int
    # The position of the last item of the previous page; None for the first page.
    after: str | int | None
    filters_digest: str

    def next_token(self, last: str | int | None, fetched: int) -> str:
        """The token of the next page, or "" when this page was the last one.

        Callers fetch ``size + 1`` items: one more than they return tells whether
        more exist without counting them.
        """
        if fetched <= self.size or last is None:
            return ""
        document = {"after": last, "filters": self.filters_digest}
        return b64url_encode(json.dumps(document, separators=(",", ":")).encode())


def page_of(page_size: int, page_token: str, filters: Mapping[str, object]) -> Page:
    """Reads a List request's paging fields; `filters` are the request's other fields."""
    if page_size < 0:
        raise InvalidArgument("page_size", "page_size must not be negative")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    digest = hashlib.sha256(
        json.dumps(dict(filters), sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    if not page_token:
        return Page(size, None, digest)
    try:
        document = json.loads(b64url_decode(page_token))
        after = document["after"]
        token_digest = document["filters"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgument("page_token", "page_token is not one this service made") from error
    if not isinstance(after, str | int) or isinstance(after, bool) or token_digest != digest:
        raise InvalidArgument(
            "page_token", "page_token belongs to a list request with other filters"
        )
    return Page(size, after, digest)
