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
3. **record** each outcome in its own short transaction, right after the
   message: SENT; or the error and the next attempt after an exponential
   backoff (30 s, 1 min, 2 min … capped at 1 h); or FAILED after
   ``max_attempts`` or a permanent refusal.

Guarantee: **at least once, recognisably**. A crash after a message was
delivered and before it was recorded leaves it QUEUED; when the lease runs
out a sender delivers it again — the same stored bytes, so the same
``Message-ID`` (``<keysvc.{key request id}@domain>``) for the recipient to
recognise (and the Maildir transport skips it). In normal operation nothing is
sent twice: a sender stops starting deliveries once half the lease has passed,
so a claim never runs out while its sender still works on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import Engine

from keysvc.persistence.outbox_repository import (
    DEFAULT_LEASE,
    OutboxItem,
    claim_due,
    mark_failed_attempt,
    mark_sent,
)
from scheduler.clock import Clock
from scheduler.loop import run_batches
from scheduler.mail.compose import ComposedMail
from scheduler.mail.errors import DeliveryError, PermanentDeliveryError
from scheduler.mail.transports import MailSession, MailTransport

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_FIRST_RETRY_DELAY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_RETRY_DELAY",
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
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not timedelta(0) < first_retry_delay <= max_retry_delay:
            raise ValueError("retry delays must satisfy 0 < first_retry_delay <= max_retry_delay")
        if lease <= timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        self._engine = engine
        self._transport = transport
        self._clock = clock
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self._first_retry_delay = first_retry_delay
        self._max_retry_delay = max_retry_delay
        self._lease = lease

    def send_due(self) -> int:
        """Sends one batch of due messages; returns how many were delivered."""
        return self.send_batch().sent

    def send_batch(self) -> BatchReport:
        """Claims, delivers and records one batch; returns what happened.

        A failure to deliver is recorded, never raised. A database error is
        raised: the messages it concerns stay QUEUED and are retried when
        their lease runs out.
        """
        claimed_at = self._clock.now()
        with self._engine.begin() as connection:
            items = claim_due(connection, claimed_at, self.batch_size, lease=self._lease)
        if not items:
            return BatchReport()
        # Past this instant a delivery might outlive the lease and race another sender.
        deadline = claimed_at + self._lease / 2
        sent = retrying = gave_up = 0
        with contextlib.ExitStack() as stack:
            try:
                session: MailSession = stack.enter_context(self._transport.session())
            except Exception as error:  # any failure to open fails the whole batch
                for item in items:
                    if self._record_failure(item, error):
                        gave_up += 1
                    else:
                        retrying += 1
                return BatchReport(claimed=len(items), retrying=retrying, gave_up=gave_up)
            for index, item in enumerate(items):
                if self._clock.now() >= deadline:
                    deferred = len(items) - index
                    logger.warning(
                        "half the outbox lease has passed; leaving the rest of the batch",
                        extra={"deferred": deferred},
                    )
                    return BatchReport(len(items), sent, retrying, gave_up, deferred)
                try:
                    session.deliver(ComposedMail(item.message_id, item.recipient, item.message))
                except Exception as error:  # recorded: one bad message must not stop the batch
                    if self._record_failure(item, error):
                        gave_up += 1
                    else:
                        retrying += 1
                    continue
                self._record_sent(item)
                sent += 1
        return BatchReport(claimed=len(items), sent=sent, retrying=retrying, gave_up=gave_up)

    def _record_sent(self, item: OutboxItem) -> None:
        with self._engine.begin() as connection:
            changed = mark_sent(connection, item.id, self._clock.now())
        if changed:
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
) -> None:
    """Runs ``sender`` batch after batch in a worker thread until ``stop`` is set.

    Waits ``interval`` seconds between batches, except after a full batch
    (more may be due). Setting ``stop`` ends the loop once the current batch
    is done; cancelling the task also waits for the batch, which cannot be
    interrupted halfway, and then re-raises. A batch that raises (database
    down) is logged and the loop goes on.
    """

    def batch() -> bool:
        report = sender.send_batch()
        return report.claimed >= sender.batch_size and report.deferred == 0

    await run_batches(batch, stop, interval=interval, executor=executor, name="outbox")
