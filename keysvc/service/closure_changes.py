"""Use cases of company closures: each change reschedules every waiting request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from keysvc.domain import policy_for
from keysvc.domain.errors import NotFound
from keysvc.domain.records import ClosureRecord
from keysvc.persistence.calendar_state_repository import (
    locked_schedule_fingerprint,
    store_schedule_fingerprint,
)
from keysvc.persistence.closure_repository import add_closure, list_closures, remove_closure
from keysvc.persistence.contract_repository import product_policy_names
from keysvc.persistence.key_request_repository import (
    open_overlaps,
    reschedule,
    set_supersede_times,
    waiting_schedules,
)
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
    return record, reschedule_waiting(connection, calendar, now).at_risk


def delete_closure(
    connection: Connection, closure_id: str, calendar: BusinessCalendar, now: datetime
) -> ClosureRecord:
    """Removes a closure and reschedules the waiting requests and open overlaps;
    `NotFound` if unknown."""
    record = remove_closure(connection, closure_id)
    if record is None:
        raise NotFound(f"closures/{closure_id}", reason="CLOSURE_NOT_FOUND")
    reschedule_waiting(connection, calendar, now)
    return record


def current_calendar(connection: Connection, calendar: BusinessCalendar) -> BusinessCalendar:
    """The configured calendar (with its file closures) plus the closures in the database."""
    return calendar.with_closures((*calendar.closures, *list_closures(connection)))


@dataclass(frozen=True, slots=True)
class Rescheduled:
    """What a reschedule did: requests whose release time moved, and how many are at risk."""

    moved: int
    at_risk: int


def reschedule_waiting(
    connection: Connection, calendar: BusinessCalendar, now: datetime
) -> Rescheduled:
    """Recomputes the release time of every waiting request under the current closures,
    and the end of every re-issue overlap still open at `now`.

    Due dates stay (they are the promise); a request whose release now falls
    after its due date is flagged at risk, and one brought back before it is no
    longer. An overlap that has ended stays ended: its key is superseded already.
    The result depends only on the calendar and the stored instants, so running
    it again (another replica) changes nothing.
    """
    current = current_calendar(connection, calendar)
    moved = at_risk = 0
    changed: list[tuple[str, datetime, bool]] = []
    for request in waiting_schedules(connection):
        new = reschedule_of(current, request.id, request.accepted_at, request.due_date)
        at_risk += new.at_risk
        moved += new.release_time != request.release_at
        if (new.release_time, new.at_risk) != (request.release_at, request.at_risk):
            changed.append((request.id, new.release_time, new.at_risk))
    reschedule(connection, changed)
    _reschedule_overlaps(connection, current, now)
    return Rescheduled(moved=moved, at_risk=at_risk)


def _reschedule_overlaps(connection: Connection, current: BusinessCalendar, now: datetime) -> None:
    overlaps = open_overlaps(connection, now)
    if not overlaps:
        return
    policies = product_policy_names(connection)
    ends = {}
    for overlap in overlaps:
        days = policy_for(policies[overlap.product_code]).reissue_overlap_business_days
        # Never before now: the key would stop working in the past, unannounced.
        end = max(current.opening_after_business_days(overlap.successor_issued_at, days), now)
        if end != overlap.supersede_at:
            ends[overlap.serial] = end
    set_supersede_times(connection, ends)


def reschedule_on_start(
    engine: Engine, calendar: BusinessCalendar, now: datetime
) -> Rescheduled | None:
    """Brings every waiting request in line with the calendar this process starts with,
    unless it is the calendar they were last scheduled with (then None).

    The calendar file, the cutoff and the opening (and the holiday data, with a
    new release of it) may have changed while no process ran; closures added
    through the API reschedule at once, these only here. One transaction:
    replicas starting together take turns, and the later ones find the
    calendar already recorded. Raises `FailedPrecondition` when the calendar
    leaves a waiting request no business day (and records nothing).
    """
    fingerprint = calendar.schedule_fingerprint()
    with engine.begin() as connection:
        if locked_schedule_fingerprint(connection, now) == fingerprint:
            return None
        outcome = reschedule_waiting(connection, calendar, now)
        store_schedule_fingerprint(connection, fingerprint, now)
        return outcome
