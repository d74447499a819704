"""The composition root: builds the service's parts from `Settings`.

Nothing else decides which database, key ring or executor the service uses.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from keysvc.api.auth_watch import AuthWatch
from keysvc.api.failure_limiter import FailureLimiter
from keysvc.api.pagination import PAGE_TOKEN_SECRET, PageTokens
from keysvc.api.runner import Runner
from keysvc.config import ConfigError, Settings
from keysvc.domain import UnknownPolicy
from keysvc.domain.errors import FailedPrecondition, InvalidArgument
from keysvc.mail import (
    InvalidSmtpUrl,
    MaildirTransport,
    MailTransport,
    OutboxSender,
    transport_from_url,
)
from keysvc.observability.metrics import ServiceMetrics
from keysvc.persistence.data_folder import create_private_file, prepare_data_folder
from keysvc.persistence.database import (
    SQLITE_FILE_NAME,
    create_database_engine,
    sqlite_url_for,
)
from keysvc.persistence.schema_migrations import current_revision, head_revision, upgrade_database
from keysvc.persistence.server_secret_repository import shared_secret
from keysvc.service.authentication import Authenticator
from keysvc.service.closure_changes import reschedule_on_start
from keysvc.service.mutations import MutationRunner
from keysvc.service.products import ProductCatalogue
from keysvc.service.refusals import RefusalAudit
from keysvc.service.release import MailIdentity
from keysvc.service.retention import IdempotencyRetention
from keysvc.service.scheduled_release import ScheduledRelease
from keysvc.service.schedules import check_closure_run
from keysvc.service.signing_keys import SigningKeys, signing_passphrase
from keysvc.service.status_publication import StatusPublisher
from scheduler.calendar import BusinessCalendar, CalendarError, Closure, parse_closures_toml
from scheduler.clock import Clock
from scheduler.release_loop import ReleaseLoop

logger = logging.getLogger(__name__)

# Database work runs in these threads, off the event loop; a few suffice for SQLite's
# single writer and for a modest PostgreSQL pool.
DATABASE_THREADS = 8
# Release batches ReleaseDue runs side by side: on PostgreSQL one signs while another
# waits for the database (100,000 requests in half the time, docs/benchmarks.md B2);
# SQLite has one writer.
RELEASE_PARALLEL_BATCHES = {"sqlite": 1}
DEFAULT_RELEASE_PARALLEL_BATCHES = 2


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, with its schema at the current version.

    The embedded SQLite database migrates itself; a configured database (several
    replicas share it) is migrated deliberately with ``keysvc db upgrade``, and
    the service refuses to start on an outdated schema.
    """
    if settings.database_url is None:
        engine = create_database_engine(_embedded_database_url(settings.data_dir))
        upgrade_database(engine)
        return engine
    engine = create_database_engine(settings.database_url)
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        engine.dispose()
        raise ConfigError(
            f"database schema is at revision {revision or 'none'}, this keysvc needs {head}: "
            "run `keysvc db upgrade`"
        )
    return engine


def migrate_database(settings: Settings) -> tuple[str | None, str]:
    """Upgrades the configured database to the current schema; returns (before, after)."""
    url = settings.database_url or _embedded_database_url(settings.data_dir)
    engine = create_database_engine(url)
    try:
        before = current_revision(engine)
        upgrade_database(engine)
        return before, head_revision()
    finally:
        engine.dispose()


def _embedded_database_url(data_dir: Path) -> str:
    """The SQLite database's URL, its folder and file made owner-only first."""
    prepare_data_folder(data_dir)
    create_private_file(data_dir / SQLITE_FILE_NAME)
    return sqlite_url_for(data_dir)


@dataclass(frozen=True)
class Services:
    """Everything the servicers need, built once per process."""

    engine: Engine
    executor: ThreadPoolExecutor
    authenticator: Authenticator
    auth_watch: AuthWatch
    runner: Runner
    signing_keys: SigningKeys
    clock: Clock
    calendar: BusinessCalendar
    mail: MailIdentity
    outbox_sender: OutboxSender
    release_loop: ReleaseLoop
    products: ProductCatalogue
    page_tokens: PageTokens
    metrics: ServiceMetrics
    # None when remembered calls are kept forever.
    idempotency_retention: IdempotencyRetention | None
    # The base of the status lists' URIs written into keys; None: keys carry no status.
    status_base_url: str | None
    status_publisher: StatusPublisher

    def close(self) -> None:
        """Waits for database work in flight, then closes the connections."""
        self.executor.shutdown()
        self.engine.dispose()


