"""The outbox sender: delivers queued messages, retries with backoff, gives up at last.

One batch (`OutboxSender.send_batch`) goes:

1. **claim** — one short transaction (`claim_due`): up to ``batch_size`` due
   QUEUED messages get one more attempt and a *lease* (``next_attempt_at =
   now + lease``), and the transaction commits. Another sender, in this
   process or another replica, no longer sees them as due.
2. **deliver** each message through one transport session (one SMTP
   connection), outside any database transaction: an SMTP conversation
   cannot be rolled back, and a transaction held open across network calls
   would block every other writer (all of them, on SQLite).
3. **record** the outcomes in short transactions: delivered messages are
   marked SENT in groups — the session's ``flush`` makes a group durable
   (the Maildir syncs its file system once for the group), then one
   transaction (`mark_sent_many`) marks it, per ``sent_marks_per_commit``
   (10) delivered messages, and for the rest when the batch ends; a flush
   that fails is a failed attempt for each message of its group; a failed
   message gets its error and the next attempt after an exponential
   backoff (30 s, 1 min, 2 min … capped at 1 h), or
   FAILED after ``max_attempts`` or a permanent refusal, in a transaction of
   its own (after the SENT marks waiting before it).

Guarantee: **at least once, recognisably**. A crash after a message was
delivered and before it was recorded leaves it QUEUED; when the lease runs
out a sender delivers it again — the same stored bytes, so the same
``Message-ID`` (``<keysvc.{key request id}@domain>``) for the recipient to
recognise (and the Maildir transport skips it). As SENT marks are grouped, a
crash re-sends at most ``sent_marks_per_commit`` messages. In normal operation
nothing is sent twice: a sender stops starting deliveries once half the lease
has passed, so a claim never runs out while its sender still works on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine

from keysvc.mail.compose import ComposedMail
from keysvc.mail.errors import DeliveryError, PermanentDeliveryError
from keysvc.mail.transports import MailSession, MailTransport
from keysvc.persistence.outbox_repository import (
    DEFAULT_LEASE,
    OutboxItem,
    claim_due,
    mark_failed_attempt,
    mark_sent_many,
)
from scheduler.clock import Clock
from scheduler.loop import run_batches

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_FIRST_RETRY_DELAY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_RETRY_DELAY",
    "DEFAULT_SENT_MARKS_PER_COMMIT",
    "BatchReport",
    "OutboxSender",
    "retry_delay",
    "run_sender",
]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE: Final = 50
# 8 attempts with the default backoff span about an hour (30 s + 1 + 2 + 4 + 8 + 16 + 32 min):
# long enough to ride out a mail server restart, short enough to alert the same day.
DEFAULT_MAX_ATTEMPTS: Final = 8
DEFAULT_FIRST_RETRY_DELAY: Final = timedelta(seconds=30)
DEFAULT_MAX_RETRY_DELAY: Final = timedelta(hours=1)
# Delivered messages recorded SENT per transaction. A transaction per message
# cost more than the SMTP exchange itself (benchmark B3); 10 makes it a tenth,
# and a crash then re-sends at most 10 messages (same Message-ID) instead of 1.
DEFAULT_SENT_MARKS_PER_COMMIT: Final = 10
# Doubling more often than this exceeds any sensible cap anyway (and 2**n stays small).
_MAX_DOUBLINGS: Final = 30


def retry_delay(
    attempts: int,
    *,
    first: timedelta = DEFAULT_FIRST_RETRY_DELAY,
    cap: timedelta = DEFAULT_MAX_RETRY_DELAY,
) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``first``, doubling, at most ``cap``.

    >>> [str(retry_delay(n)) for n in (1, 2, 3, 8, 9)]
    ['0:00:30', '0:01:00', '0:02:00', '1:00:00', '1:00:00']
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    return min(first * (1 << min(attempts - 1, _MAX_DOUBLINGS)), cap)


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What one batch did.

    ``claimed`` = ``sent`` + ``retrying`` + ``gave_up`` + ``deferred``, where
    ``deferred`` messages were claimed but not tried because half the lease
    had passed; they are tried again when the lease runs out.
    """

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    deferred: int = 0


