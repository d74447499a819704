"""What the interceptor does with refusals: addresses, token ids, audit, counting."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from keysvc.api.auth_watch import AuthWatch, peer_address, public_token_id
from keysvc.api.failure_limiter import FailureLimiter
from keysvc.domain.errors import TooManyFailures, Unauthenticated
from keysvc.domain.tokens import Principal, Role
from keysvc.observability.metrics import ServiceMetrics

SITE = Principal("0123456789abcdef", Role.SITE)


class Context:
    def __init__(self, peer: str) -> None:
        self._peer = peer

    def peer(self) -> str:
        return self._peer


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:192.0.2.7:50412", "192.0.2.7"),
        ("ipv4:192.0.2.7:1", "192.0.2.7"),
        ("ipv6:%5B2001:db8:1:2:3:4:5:6%5D:50412", "2001:db8:1:2::/64"),
        ("ipv6:[2001:db8:1:2:ffff::9]:1", "2001:db8:1:2::/64"),
        ("ipv6:%5B::ffff:192.0.2.7%5D:50412", "192.0.2.7"),
        ("ipv6:%5Bfe80::1%25eth0%5D:50412", "fe80::/64"),
        ("unix:/run/keysvc.sock", "unix"),
    ],
)
def test_a_peer_is_counted_by_its_address_without_the_port(peer: str, address: str) -> None:
    assert peer_address(peer) == address


@pytest.mark.parametrize(
    ("authorization", "token_id"),
    [
        ("Bearer ksv1.0123456789abcdef.secret", "0123456789abcdef"),
        ("Bearer ksv1.0123456789ABCDEF.secret", None),  # not one of ours: the caller's text
        ("Bearer ksv1.<script>alert(1)</script>.secret", None),
        ("Bearer ksv1.0123456789abcdef", None),
        ("Basic dXNlcjpwYXNz", None),
        (None, None),
    ],
)
def test_only_the_id_of_a_well_formed_token_is_ever_logged(
    authorization: str | None, token_id: str | None
) -> None:
    assert public_token_id(authorization) == token_id


def _watch(audit, limit: int = 2) -> tuple[AuthWatch, ServiceMetrics]:
    metrics = ServiceMetrics()
    limiter = FailureLimiter(limit=limit, window=60, block=300, monotonic=lambda: 0.0)
    return AuthWatch(limiter, metrics, audit, ThreadPoolExecutor(1)), metrics


def _count(metrics: ServiceMetrics, reason: str) -> float:
    value = metrics.registry.get_sample_value("keysvc_auth_failures_total", {"reason": reason})
    assert value is not None
    return value


def test_the_limit_th_failure_blocks_the_address_and_later_failures_are_refusals() -> None:
    watch, metrics = _watch(lambda *_: None)
    here, there = Context("ipv4:192.0.2.1:1"), Context("ipv4:192.0.2.2:1")
    error = Unauthenticated("unknown or revoked bearer token")
    assert watch.refusal(here, "/m") is None
    assert watch.unauthenticated(here, None, "/m", error) is error
    assert watch.unauthenticated(here, None, "/m", error) is error  # the limit-th: blocks
    assert isinstance(watch.refusal(here, "/m"), TooManyFailures)
    # A call checked before the block that fails after it is a refusal, not a failure.
    assert isinstance(watch.unauthenticated(here, None, "/m", error), TooManyFailures)
    assert watch.refusal(there, "/m") is None
    assert _count(metrics, "UNAUTHENTICATED") == 2
    assert _count(metrics, "TOO_MANY_AUTHENTICATION_FAILURES") == 2
    assert metrics.registry.get_sample_value("keysvc_auth_blocked_peers") == 1


def test_a_refused_role_is_audited_and_counted() -> None:
    audited = []
    watch, metrics = _watch(lambda *event: audited.append(event))
    asyncio.run(watch.permission_denied(Context("ipv4:192.0.2.1:1"), SITE, "/svc/Method"))
    assert audited == [(SITE, "/svc/Method", "PERMISSION_DENIED")]
    assert _count(metrics, "PERMISSION_DENIED") == 1


def test_a_refused_role_is_still_refused_when_its_audit_fails(caplog) -> None:
    def broken(*_: object) -> None:
        raise OSError("database down")

    watch, _ = _watch(broken)
    with caplog.at_level(logging.WARNING):
        asyncio.run(watch.permission_denied(Context("ipv4:192.0.2.1:1"), SITE, "/svc/Method"))
    assert "could not audit a refused call" in caplog.text
    assert "OSError: database down" in caplog.text  # not an outage: a bug, with its traceback