def build_services(settings: Settings, clock: Clock) -> Services:
    """Opens the database, makes sure a signing key exists, reads the products, and wires
    the parts."""
    # A malformed SMTP URL or calendar file stops the start rather than every request.
    transport = mail_transport(settings)
    calendar = business_calendar(settings)
    engine = open_database(settings)
    try:
        signing_keys = SigningKeys(
            engine, signing_passphrase(settings), clock, alg=settings.signing_alg
        )
        signing_keys.ensure_active_key()
        with engine.begin() as connection:
            # Decrypt now: a wrong passphrase stops the start instead of the first release.
            signing_keys.key_ring(connection)
            products = ProductCatalogue()
            products.load(connection)
            page_tokens = PageTokens(shared_secret(connection, PAGE_TOKEN_SECRET, clock.now()))
        reschedule_waiting_on_start(engine, calendar, clock.now())
    except UnknownPolicy as error:
        engine.dispose()
        raise ConfigError(f"the products table: {error}") from error
    except BaseException:
        engine.dispose()
        raise
    executor = ThreadPoolExecutor(max_workers=DATABASE_THREADS, thread_name_prefix="keysvc-db")
    status_base_url = settings.status_uri_base()
    mail = MailIdentity(settings.mail_from, settings.mail_domain)
    metrics = ServiceMetrics()
    metrics.watch_backlog(engine, clock)
    return Services(
        engine=engine,
        executor=executor,
        authenticator=Authenticator(engine),
        auth_watch=AuthWatch(
            FailureLimiter(
                settings.auth_failure_limit,
                settings.auth_failure_window_seconds,
                settings.auth_block_seconds,
            ),
            metrics,
            RefusalAudit(engine, clock).record,
            executor,
        ),
        runner=Runner(engine, executor, MutationRunner(engine, clock)),
        signing_keys=signing_keys,
        clock=clock,
        calendar=calendar,
        mail=mail,
        outbox_sender=OutboxSender(engine, transport, clock),
        release_loop=ReleaseLoop(
            ScheduledRelease(
                engine,
                signing_keys,
                mail,
                clock,
                batch_size=settings.release_batch_size,
                calendar=calendar,
                on_batch=metrics.record_release_batch,
                status_base_url=status_base_url,
            ),
            parallel_batches=RELEASE_PARALLEL_BATCHES.get(
                engine.dialect.name, DEFAULT_RELEASE_PARALLEL_BATCHES
            ),
        ),
        products=products,
        page_tokens=page_tokens,
        metrics=metrics,
        idempotency_retention=(
            IdempotencyRetention(engine, clock, settings.idempotency_retention_days)
            if settings.idempotency_retention_days
            else None
        ),
        status_base_url=status_base_url,
        status_publisher=StatusPublisher(engine, signing_keys, clock),
    )


def business_calendar(settings: Settings) -> BusinessCalendar:
    """The configured cutoff and opening (JST), the Dec 29 - Jan 3 closure, and the
    closures of KEYSVC_CALENDAR_FILE; closures from the database are added per request."""
    closures: list[Closure] = []
    if settings.calendar_file is not None:
        try:
            closures = parse_closures_toml(settings.calendar_file.read_text(encoding="utf-8"))
        except (OSError, CalendarError) as error:
            raise ConfigError(f"KEYSVC_CALENDAR_FILE {settings.calendar_file}: {error}") from error
    calendar = BusinessCalendar(closures, cutoff=settings.cutoff, opening=settings.opening)
    for closure in calendar.closures:
        try:
            check_closure_run(calendar, closure)
        except InvalidArgument as error:
            raise ConfigError(
                f"KEYSVC_CALENDAR_FILE {settings.calendar_file}: {error.message}"
            ) from error
    return calendar


def reschedule_waiting_on_start(engine: Engine, calendar: BusinessCalendar, now: datetime) -> None:
    """Moves waiting requests to the calendar this process runs with, when it is not
    the one they were scheduled with (file, cutoff and opening may have changed
    since the last start); a calendar leaving one of them no business day stops
    the start."""
    try:
        outcome = reschedule_on_start(engine, calendar, now)
    except FailedPrecondition as error:
        raise ConfigError(
            f"the business calendar cannot schedule a waiting request: {error}"
        ) from error
    if outcome is not None:
        logger.info(
            "the calendar changed: rescheduled the waiting key requests",
            extra={"moved": outcome.moved, "at_risk": outcome.at_risk},
        )


def mail_transport(settings: Settings) -> MailTransport:
    """SMTP when KEYSVC_SMTP_URL is set, else the Maildir ``<data-dir>/mail/``."""
    if settings.smtp_url is None:
        prepare_data_folder(settings.data_dir)
        return MaildirTransport(settings.data_dir / "mail")
    try:
        return transport_from_url(settings.smtp_url)
    except InvalidSmtpUrl as error:
        raise ConfigError(f"KEYSVC_SMTP_URL: {error}") from error
