"""The status listener: the Status List Tokens and the JWKS over HTTP (SPEC section 5a).

    GET /statuslists/<n>        the token of list n    application/statuslist+jwt
    GET /.well-known/jwks.json  the published keys     application/jwk-set+json

HEAD works for both. Each answer carries a strong ``ETag`` (a hash of the body),
``Cache-Control: max-age`` (the token's ``ttl``, never past its ``exp``; five
minutes for the JWKS) and ``Last-Modified``; a matching ``If-None-Match`` (or,
without one, ``If-Modified-Since``) answers 304 with no body. An unknown or
never-published list, a malformed number and any other path answer 404; other
methods 405. When the database cannot be reached the answer is 503 with
``Retry-After``.

It runs on the event loop of ``keysvc serve`` (aiohttp); the documents are read
in the service's database threads and kept for `DOCUMENTS_CACHE_SECONDS`, so a
flood of requests costs one read a second, not one per request.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web

from keysvc.config import ConfigError, parse_listen_address
from keysvc.domain.status_entries import TTL
from keysvc.service.database_access import database_unavailable
from keysvc.service.status_documents import (
    JWKS_PATH,
    JWKS_TYPE,
    STATUS_LIST_TYPE,
    STATUS_LISTS_PATH,
    StatusDocuments,
)
from scheduler.clock import Clock

__all__ = [
    "DOCUMENTS_CACHE_SECONDS",
    "JWKS_MAX_AGE",
    "RETRY_AFTER_SECONDS",
    "DatabaseOutage",
    "DocumentCache",
    "StatusListener",
    "entity_tag",
    "status_app",
]

logger = logging.getLogger(__name__)

JWKS_MAX_AGE: Final = timedelta(minutes=5)
"""How long the JWKS may be kept: a rotated key is published long before it signs a list
a verifier fetches, so a short age costs nothing and spreads a withdrawal quickly."""
DOCUMENTS_CACHE_SECONDS: Final = 1.0
"""How long the documents read from the database answer requests (also a failed read:
an outage is not asked again by every request). Well below the publication interval,
so a newly published token is served within a second of being stored."""
RETRY_AFTER_SECONDS: Final = 5
"""``Retry-After`` of a 503 during a database outage."""
_MAX_NUMBER_DIGITS: Final = 10  # list numbers are integers of the database, far below 10**10
_ETAG_BYTES: Final = 16  # 128 bits of SHA-256: no two bodies ever share a tag


@dataclass(frozen=True, slots=True)
class _Representation:
    """One document as served: its bytes and what the caching headers say of them."""

    body: bytes
    content_type: str
    etag: str  # quoted, as in the header
    last_modified: datetime | None
    max_age: timedelta
    expires_at: datetime | None  # max-age never reaches past it


@dataclass(frozen=True, slots=True)
class _Served:
    lists: dict[int, _Representation]
    jwks: _Representation


def entity_tag(body: bytes) -> str:
    """The strong entity tag of `body`, quoted as in the ``ETag`` header: base64url of
    the first 128 bits of its SHA-256. The same bytes give the same tag on every
    replica, and in ``keysvc status export``'s files for a static host."""
    digest = hashlib.sha256(body).digest()[:_ETAG_BYTES]
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'


def _prepared(documents: StatusDocuments) -> _Served:
    """The documents as served (hashed once per read, not per request)."""
    lists = {}
    for number, published in documents.lists.items():
        body = published.token.encode("ascii")
        lists[number] = _Representation(
            body,
            STATUS_LIST_TYPE,
            entity_tag(body),
            published.issued_at,
            TTL,
            published.expires_at,
        )
    jwks = documents.jwks.encode("utf-8")
    return _Served(
        lists,
        _Representation(
            jwks, JWKS_TYPE, entity_tag(jwks), documents.keys_changed_at, JWKS_MAX_AGE, None
        ),
    )


class DatabaseOutage(Exception):
    """The documents cannot be read now: the database is unavailable."""


class DocumentCache:
    """The served documents, read with `read` in `executor` at most once per
    `seconds`; requests arriving during a read wait for that read."""

    def __init__(
        self,
        read: Callable[[], StatusDocuments],
        executor: Executor,
        *,
        seconds: float = DOCUMENTS_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._executor = executor
        self._seconds = seconds
        self._monotonic = monotonic
        self._served: _Served | DatabaseOutage | None = None
        self._until = 0.0
        self._pending: asyncio.Future[_Served | DatabaseOutage] | None = None

    async def current(self) -> _Served:
        """The documents; raises `DatabaseOutage` when the database is unavailable, and
        whatever else the read raised (a bug, answered 500)."""
        served = self._served
        if served is None or self._monotonic() >= self._until:
            if self._pending is None:
                self._pending = asyncio.ensure_future(self._load())
            # Shielded: a client that hangs up does not cancel the read the others await.
            served = await asyncio.shield(self._pending)
        if isinstance(served, DatabaseOutage):
            raise served
        return served

    async def _load(self) -> _Served | DatabaseOutage:
        served: _Served | DatabaseOutage
        try:
            served = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._read_prepared
            )
        except Exception as error:
            if not database_unavailable(error):
                raise
            logger.warning(
                "cannot serve the status lists: the database is unavailable",
                extra={"error": type(error).__name__},
            )
            served = DatabaseOutage(str(error))
        finally:
            self._pending = None
        self._served, self._until = served, self._monotonic() + self._seconds
        return served

    def _read_prepared(self) -> _Served:
        return _prepared(self._read())