@dataclass(slots=True)
class _Tally:
    """A batch's outcomes so far."""

    sent: int = 0
    retrying: int = 0
    gave_up: int = 0

    def failed(self, *, gave_up: bool) -> None:
        """Counts a failed attempt: given up on, or to be retried."""
        if gave_up:
            self.gave_up += 1
        else:
            self.retrying += 1

    def report(self, *, claimed: int, deferred: int = 0) -> BatchReport:
        """The batch's report: these outcomes out of `claimed` messages."""
        return BatchReport(claimed, self.sent, self.retrying, self.gave_up, deferred)


class OutboxSender:
    """Delivers the outbox's due messages through a transport, one batch per call.

    Safe to run in several threads or processes at once, each with its own
    instance (claims never overlap); one instance serves one thread at a time.
    Blocking: run it in a worker thread from async code (`run_sender`).
    """

    def __init__(
        self,
        engine: Engine,
        transport: MailTransport,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        first_retry_delay: timedelta = DEFAULT_FIRST_RETRY_DELAY,
        max_retry_delay: timedelta = DEFAULT_MAX_RETRY_DELAY,
        lease: timedelta = DEFAULT_LEASE,
        sent_marks_per_commit: int = DEFAULT_SENT_MARKS_PER_COMMIT,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not timedelta(0) < first_retry_delay <= max_retry_delay:
            raise ValueError("retry delays must satisfy 0 < first_retry_delay <= max_retry_delay")
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        if sent_marks_per_commit < 1:
            raise ValueError(
                f"sent_marks_per_commit must be at least 1, got {sent_marks_per_commit}"
            )
        self._engine = engine
        self._transport = transport
        self._clock = clock
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self._first_retry_delay = first_retry_delay
        self._max_retry_delay = max_retry_delay
        self._lease = lease
        self.sent_marks_per_commit = sent_marks_per_commit

    def send_due(self) -> int:
        """Sends one batch of due messages; returns how many were delivered."""
        return self.send_batch().sent

    def send_batch(self) -> BatchReport:
        """Claims, delivers and records one batch; returns what happened.

        A failure to deliver is recorded, never raised. A database error is
        raised: the messages it concerns stay QUEUED and are retried when
        their lease runs out. Delivered messages are flushed (made durable by
        the session) and marked SENT in groups of ``sent_marks_per_commit``,
        before a failure is recorded, and at the end of the batch; an exception
        leaving the batch still tries to flush and mark those delivered so far
        (a crash, which runs no code, leaves them QUEUED).
        """
        claimed_at = self._clock.now()
        with self._engine.begin() as connection:
            items = claim_due(connection, claimed_at, self.batch_size, lease=self._lease)
        if not items:
            return BatchReport()
        # Past this instant a delivery might outlive the lease and race another sender.
        deadline = claimed_at + self._lease / 2
        with contextlib.ExitStack() as stack:
            try:
                session: MailSession = stack.enter_context(self._transport.session())
            except Exception as error:  # any failure to open fails the whole batch
                tally = _Tally()
                for item in items:
                    tally.failed(gave_up=self._record_failure(item, error))
                return tally.report(claimed=len(items))
            return self._deliver(session, items, deadline)

    def _deliver(
        self, session: MailSession, items: list[OutboxItem], deadline: datetime
    ) -> BatchReport:
        tally = _Tally()
        unrecorded: list[OutboxItem] = []  # delivered, not yet flushed and marked SENT
        try:
            for index, item in enumerate(items):
                if self._clock.now() >= deadline:
                    deferred = len(items) - index
                    logger.warning(
                        "half the outbox lease has passed; leaving the rest of the batch",
                        extra={"deferred": deferred},
                    )
                    self._settle(session, unrecorded, tally)
                    return tally.report(claimed=len(items), deferred=deferred)
                try:
                    session.deliver(ComposedMail(item.message_id, item.recipient, item.message))
                except Exception as error:  # recorded: one bad message must not stop the batch
                    # The deliveries before it go first: records and log lines keep their order.
                    self._settle(session, unrecorded, tally)
                    tally.failed(gave_up=self._record_failure(item, error))
                    continue
                unrecorded.append(item)
                if len(unrecorded) >= self.sent_marks_per_commit:
                    self._settle(session, unrecorded, tally)
            # Before the session closes: QUIT may take a while, the marks need not wait.
            self._settle(session, unrecorded, tally)
        except Exception:
            if unrecorded:
                self._settle_after_error(session, unrecorded)
            raise
        return tally.report(claimed=len(items))

    def _settle(self, session: MailSession, unrecorded: list[OutboxItem], tally: _Tally) -> None:
        """Flushes the session, then marks what it delivered SENT; when the flush fails,
        each of those messages is a failed attempt instead."""
        if not unrecorded:
            return
        try:
            session.flush()
        except Exception as error:  # the messages may be lost: try them again later
            failed = list(unrecorded)
            unrecorded.clear()
            for item in failed:
                tally.failed(gave_up=self._record_failure(item, error))
            return
        delivered = len(unrecorded)
        self._record_sent(unrecorded)
        tally.sent += delivered

    def _record_sent(self, unrecorded: list[OutboxItem]) -> None:
        """Marks the delivered messages SENT in one transaction, logs each, empties the list."""
        if not unrecorded:
            return
        with self._engine.begin() as connection:
            marked = mark_sent_many(connection, [item.id for item in unrecorded], self._clock.now())
        for item in unrecorded:
            if item.id in marked:
                logger.info(
                    "license e-mail sent",
                    extra={
                        "key_request_id": item.key_request_id,
                        "message_id": item.message_id,
                        "attempts": item.attempts,
                    },
                )
            else:
                # Another sender took the message over after our lease ran out.
                logger.warning(
                    "license e-mail sent, but another sender had already recorded it",
                    extra={"key_request_id": item.key_request_id, "message_id": item.message_id},
                )
        unrecorded.clear()

    def _settle_after_error(self, session: MailSession, unrecorded: list[OutboxItem]) -> None:
        """Tries to flush and mark delivered messages SENT while an error ends the batch;
        never raises."""
        try:
            session.flush()
            self._record_sent(unrecorded)
        except Exception:
            logger.exception(
                "license e-mails sent but not recorded; they will be sent again "
                "(same Message-ID) when their lease runs out",
                extra={"message_ids": [item.message_id for item in unrecorded]},
            )

    def _record_failure(self, item: OutboxItem, error: Exception) -> bool:
        """Records a failed attempt; returns True when the message was given up on."""
        permanent = isinstance(error, PermanentDeliveryError)
        give_up = permanent or item.attempts >= self.max_attempts
        now = self._clock.now()
        delay = retry_delay(item.attempts, first=self._first_retry_delay, cap=self._max_retry_delay)
        text = (
            str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"
        )
        with self._engine.begin() as connection:
            mark_failed_attempt(
                connection,
                item.id,
                now=now,
                error=text,
                next_attempt_at=now + delay,
                give_up=give_up,
                claimed_attempts=item.attempts,
            )
        fields = {
            "key_request_id": item.key_request_id,
            "message_id": item.message_id,
            "attempts": item.attempts,
            "error": text,
        }
        if give_up:
            reason = "refused permanently" if permanent else "out of attempts"
            logger.error("license e-mail FAILED (%s); not retrying", reason, extra=fields)
        else:
            logger.warning(
                "license e-mail not delivered; will retry",
                extra=fields | {"retry_in_seconds": delay.total_seconds()},
                # A transport's own errors say it all; anything else is a bug worth a traceback.
                exc_info=not isinstance(error, DeliveryError),
            )
        return give_up


async def run_sender(
    sender: OutboxSender,
    stop: asyncio.Event,
    interval: float = 2.0,
    executor: Executor | None = None,
    on_report: Callable[[BatchReport], None] | None = None,
    *,
    outage: Callable[[Exception], bool] = lambda _error: False,
) -> None:
    """Runs ``sender`` batch after batch in a worker thread until ``stop`` is set.

    Waits ``interval`` seconds between batches, except after a full batch
    (more may be due). Setting ``stop`` ends the loop once the current batch
    is done; cancelling the task also waits for the batch, which cannot be
    interrupted halfway, and then re-raises. A batch that raises (database
    down) is logged and the loop goes on (``outage``: see `run_batches`).
    `on_report` hears what each batch did.
    """

    def batch() -> bool:
        report = sender.send_batch()
        if on_report is not None:
            on_report(report)
        return report.claimed >= sender.batch_size and report.deferred == 0

    await run_batches(
        batch, stop, interval=interval, executor=executor, name="outbox", outage=outage
    )
