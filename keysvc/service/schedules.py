"""The release schedule as the service answers it: the calendar's refusals as ours.

`scheduler.calendar` raises `DateOutOfRange` for an instant too late (or too
early) for the years it knows — from Monday 2099-12-28 17:00 JST on, the next
business day would be in 2100 — and `NoBusinessDay` when configured closures
leave no business day up to its last day. Both are answers a client can act on,
never an INTERNAL error:

- an instant the client gave (``field``) that is out of range is an
  `InvalidArgument` naming the field, reason ``DATE_OUT_OF_RANGE``;
- anything else (closures in the way, or the service's own clock) is a
  `FailedPrecondition` with the calendar's reason, ``NO_BUSINESS_DAY`` or
  ``DATE_OUT_OF_RANGE``.

Closures themselves are kept from closing every day for more than a year in a
row (`check_closure_run`), so ``NO_BUSINESS_DAY`` only comes near 2099.
"""

from __future__ import annotations

from datetime import date, datetime

from keysvc.domain.errors import FailedPrecondition, InvalidArgument, KeysvcError
from scheduler.calendar import (
    MAX_CLOSURE_DAYS,
    BusinessCalendar,
    CalendarError,
    Closure,
    NoBusinessDay,
    Reschedule,
    Schedule,
    release_after_calendar_change,
)


def schedule_at(
    calendar: BusinessCalendar, accept: datetime, *, field: str | None = None
) -> Schedule:
    """``calendar.schedule(accept)``; ``field`` names the request field ``accept`` came from.

    Raises `InvalidArgument` (``field``, ``DATE_OUT_OF_RANGE``) or
    `FailedPrecondition` (``NO_BUSINESS_DAY``, or ``DATE_OUT_OF_RANGE`` for the
    service's own instants) instead of a calendar error.
    """
    try:
        return calendar.schedule(accept)
    except CalendarError as error:
        raise _refusal(error, field, {"accept_time": accept.isoformat()}) from error


def reschedule_of(
    calendar: BusinessCalendar, request_id: str, accepted_at: datetime, due_date: date
) -> Reschedule:
    """`release_after_calendar_change` for one waiting request.

    A calendar that leaves the request no release at all is a `FailedPrecondition`
    naming it (``metadata["key_request_id"]``), with the calendar's reason.
    """
    try:
        return release_after_calendar_change(accepted_at, due_date, calendar)
    except CalendarError as error:
        raise _refusal(
            error, None, {"key_request_id": request_id}, about=f"key request {request_id}: "
        ) from error


def check_closure_run(calendar: BusinessCalendar, closure: Closure) -> None:
    """Refuses ``closure`` when, in ``calendar`` (which holds it), closures chained with
    it close every day for more than `MAX_CLOSURE_DAYS` in a row.

    Closures are chained when only weekends, holidays or the year-end closure lie
    between them (`BusinessCalendar.closure_run`). Each closure is at most a year
    long; the run rule keeps several from adding up to years without a release.
    Raises `InvalidArgument` (``end_date``, reason ``CLOSURES_TOO_LONG``).
    """
    run = calendar.closure_run(closure.start)
    if run is None:
        return
    first, last = run
    days = (last - first).days + 1
    if days > MAX_CLOSURE_DAYS:
        raise InvalidArgument(
            "end_date",
            f"with the closures next to it, {closure.start}..{closure.end} would close every "
            f"day from {first} to {last} ({days} days, more than {MAX_CLOSURE_DAYS})",
            reason="CLOSURES_TOO_LONG",
            run_start=first.isoformat(),
            run_end=last.isoformat(),
        )


def _refusal(
    error: CalendarError, field: str | None, metadata: dict[str, str], *, about: str = ""
) -> KeysvcError:
    message = about + str(error)
    if field is not None and not isinstance(error, NoBusinessDay):
        return InvalidArgument(field, message, reason=error.reason, **metadata)
    return FailedPrecondition(message, reason=error.reason, metadata=metadata)
