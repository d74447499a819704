"""The mail outbox (``mail_outbox``): queue, claim, and record the outcome.

A transactional outbox: the release use case queues the license e-mail with
`queue_mails` in the same transaction that records the license, so a key is
never released without its e-mail nor an e-mail queued for a key that was
rolled back. A sender (`keysvc.mail.OutboxSender`) then delivers it:

1. `claim_due` — one short transaction: take due QUEUED rows, count the
   attempt and move ``next_attempt_at`` a *lease* ahead, then commit. The rows
   are out of the due set for everyone else until the lease runs out.
2. deliver, outside any transaction (an SMTP conversation cannot be rolled back).
3. `mark_sent_many` for a group of delivered messages (one short transaction
   per group), or `mark_failed_attempt` for one that failed.

A sender that crashes between 2 and 3 leaves its rows QUEUED; when the lease
runs out another sender delivers them again, with the same Message-ID. That
is the guarantee: at least once, and recognisably the same message. (How many
messages a crash can re-send is the sender's choice: as many as it delivers
before recording them.)

On PostgreSQL the claim reads with ``FOR UPDATE SKIP LOCKED``, so concurrent
senders each take different rows without waiting; SQLite admits one writer
at a time (``BEGIN IMMEDIATE``), which serialises claims by itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from sqlalchemy import Connection, and_, bindparam, func, select, update

from keysvc.domain.records import MailDeliveryRecord
from keysvc.persistence.driver_statement import DriverInsert, DriverStatement
from keysvc.persistence.schema import mail_outbox

__all__ = [
    "DEFAULT_LEASE",
    "MAX_ERROR_LENGTH",
    "OutboxEntry",
    "OutboxItem",
    "QueueableMail",
    "claim_due",
    "delivery_state",
    "delivery_states",
    "find_outbox_entry",
    "list_mail_deliveries",
    "mail_count",
    "mark_failed_attempt",
    "mark_sent",
    "mark_sent_many",
    "queue_mails",
]

# How long a claim keeps a message from other senders. It must outlast one
# message's delivery by far (the SMTP transport's timeouts are 30 s per
# command); the sender stops starting new deliveries halfway through it.
DEFAULT_LEASE: Final = timedelta(minutes=5)

# last_error is for operators; a server's multi-line reply is cut to this.
MAX_ERROR_LENGTH: Final = 1000

# The statements that every released key and every delivered message run are built
# once and run on the driver's cursor (`DriverStatement`).
_QUEUE_MAILS: Final = DriverInsert(
    mail_outbox,
    (
        "key_request_id",
        "message_id",
        "recipient",
        "message",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
    ),
)
_CLAIM_DUE: Final = DriverStatement(
    update(mail_outbox)
    .where(
        mail_outbox.c.id.in_(
            select(mail_outbox.c.id)
            .where(
                mail_outbox.c.state == "QUEUED",
                mail_outbox.c.next_attempt_at
                <= bindparam("due_at", type_=mail_outbox.c.next_attempt_at.type),
            )
            # The index's order (SQLite's indexes end with the rowid): a claim reads
            # its rows off ix_mail_outbox_pending instead of sorting every due row,
            # which with the morning's 100,000 queued (B2) was most of its cost.
            .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(
        attempts=mail_outbox.c.attempts + 1,
        next_attempt_at=bindparam("lease_end", type_=mail_outbox.c.next_attempt_at.type),
    )
    .returning(
        mail_outbox.c.id,
        mail_outbox.c.key_request_id,
        mail_outbox.c.message_id,
        mail_outbox.c.recipient,
        mail_outbox.c.message,
        mail_outbox.c.attempts,
    )
)
_MARK_SENT: Final = DriverStatement(
    update(mail_outbox)
    .where(
        mail_outbox.c.id.in_(bindparam("outbox_ids", expanding=True)),
        mail_outbox.c.state == "QUEUED",
    )
    .values(
        state="SENT",
        sent_at=bindparam("marked_at", type_=mail_outbox.c.sent_at.type),
        last_error=None,
    )
    .returning(mail_outbox.c.id),
    lists=("outbox_ids",),
)
# A key request has one e-mail today; should it get several, the one queued first
# (the lowest id) is the one its state reports, here and in `delivery_states`.
_DELIVERY_STATE: Final = DriverStatement(
    select(mail_outbox.c.state)
    .where(mail_outbox.c.key_request_id == bindparam("request_id"))
    # The latest: a resend staff asked for tells how the key reaches the customer now.
    .order_by(mail_outbox.c.id.desc())
    .limit(1)
)


class QueueableMail(Protocol):
    """What `queue_mails` needs of a composed message (`keysvc.mail.ComposedMail`)."""

    @property
    def message_id(self) -> str:
        """The Message-ID header value, with angle brackets."""
        ...

    @property
    def recipient(self) -> str:
        """The envelope recipient address."""
        ...

    @property
    def message(self) -> bytes:
        """The whole RFC 5322 message."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed message: what a transport needs to deliver it, and its attempt count.

    ``attempts`` already counts the attempt this claim is for.
    """

    id: int
    key_request_id: str
    message_id: str
    recipient: str
    message: bytes
    attempts: int

    def __repr__(self) -> str:
        # The message holds the license key; keep it out of logs and tracebacks.
        return (
            f"OutboxItem(id={self.id}, key_request_id={self.key_request_id!r}, "
            f"message_id={self.message_id!r}, attempts={self.attempts})"
        )


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A row of the outbox as operators see it (no message bytes)."""

    id: int
    key_request_id: str
    message_id: str
    recipient: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def queue_mails(connection: Connection, mails: Mapping[str, QueueableMail], now: datetime) -> None:
    """Queues each key request's composed message (key request id -> message) for
    delivery as soon as possible, in one statement.

    Call it inside the transaction that releases the key requests: a message is
    then sent if and only if that transaction commits. A second message for the
    same key request, or a reused Message-ID, violates a unique constraint
    (``IntegrityError``) and rolls the caller's transaction back.
    """
    if mails:
        _QUEUE_MAILS.run(
            connection,
            [
                {
                    "key_request_id": key_request_id,
                    "message_id": composed.message_id,
                    "recipient": composed.recipient,
                    "message": composed.message,
                    "state": "QUEUED",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for key_request_id, composed in mails.items()
            ],
        )


def claim_due(
    connection: Connection, now: datetime, limit: int, *, lease: timedelta = DEFAULT_LEASE
) -> list[OutboxItem]:
    """Claims up to ``limit`` QUEUED messages due at ``now``, longest due first (the
    order they were queued in, retries after their backoff).

    Each claimed row gets one more attempt and ``next_attempt_at = now + lease``,
    so once the caller commits no other sender takes it until the lease runs
    out. Commit right after claiming and before delivering: holding the
    transaction open would hold the rows (and on SQLite, the whole database).

    One statement, ``UPDATE … WHERE id IN (SELECT id … ORDER BY next_attempt_at, id
    LIMIT n FOR UPDATE SKIP LOCKED) RETURNING …``. PostgreSQL: rows another sender is
    claiming are skipped rather than waited for. SQLite ignores the clause; its
    ``BEGIN IMMEDIATE`` lets one claim run at a time.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if lease <= timedelta(0):
        raise ValueError(f"lease must be positive, got {lease}")
    rows = _CLAIM_DUE.rows(connection, {"due_at": now, "limit": limit, "lease_end": now + lease})
    # RETURNING gives the rows in no particular order; attempts is as updated, this
    # claim's attempt included.
    return sorted(
        (
            OutboxItem(id_, request_id, message_id, recipient, bytes(message), attempts)
            for id_, request_id, message_id, recipient, message, attempts in rows
        ),
        key=lambda item: item.id,
    )


def mark_sent(connection: Connection, outbox_id: int, now: datetime) -> bool:
    """Records that the message was delivered; False when it was no longer QUEUED.

    False means another sender got there first after this one's lease ran out
    (the message went out twice, with the same Message-ID); nothing is changed.
    """
    return outbox_id in mark_sent_many(connection, (outbox_id,), now)


def mark_sent_many(
    connection: Connection, outbox_ids: Collection[int], now: datetime
) -> frozenset[int]:
    """Records that these messages were delivered, in one statement; returns the ids marked.

    Only rows still QUEUED change (state SENT, ``sent_at = now``, ``last_error``
    cleared). An id missing from the result is one another sender recorded
    first — SENT, or FAILED — after this one's lease ran out: the message went
    out twice, with the same Message-ID, and its row is left as it is.

    One ``UPDATE … WHERE id IN (…) AND state = 'QUEUED' RETURNING id``
    (PostgreSQL; SQLite 3.35 or later).
    """
    if not outbox_ids:
        return frozenset()
    rows = _MARK_SENT.rows(connection, {"outbox_ids": list(outbox_ids), "marked_at": now})
    return frozenset(outbox_id for (outbox_id,) in rows)


def mark_failed_attempt(
    connection: Connection,
    outbox_id: int,
    *,
    now: datetime,
    error: str,
    next_attempt_at: datetime,
    give_up: bool,
    claimed_attempts: int | None = None,
) -> bool:
    """Records a failed delivery: the error, and when to try again or FAILED for good.

    ``now`` is when the attempt failed, and ``next_attempt_at`` may not be
    before it; it is kept even when giving up, for the record. With
    ``claimed_attempts`` (the `OutboxItem`'s ``attempts``) nothing changes if
    another sender has claimed the message since — its lease must not be cut
    short. Returns whether the row changed.
    """
    if next_attempt_at < now:
        raise ValueError(f"next attempt {next_attempt_at} is before the failure at {now}")
    conditions = [mail_outbox.c.id == outbox_id, mail_outbox.c.state == "QUEUED"]
    if claimed_attempts is not None:
        conditions.append(mail_outbox.c.attempts == claimed_attempts)
    result = connection.execute(
        update(mail_outbox)
        .where(and_(*conditions))
        .values(
            state="FAILED" if give_up else "QUEUED",
            next_attempt_at=next_attempt_at,
            last_error=error[:MAX_ERROR_LENGTH],
        )
    )
    return result.rowcount == 1


def delivery_state(connection: Connection, key_request_id: str) -> str | None:
    """``QUEUED``, ``SENT`` or ``FAILED`` for the key request's latest e-mail (its key
    e-mail, or the last resend); None if none was queued."""
    rows = _DELIVERY_STATE.rows(connection, {"request_id": key_request_id})
    return str(rows[0][0]) if rows else None


def delivery_states(connection: Connection, key_request_ids: Collection[str]) -> dict[str, str]:
    """The delivery state of each of the key requests' e-mails, in one query (a list's
    page); a request with none queued is absent. Like `delivery_state`, the e-mail
    queued last counts."""
    if not key_request_ids:
        return {}
    rows = connection.execute(
        select(mail_outbox.c.key_request_id, mail_outbox.c.state)
        .where(mail_outbox.c.key_request_id.in_(list(key_request_ids)))
        # Highest id last, so it is the one the dict keeps.
        .order_by(mail_outbox.c.id)
    )
    return {str(request_id): str(state) for request_id, state in rows}


def list_mail_deliveries(
    connection: Connection, *, limit: int, before: int | None, state: str | None
) -> list[MailDeliveryRecord]:
    """Outbox entries newest first (by id, so a page's position is one number), those
    with ids below `before` when given, optionally in one `state`; never the message."""
    query = select(
        mail_outbox.c.id,
        mail_outbox.c.key_request_id,
        mail_outbox.c.recipient,
        mail_outbox.c.state,
        mail_outbox.c.attempts,
        mail_outbox.c.next_attempt_at,
        mail_outbox.c.last_error,
        mail_outbox.c.created_at,
        mail_outbox.c.sent_at,
    )
    if before is not None:
        query = query.where(mail_outbox.c.id < before)
    if state is not None:
        query = query.where(mail_outbox.c.state == state)
    rows = connection.execute(query.order_by(mail_outbox.c.id.desc()).limit(limit))
    return [MailDeliveryRecord(**row._asdict()) for row in rows]


def find_outbox_entry(connection: Connection, key_request_id: str) -> OutboxEntry | None:
    """The outbox row of the key request's latest e-mail (its key e-mail or the last
    resend), without the message; None if none."""
    row = connection.execute(
        select(
            mail_outbox.c.id,
            mail_outbox.c.key_request_id,
            mail_outbox.c.message_id,
            mail_outbox.c.recipient,
            mail_outbox.c.state,
            mail_outbox.c.attempts,
            mail_outbox.c.next_attempt_at,
            mail_outbox.c.last_error,
            mail_outbox.c.created_at,
            mail_outbox.c.sent_at,
        )
        .where(mail_outbox.c.key_request_id == key_request_id)
        .order_by(mail_outbox.c.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return OutboxEntry(**row._asdict())


def mail_count(connection: Connection, key_request_id: str) -> int:
    """How many e-mails were queued for a key request (its key e-mail and resends)."""
    count: int = connection.execute(
        select(func.count()).where(mail_outbox.c.key_request_id == key_request_id)
    ).scalar_one()
    return count
