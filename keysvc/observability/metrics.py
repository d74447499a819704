"""Prometheus metrics (SPEC §8): what a process of keysvc counts, and its HTTP endpoint.

Three kinds, in one registry per process (docs/metrics.md lists them all):

- the RPCs, counted and timed by `keysvc.api.metrics_interceptor`, under the
  names most gRPC dashboards already read (``grpc_server_handled_total`` …);
- what this process's background work did: release batches, e-mails delivered;
- the database's backlog, read when Prometheus scrapes (`BacklogCollector`):
  overdue and HELD key requests, undelivered e-mails. These are the same in
  every replica of one database: take their max, not their sum.

Nothing here carries a key, a token or an address: counts and durations only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from keysvc.config import ConfigError, parse_listen_address
from keysvc.domain.errors import PermissionDenied, TooManyFailures, Unauthenticated
from keysvc.mail import BatchReport
from keysvc.persistence.backlog_repository import Backlog, read_backlog
from keysvc.service.release import DueRelease
from scheduler.clock import Clock

__all__ = [
    "AUTH_FAILURE_REASONS",
    "BacklogCollector",
    "MethodMetrics",
    "MetricsEndpoint",
    "ServiceMetrics",
]

logger = logging.getLogger(__name__)

# The reasons of `keysvc_auth_failures_total`: those of the refusals the interceptor makes.
AUTH_FAILURE_REASONS: Final = (
    Unauthenticated.reason,
    PermissionDenied.reason,
    TooManyFailures.reason,
)
# From a cached VerifyLicenseKey (a millisecond) to a ReleaseDue of a morning queue.
RPC_SECONDS_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# A release batch of 200 takes tens of milliseconds; one stuck behind a lock, seconds.
BATCH_SECONDS_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class MethodMetrics:
    """One RPC method's counters, bound to its labels once, for the hot path."""

    _started: Counter
    _seconds: Histogram
    _handled: Counter
    _labels: dict[str, str]
    _handled_by_code: dict[grpc.StatusCode, Counter] = field(default_factory=dict)

    def started(self) -> None:
        """Counts a call that has begun."""
        self._started.inc()

    def handled(self, code: grpc.StatusCode, seconds: float) -> None:
        """Counts a call that has ended with `code`, after `seconds`."""
        self._handled_with(code).inc()
        self._seconds.observe(seconds)

    def expect(self, code: grpc.StatusCode) -> None:
        """Exports the count of calls ending with `code` from now on, at 0 until one does,
        so that a rate over "no such call yet" is 0 rather than absent."""
        self._handled_with(code)

    def _handled_with(self, code: grpc.StatusCode) -> Counter:
        counter = self._handled_by_code.get(code)
        if counter is None:
            counter = self._handled.labels(grpc_code=code.name, **self._labels)
            self._handled_by_code[code] = counter
        return counter


