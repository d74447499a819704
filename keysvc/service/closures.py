"""Use cases of company closures: each change reschedules every waiting request."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection

from keysvc.errors import NotFound
from keysvc.persistence.closure_repository import (
    ClosureRecord,
    add_closure,
    list_closures,
    remove_closure,
)
from keysvc.persistence.key_request_repository import reschedule, waiting_requests
from keysvc.service.schedules import check_closure_run, reschedule_of
from scheduler.calendar import BusinessCalendar, Closure


def create_closure(
    connection: Connection, closure: Closure, calendar: BusinessCalendar, now: datetime
) -> tuple[ClosureRecord, int]:
    """Stores a closure; returns it and how many waiting requests are now at risk.

    Refused (`InvalidArgument`, ``CLOSURES_TOO_LONG``) when it would chain with the
    closures in place into more than a year of closed days, and (`FailedPrecondition`)
    when it would leave a waiting request no business day at all.
    """
    current = current_calendar(connection, calendar)
    check_closure_run(current.with_closures((*current.closures, closure)), closure)
    record = ClosureRecord(uuid.uuid4().hex, closure)
    add_closure(connection, record, now)
    return record, reschedule_waiting(connection, calendar)


def delete_closure(
    connection: Connection, closure_id: str, calendar: BusinessCalendar
) -> ClosureRecord:
    """Removes a closure and reschedules the waiting requests; `NotFound` if unknown."""
    record = remove_closure(connection, closure_id)
    if record is None:
        raise NotFound(f"closures/{closure_id}", reason="CLOSURE_NOT_FOUND")
    reschedule_waiting(connection, calendar)
    return record


def current_calendar(connection: Connection, calendar: BusinessCalendar) -> BusinessCalendar:
    """The configured calendar (with its file closures) plus the closures in the database."""
    return calendar.with_closures((*calendar.closures, *list_closures(connection)))


def reschedule_waiting(connection: Connection, calendar: BusinessCalendar) -> int:
    """Recomputes the release time of every waiting request under the current closures.

    Due dates stay (they are the promise); a request whose release now falls
    after its due date is flagged at risk. Returns how many are at risk.
    """
    current = current_calendar(connection, calendar)
    at_risk = 0
    for request in waiting_requests(connection):
        new = reschedule_of(current, request.id, request.accepted_at, request.due_date)
        at_risk += new.at_risk
        if (new.release_time, new.at_risk) != (request.release_at, request.at_risk):
            reschedule(connection, request.id, new.release_time, at_risk=new.at_risk)
    return at_risk
