"""The backlog an operator alerts on, read from SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keysvc.persistence.backlog_repository import Backlog, read_backlog
from keysvc.persistence.schema import contracts, key_requests, mail_outbox

from .rows import NOW, contract, key_request


def outbox_row(request_id: str, state: str, created_at: Any) -> dict[str, Any]:
    return {
        "key_request_id": request_id,
        "message_id": f"<keysvc.{request_id}@keysvc.invalid>",
        "recipient": "it@example.co.jp",
        "message": b"Subject: key\r\n\r\nkey\r\n",
        "state": state,
        "attempts": 1,
        "next_attempt_at": created_at,
        "created_at": created_at,
    }


def test_an_empty_database_has_no_backlog(engine):
    with engine.connect() as connection:
        assert read_backlog(connection, NOW) == Backlog(0, None, 0, 0, None, 0)


def test_counts_what_waits_past_its_time_and_for_whom(engine):
    hour = timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(contracts.insert(), [contract(f"C-{n}") for n in range(1, 8)])
        connection.execute(
            key_requests.insert(),
            [
                # Overdue: PENDING, released an hour and a minute ago by the calendar.
                key_request("kr-late-1", "C-1", release_at=NOW - hour),
                key_request("kr-late-2", "C-2", release_at=NOW - timedelta(minutes=1)),
                # Due exactly now counts: the loop should be releasing it.
                key_request("kr-now", "C-3", release_at=NOW),
                # Not yet due, HELD, REJECTED: not overdue.
                key_request("kr-later", "C-4", release_at=NOW + hour),
                key_request("kr-held", "C-5", state="HELD", hold_reason="SUPPORT_EXPIRED"),
                key_request("kr-rejected", "C-6", state="REJECTED", release_at=NOW - 2 * hour),
                key_request("kr-mail", "C-7", state="HELD", hold_reason="RELEASE_FAILED"),
            ],
        )
        connection.execute(
            mail_outbox.insert(),
            [
                outbox_row("kr-late-1", "QUEUED", NOW - 3 * hour),
                outbox_row("kr-late-2", "QUEUED", NOW - hour),
                outbox_row("kr-now", "SENT", NOW - 5 * hour),
                outbox_row("kr-later", "FAILED", NOW - 9 * hour),
            ],
        )
    with engine.connect() as connection:
        backlog = read_backlog(connection, NOW)
    assert backlog == Backlog(
        overdue_requests=3,
        oldest_overdue_release_at=NOW - hour,
        held_requests=2,
        queued_mails=2,
        oldest_queued_at=NOW - 3 * hour,
        failed_mails=1,
    )


def test_the_same_requests_are_not_overdue_before_their_time(engine):
    with engine.begin() as connection:
        connection.execute(contracts.insert(), contract("C-1"))
        connection.execute(key_requests.insert(), key_request("kr-1", "C-1", release_at=NOW))
    with engine.connect() as connection:
        assert read_backlog(connection, NOW - timedelta(seconds=1)).overdue_requests == 0
        assert read_backlog(connection, NOW).overdue_requests == 1