class ServiceMetrics:
    """Every metric of one keysvc process, in a registry of its own (tests build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._rpcs_started = Counter(
            "grpc_server_started",
            "RPCs started on the server.",
            ("grpc_type", "grpc_service", "grpc_method"),
            registry=self.registry,
        )
        self._rpcs_handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by status code.",
            ("grpc_type", "grpc_service", "grpc_method", "grpc_code"),
            registry=self.registry,
        )
        self._rpc_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its answer, on the server.",
            ("grpc_type", "grpc_service", "grpc_method"),
            buckets=RPC_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._released = Counter(
            "keysvc_release_loop_released",
            "Key requests released by the release loop and ReleaseDue (not those "
            "released in the answer to SubmitKeyRequest or IssueKeyNow).",
            registry=self.registry,
        )
        self._held = Counter(
            "keysvc_release_loop_held",
            "Due key requests the release loop could not release and HELD for staff.",
            registry=self.registry,
        )
        self._release_batch_seconds = Histogram(
            "keysvc_release_batch_seconds",
            "Duration of a release batch (one transaction), committed.",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._mails_sent = Counter(
            "keysvc_mail_sent",
            "License e-mails delivered by this process.",
            registry=self.registry,
        )
        self._mail_failures = Counter(
            "keysvc_mail_failed_attempts",
            "Failed deliveries, by what follows: another attempt later (retrying), or "
            "none (gave_up: the message is FAILED).",
            ("outcome",),
            registry=self.registry,
        )
        for outcome in ("retrying", "gave_up"):
            self._mail_failures.labels(outcome=outcome)
        auth_failures = Counter(
            "keysvc_auth_failures",
            "Calls refused before their method, by ErrorInfo reason: UNAUTHENTICATED (no "
            "valid token), PERMISSION_DENIED (the token's role may not call it), "
            "TOO_MANY_AUTHENTICATION_FAILURES (the caller's address is blocked for a while).",
            ("reason",),
            registry=self.registry,
        )
        # Bound once: an attack calls these thousands of times a second.
        self._auth_failures = {
            reason: auth_failures.labels(reason=reason) for reason in AUTH_FAILURE_REASONS
        }
        self._blocked_peers = Gauge(
            "keysvc_auth_blocked_peers",
            "Client addresses refused now for repeated failed authentications.",
            registry=self.registry,
        )
        self._calls_in_flight = Gauge(
            "keysvc_grpc_calls_in_flight",
            "Calls of our services admitted and not yet answered (at most "
            "KEYSVC_MAX_CALLS_IN_FLIGHT).",
            registry=self.registry,
        )
        self._overload_refusals = Counter(
            "keysvc_grpc_overload_refused",
            "Calls refused at once with RESOURCE_EXHAUSTED (OVERLOADED): too many in flight.",
            registry=self.registry,
        )

    def method(self, service: str, method: str) -> MethodMetrics:
        """The counters of one RPC method (``keysvc.v1.LicenseService``, ``SubmitKeyRequest``);
        the same labels give counters that add up, so call it once per method."""
        # grpc_type: every method of ours is unary; the label is there for the
        # dashboards written for go-grpc-prometheus, which select on it.
        labels = {"grpc_type": "unary", "grpc_service": service, "grpc_method": method}
        bound = MethodMetrics(
            self._rpcs_started.labels(**labels),
            self._rpc_seconds.labels(**labels),
            self._rpcs_handled,
            labels,
        )
        bound.expect(grpc.StatusCode.OK)
        return bound

    def count_auth_failure(self, reason: str) -> None:
        """Counts a call refused before its method, for `reason` (one of
        `AUTH_FAILURE_REASONS`)."""
        self._auth_failures[reason].inc()

    def watch_blocked_peers(self, count: Callable[[], int]) -> None:
        """Exports `count()`, called at each scrape (from the endpoint's thread), as the
        number of blocked client addresses."""
        self._blocked_peers.set_function(count)

    def watch_calls_in_flight(self, count: Callable[[], float]) -> None:
        """Exports `count()`, read at each scrape, as the calls in flight."""
        self._calls_in_flight.set_function(count)

    def record_overload_refusal(self) -> None:
        """Counts a call refused because too many were in flight."""
        self._overload_refusals.inc()

    def record_release_batch(self, outcome: DueRelease, seconds: float) -> None:
        """Counts a committed release batch."""
        self._released.inc(outcome.released)
        self._held.inc(outcome.claimed - outcome.released)
        self._release_batch_seconds.observe(seconds)

    def record_mail_batch(self, report: BatchReport) -> None:
        """Counts what a batch of the mail sender did."""
        self._mails_sent.inc(report.sent)
        self._mail_failures.labels(outcome="retrying").inc(report.retrying)
        self._mail_failures.labels(outcome="gave_up").inc(report.gave_up)

    def watch_backlog(self, engine: Engine, clock: Clock) -> None:
        """Exports the database's backlog, read at each scrape."""
        self.registry.register(BacklogCollector(engine, clock))


class BacklogCollector(Collector):
    """The database's waiting work, read at each scrape (`read_backlog`).

    A scrape that cannot read the database still answers, with
    ``keysvc_database_up 0`` and the process's own metrics, so that the alert
    says what is wrong rather than that the target is down.

    One scrape reads at a time: the endpoint answers each request in a thread
    of its own, and while the database is slow, scrapes piling up would take
    the connections the RPCs need. A scrape that finds another reading leaves
    the backlog out (Prometheus sees it as unknown for that scrape).
    """

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._reading = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        """The backlog's gauges, as of now."""
        if not self._reading.acquire(blocking=False):
            logger.warning("metrics: the previous scrape is still reading the backlog; skipped")
            return
        now = self._clock.now()
        try:
            backlog = self._read(now)
        finally:
            self._reading.release()
        yield _gauge(
            "keysvc_database_up",
            "1 when the scrape read the database, else 0.",
            backlog is not None,
        )
        if backlog is None:
            return
        yield _gauge(
            "keysvc_key_requests_overdue",
            "PENDING key requests whose release time has passed: the release loop is "
            "behind or stopped.",
            backlog.overdue_requests,
        )
        yield _gauge(
            "keysvc_key_requests_overdue_max_age_seconds",
            "How long the most overdue PENDING key request has been due (0 when none is).",
            _age(now, backlog.oldest_overdue_release_at),
        )
        yield _gauge(
            "keysvc_key_requests_held",
            "HELD key requests, each waiting for staff to approve or reject it.",
            backlog.held_requests,
        )
        yield _gauge(
            "keysvc_mail_queued",
            "License e-mails queued and not yet delivered.",
            backlog.queued_mails,
        )
        yield _gauge(
            "keysvc_mail_queued_max_age_seconds",
            "How long the oldest undelivered license e-mail has been queued (0 when none is).",
            _age(now, backlog.oldest_queued_at),
        )
        yield _gauge(
            "keysvc_mail_failed",
            "License e-mails given up on after their last attempt (FAILED).",
            backlog.failed_mails,
        )
        yield _gauge(
            "keysvc_replacements_waiting",
            "Replacement keys of a withdrawn signing key's licenses not yet released "
            "(PENDING or HELD REPLACEMENT requests).",
            backlog.waiting_replacements,
        )

    def _read(self, now: datetime) -> Backlog | None:
        try:
            with self._engine.connect() as connection:
                return read_backlog(connection, now)
        except SQLAlchemyError:
            logger.warning("metrics: cannot read the backlog from the database", exc_info=True)
            return None


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


class MetricsEndpoint:
    """The HTTP server that answers Prometheus's scrapes (``GET /metrics``), in a thread."""

    def __init__(self, listen: str, metrics: ServiceMetrics) -> None:
        """Listens on ``HOST:PORT`` (port 0 picks a free one) at once; `ConfigError` when
        it cannot."""
        host, port = parse_listen_address(listen)
        try:
            self._server, self._thread = start_http_server(
                port, addr=host.removeprefix("[").removesuffix("]"), registry=metrics.registry
            )
        except OSError as error:
            raise ConfigError(f"cannot serve metrics on {listen} (in use?): {error}") from error
        self.address = f"{host}:{self._server.server_port}"

    def close(self) -> None:
        """Stops answering and closes the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
