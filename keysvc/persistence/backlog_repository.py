"""What is waiting in the database: the figures an operator alerts on.

Overdue key requests break the support terms' promise; HELD ones wait for
staff; queued and failed e-mails are keys that have not reached their
customers. Each figure is read through an index that starts with ``state``
(``ix_key_requests_due``, ``ix_mail_outbox_pending``), so it costs the rows it
counts — few, when all is well — not the size of the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from keysvc.domain.lifecycle import OPEN_STATES, KeyRequestKind, KeyRequestState
from keysvc.persistence.schema import key_requests, mail_outbox


@dataclass(frozen=True, slots=True)
class Backlog:
    """The database's waiting work at one instant."""

    # PENDING requests whose release time has come: the release loop is behind or down.
    overdue_requests: int
    # The earliest release time among them; None when there are none.
    oldest_overdue_release_at: datetime | None
    # HELD requests: each waits for staff to approve or reject it.
    held_requests: int
    # E-mails not yet delivered (first attempts, retries and those being sent).
    queued_mails: int
    # When the oldest of them was queued; None when there are none.
    oldest_queued_at: datetime | None
    # E-mails given up on after their last attempt.
    failed_mails: int
    # Replacement keys of a withdrawn signing key's licenses not yet released.
    waiting_replacements: int = 0


def read_backlog(connection: Connection, now: datetime) -> Backlog:
    """Counts the waiting work as of `now`."""
    overdue, oldest_release = connection.execute(
        select(func.count(), func.min(key_requests.c.release_at)).where(
            key_requests.c.state == KeyRequestState.PENDING, key_requests.c.release_at <= now
        )
    ).one()
    held = connection.execute(
        select(func.count()).where(key_requests.c.state == KeyRequestState.HELD)
    ).scalar_one()
    queued, oldest_queued = connection.execute(
        select(func.count(), func.min(mail_outbox.c.created_at)).where(
            mail_outbox.c.state == "QUEUED"
        )
    ).one()
    failed = connection.execute(
        select(func.count()).where(mail_outbox.c.state == "FAILED")
    ).scalar_one()
    replacements = connection.execute(
        select(func.count()).where(
            key_requests.c.kind == KeyRequestKind.REPLACEMENT,
            key_requests.c.state.in_(OPEN_STATES),
        )
    ).scalar_one()
    return Backlog(
        overdue_requests=int(overdue),
        oldest_overdue_release_at=oldest_release,
        held_requests=int(held),
        queued_mails=int(queued),
        oldest_queued_at=oldest_queued,
        failed_mails=int(failed),
        waiting_replacements=int(replacements),
    )
