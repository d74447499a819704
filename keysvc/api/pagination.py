"""List pagination (AIP-158): page sizes and opaque, tamper-proof page tokens.

A page token holds the position after which the next page starts and a digest
of the filters it was made for, sealed with an HMAC under a key the replicas
share (`server_secrets`, made by the first start)::

    base64url(JSON {"after": …, "filters": …}) "." base64url(HMAC-SHA256(key, …)[:16])

Only tokens this service made are opened: anything else — too long, not two
segments, a seal that does not match — is refused before its content is read,
so a forged position never reaches a query. A token used with other filters is
refused rather than silently giving a wrong page. A token made by any replica
opens on every other one; tokens do not expire (a position is no secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from keysvc.domain.errors import InvalidArgument
from signing import b64url_decode, b64url_encode

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Positions are ids and times: real tokens are under 200 characters.
MAX_PAGE_TOKEN_LENGTH: Final = 512
# The name of the key in `server_secrets`.
PAGE_TOKEN_SECRET: Final = "page-token"  # noqa: S105 - the name of a secret, not one

_SEAL_CONTEXT: Final = b"keysvc page token v1\x00"
_SEAL_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page starts and how long it is."""

    size: int
    # The position of the last item of the previous page; None for the first page.
    after: str | int | None
    filters_digest: str
    seal: Callable[[bytes], str]

    def next_token(self, last: str | int | None, fetched: int) -> str:
        """The token of the next page, or "" when this page was the last one.

        Callers fetch ``size + 1`` items: one more than they return tells whether
        more exist without counting them.
        """
        if fetched <= self.size or last is None:
            return ""
        document = {"after": last, "filters": self.filters_digest}
        return self.seal(json.dumps(document, separators=(",", ":")).encode())


class PageTokens:
    """Makes and opens the page tokens of every List method, with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page token key has at least 128 bits")
        self._key = key

    def page_of(self, page_size: int, page_token: str, filters: Mapping[str, object]) -> Page:
        """Reads a List request's paging fields; `filters` are the request's other fields."""
        if page_size < 0:
            raise InvalidArgument("page_size", "page_size must not be negative")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        digest = hashlib.sha256(
            json.dumps(dict(filters), sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        if not page_token:
            return Page(size, None, digest, self._seal)
        document = self._open(page_token)
        after = document.get("after")
        if not isinstance(after, str | int) or isinstance(after, bool):
            raise _not_ours()
        if document.get("filters") != digest:
            raise InvalidArgument(
                "page_token", "page_token belongs to a list request with other filters"
            )
        return Page(size, after, digest, self._seal)

    def _seal(self, payload: bytes) -> str:
        return f"{b64url_encode(payload)}.{b64url_encode(self._mac(payload))}"

    def _open(self, token: str) -> dict[str, object]:
        if len(token) > MAX_PAGE_TOKEN_LENGTH or token.count(".") != 1:
            raise _not_ours()
        encoded_payload, encoded_mac = token.split(".")
        try:
            payload, mac = b64url_decode(encoded_payload), b64url_decode(encoded_mac)
        except ValueError:
            raise _not_ours() from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise _not_ours()
        # Ours, so well formed; checked all the same, as a key may be rotated by hand.
        try:
            document = json.loads(payload)
        except ValueError:
            raise _not_ours() from None
        if not isinstance(document, dict):
            raise _not_ours()
        return document

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, _SEAL_CONTEXT + payload, hashlib.sha256).digest()[:_SEAL_BYTES]


def _not_ours() -> InvalidArgument:
    return InvalidArgument("page_token", "page_token is not one this service made")
