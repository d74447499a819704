"""Seeing and slowing attacks on the tokens: what the interceptor does with a refusal.

- A failed authentication is counted against the caller's address
  (`FailureLimiter`); an address that fails too often is refused every call for
  a while (`TooManyFailures`: RESOURCE_EXHAUSTED with a RetryInfo).
- Failed authentications and refused roles are logged, at most one line per
  address per minute with the count since the last, never with the token:
  only the id of a well-formed token, which is public, and the address.
- Both are counted in Prometheus by reason (`keysvc_auth_failures_total`); the
  per-address counts stay here, as addresses would be unbounded labels.
- A refused role is audited, its caller being known; a failed authentication
  is not (one row each would let anyone fill the database): logs and metrics.

What "address" means is `peer_address`; docs/auth.md says why.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Final
from urllib.parse import unquote

import grpc

from keysvc.api.failure_limiter import FailureLimiter, ReportThrottle
from keysvc.domain.errors import PermissionDenied, TooManyFailures, Unauthenticated
from keysvc.domain.tokens import Principal
from keysvc.observability.metrics import ServiceMetrics
from keysvc.service.database_access import database_unavailable

logger = logging.getLogger(__name__)

# Refusals of one address are logged at most once per this many seconds, with their count.
REPORT_SECONDS: Final = 60.0
# The ids `keysvc.domain.tokens.new_token` makes; anything else in that place is the caller's
# text, and is not logged.
_TOKEN_ID: Final = re.compile(r"ksv1\.([0-9a-f]{16})\.")
# IPv6 clients own whole /64 networks: one address each would not slow anybody.
_IPV6_PREFIX: Final = 64

Context = grpc.aio.ServicerContext[Any, Any]


def peer_address(peer: str) -> str:
    """The address a call's peer (``context.peer()``) is counted under: its IP without
    the port; for IPv6 its /64 network; an IPv4-mapped IPv6 address as IPv4.

    >>> peer_address("ipv4:192.0.2.7:50412")
    '192.0.2.7'
    >>> peer_address("ipv6:%5B2001:db8::1%5D:50412")
    '2001:db8::/64'
    """
    kind, _, rest = peer.partition(":")
    host = rest.rpartition(":")[0]
    if kind == "ipv4" and host:
        return host
    if kind == "ipv6" and host:
        return _ipv6_network(host)
    return kind  # a Unix socket: its callers are one local peer


@functools.lru_cache(maxsize=4096)
def _ipv6_network(host: str) -> str:
    text = unquote(host).strip("[]").partition("%")[0]  # the zone of a link-local address
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return text
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, _IPV6_PREFIX), strict=False))


def public_token_id(authorization: str | None) -> str | None:
    """The id of a well-formed bearer token (public: it names the caller in the audit
    log), or None; never anything of the secret."""
    if authorization is None:
        return None
    match = _TOKEN_ID.search(authorization, 0, 64)
    return match[1] if match else None


class AuthWatch:
    """Counts, logs, audits and limits the refusals of the interceptor."""

    def __init__(
        self,
        limiter: FailureLimiter,
        metrics: ServiceMetrics,
        audit: Callable[[Principal, str, str], None],
        executor: Executor,
    ) -> None:
        self._limiter = limiter
        self._metrics = metrics
        self._audit = audit
        self._executor = executor
        self._denials = ReportThrottle(
            REPORT_SECONDS, max_keys=limiter.max_peers, monotonic=limiter.monotonic
        )
        metrics.watch_blocked_peers(limiter.blocked_peers)

    def refusal(self, context: Context, method: str) -> TooManyFailures | None:
        """The error refusing this call when its address is blocked, else None.

        Every call asks, before its token is looked at; while nobody is blocked
        the answer costs one attribute test.
        """
        if not self._limiter.anyone_blocked:
            return None
        peer = peer_address(context.peer())
        retry_after = self._limiter.retry_after(peer)
        if retry_after is None:
            return None
        return self._refuse(peer, method, retry_after)

    def unauthenticated(
        self, context: Context, authorization: str | None, method: str, error: Unauthenticated
    ) -> Unauthenticated | TooManyFailures:
        """Counts a failed authentication against its address, blocking it at the limit;
        returns the error to answer with.

        A call checked before its address was blocked, and failed after (calls
        run side by side), is answered as refused, not counted: exactly `limit`
        failures of one address are ever answered UNAUTHENTICATED in a row.
        """
        peer = peer_address(context.peer())
        retry_after = self._limiter.retry_after(peer)
        if retry_after is not None:
            return self._refuse(peer, method, retry_after)
        self._metrics.count_auth_failure(Unauthenticated.reason)
        failure = self._limiter.failed(peer)
        if failure.blocked_for:
            logger.warning(
                "address blocked: too many failed authentications",
                extra={
                    "peer": peer,
                    "failures": failure.report,
                    "limit": self._limiter.limit,
                    "window_seconds": self._limiter.window,
                    "blocked_seconds": failure.blocked_for,
                    "method": method,
                    "token_id": public_token_id(authorization),
                },
            )
        elif failure.report:
            logger.warning(
                "failed authentication",
                extra={
                    "peer": peer,
                    "failures": failure.report,
                    "failures_in_window": failure.failures_in_window,
                    "method": method,
                    # One of our fixed messages (missing, malformed, unknown or revoked).
                    "why": error.message,
                    "token_id": public_token_id(authorization),
                },
            )
        return error

    def _refuse(self, peer: str, method: str, retry_after: float) -> TooManyFailures:
        self._metrics.count_auth_failure(TooManyFailures.reason)
        count = self._limiter.refused(peer)
        if count:
            logger.warning(
                "calls refused: their address failed to authenticate too often",
                extra={"peer": peer, "refused": count, "method": method},
            )
        return TooManyFailures(
            "too many failed authentications from this address: try again later",
            retry_after=retry_after,
        )

    async def permission_denied(self, context: Context, principal: Principal, method: str) -> None:
        """Counts, logs and audits a call whose token's role may not call `method`."""
        self._metrics.count_auth_failure(PermissionDenied.reason)
        peer = peer_address(context.peer())
        count = self._denials.note(peer)
        if count:
            logger.warning(
                "refused: the token's role may not call the method",
                extra={
                    "peer": peer,
                    "refused": count,
                    "token_id": principal.token_id,
                    "role": principal.role.value,
                    "method": method,
                },
            )
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self._audit, principal, method, PermissionDenied.reason
            )
        except Exception as error:  # the refusal stands without its audit event: say so
            logger.warning(
                "could not audit a refused call",
                # An outage is logged where it is noticed; anything else is a bug.
                exc_info=None if database_unavailable(error) else error,
                extra={"token_id": principal.token_id, "method": method},
            )