def status_app(documents: DocumentCache, clock: Clock) -> web.Application:
    """The listener's aiohttp application: the two routes, 404 and 405 for the rest.

    `clock` says when "now" is, for the ``max-age`` left before a token's ``exp``.
    """

    async def status_list(request: web.Request) -> web.StreamResponse:
        text = request.match_info["number"]
        # One spelling per list: the URI in the keys is /statuslists/<n>, no leading zeros.
        if len(text) > _MAX_NUMBER_DIGITS or text != str(int(text)):
            return _not_found()
        served = await _documents(documents)
        if isinstance(served, web.Response):
            return served
        found = served.lists.get(int(text))
        if found is None:
            return _not_found()
        return _answer(request, found, clock.now())

    async def jwks(request: web.Request) -> web.StreamResponse:
        served = await _documents(documents)
        if isinstance(served, web.Response):
            return served
        return _answer(request, served.jwks, clock.now())

    app = web.Application()
    # The digits are checked in the handler: any other path segment is simply unknown.
    app.router.add_get(f"/{STATUS_LISTS_PATH}/{{number:[0-9]+}}", status_list)
    app.router.add_get(f"/{JWKS_PATH}", jwks)
    app.on_response_prepare.append(_common_headers)
    return app


async def _documents(documents: DocumentCache) -> _Served | web.Response:
    try:
        return await documents.current()
    except DatabaseOutage:
        return web.Response(
            status=503,
            text="the status lists cannot be read now; retry later\n",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        )


def _not_found() -> web.Response:
    # no-store: a list not published yet will be, and a cache must not hide it then.
    return web.Response(status=404, text="404: Not Found", headers={"Cache-Control": "no-store"})


def _answer(request: web.Request, found: _Representation, now: datetime) -> web.Response:
    max_age = found.max_age
    if found.expires_at is not None:
        max_age = min(max_age, found.expires_at - now)
    headers = {
        "ETag": found.etag,
        "Cache-Control": f"max-age={max(0, int(max_age.total_seconds()))}",
    }
    if _not_modified(request, found):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(body=found.body, content_type=found.content_type, headers=headers)
    if found.last_modified is not None:
        response.last_modified = found.last_modified
    return response


def _not_modified(request: web.Request, found: _Representation) -> bool:
    """RFC 9110 section 13.2.2: If-None-Match (weak comparison) decides when present;
    else If-Modified-Since, to the second."""
    tags = request.if_none_match
    if tags is not None:
        return any(tag.value in ("*", found.etag.strip('"')) for tag in tags)
    since = request.if_modified_since
    if since is None or found.last_modified is None:
        return False
    return found.last_modified.replace(microsecond=0) <= since


async def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer, 404 and 405 included: no server software or version shown, and
    no content sniffing of the tokens."""
    del request
    response.headers["Server"] = "keysvc"
    response.headers["X-Content-Type-Options"] = "nosniff"


class StatusListener:
    """The status listener, running on the current event loop."""

    def __init__(self, runner: web.AppRunner, address: str) -> None:
        self._runner = runner
        self.address = address
        """``HOST:PORT`` it listens on (the port chosen, for port 0)."""

    @classmethod
    async def start(
        cls, listen: str, app: web.Application, *, shutdown_seconds: float
    ) -> StatusListener:
        """Listens on ``HOST:PORT`` (port 0 picks a free one) at once; `ConfigError` when
        it cannot. On `close`, requests in flight have `shutdown_seconds` to finish."""
        host, port = parse_listen_address(listen, name="KEYSVC_STATUS_LISTEN")
        # No access log: every product asks every hour; a CDN in front keeps its own.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_seconds)
        await runner.setup()
        site = web.TCPSite(runner, host.removeprefix("[").removesuffix("]"), port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise ConfigError(
                f"cannot serve the status lists on {listen} (in use?): {error}"
            ) from error
        bound = runner.addresses[0][1]
        return cls(runner, f"{host}:{bound}")

    async def close(self) -> None:
        """Stops listening, lets the requests in flight finish, closes the connections."""
        await self._runner.cleanup()
