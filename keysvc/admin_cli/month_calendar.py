"""``keysvc admin closures calendar``: a month of the service's business calendar.

Whether a day is a business day comes from the server, never from holiday
data of this tool: for each day the command asks `PreviewRelease` about a
request accepted at 00:00 JST that day. Before any cutoff, a request on a
business day is due that same day, and on any other day it is due a later
one, so ``due_date == day`` tells a business day whatever opening and cutoff
the server is configured with. The closures listed by the server name the
closed days; a weekday that is not a business day and is in no listed closure
is a national holiday (or a closure of the server's configuration file, such
as the yearly Dec 29 - Jan 3, which the API does not list).
"""

from __future__ import annotations

import argparse
import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from rich.table import Table
from rich.text import Text

from keysvc.admin_cli.formatting import JST
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class DayKind(StrEnum):
    """Why a day is or is not a business day."""

    BUSINESS = "business"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    CLOSURE = "closure"


_MARKS = {DayKind.BUSINESS: "", DayKind.WEEKEND: "", DayKind.HOLIDAY: "H", DayKind.CLOSURE: "C"}
_STYLES = {
    DayKind.BUSINESS: "",
    DayKind.WEEKEND: "dim",
    DayKind.HOLIDAY: "bold red",
    DayKind.CLOSURE: "bold magenta",
}


@dataclass(frozen=True)
class Day:
    """One day of the month as the server's calendar has it."""

    day: date
    business_day: bool
    kind: DayKind
    label: str = ""

    def as_json(self) -> dict[str, object]:
        """``{"date", "business_day", "kind", "label"}``."""
        return {
            "date": self.day.isoformat(),
            "business_day": self.business_day,
            "kind": self.kind.value,
            "label": self.label,
        }


def month_argument(value: str) -> tuple[int, int]:
    """An argparse type: ``YYYY-MM`` as (year, month).

    >>> month_argument("2026-11")
    (2026, 11)
    """
    try:
        first = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month YYYY-MM: {value!r}") from None
    return first.year, first.month


def days_of(year: int, month: int) -> list[date]:
    """Every date of a month, in order."""
    return [date(year, month, n) for n in range(1, calendar.monthrange(year, month)[1] + 1)]


def classify(day: date, business_day: bool, closures: Sequence[resources_pb2.Closure]) -> Day:
    """A day with the kind that explains the server's answer for it.

    >>> classify(date(2026, 11, 23), False, []).kind
    <DayKind.HOLIDAY: 'holiday'>
    """
    if business_day:
        return Day(day, True, DayKind.BUSINESS)
    if day.weekday() >= 5:
        return Day(day, False, DayKind.WEEKEND)
    iso = day.isoformat()
    # ISO dates compare as text in calendar order.
    for closure in closures:
        if closure.start_date <= iso <= closure.end_date:
            return Day(day, False, DayKind.CLOSURE, closure.label)
    return Day(day, False, DayKind.HOLIDAY)


def weeks(days: Sequence[Day]) -> list[list[Day | None]]:
    """The month as rows Monday to Sunday, `None` before the 1st and after the last day."""
    if not days:
        return []
    cells: list[Day | None] = [None] * days[0].day.weekday() + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[start : start + 7] for start in range(0, len(cells), 7)]


def cell_text(day: Day | None) -> str:
    """A grid cell: the day of the month and its mark (H holiday, C closure).

    >>> cell_text(Day(date(2026, 11, 23), False, DayKind.HOLIDAY))
    '23 H'
    """
    if day is None:
        return ""
    return f"{day.day.day:>2} {_MARKS[day.kind]}".rstrip()


def month_grid(year: int, month: int, days: Sequence[Day]) -> Table:
    """The month as a rich table, business days plain and the others marked."""
    business = sum(day.business_day for day in days)
    table = Table(
        *WEEKDAYS,
        title=f"{calendar.month_name[month]} {year}",
        caption=f"{business} business days",
    )
    for row in weeks(days):
        table.add_row(*(Text(cell_text(d), style=_STYLES[d.kind] if d else "") for d in row))
    return table


def _closures_of_year(session: Session, year: int) -> list[resources_pb2.Closure]:
    admin = session.admin
    request = admin_service_pb2.ListClosuresRequest(year=year)
    return [
        closure for page in admin.pages(admin.list_closures, request) for closure in page.closures
    ]


def show_calendar(args: argparse.Namespace, session: Session) -> None:
    """Prints a month (default: this month in Tokyo) with its business days marked."""
    year, month = args.month or _this_month()
    closures = _closures_of_year(session, year)
    days = []
    for day in days_of(year, month):
        preview = session.license.preview_release(datetime.combine(day, time(0), tzinfo=JST))
        days.append(classify(day, preview.due_date == day.isoformat(), closures))
    others = [d for d in days if d.kind in (DayKind.HOLIDAY, DayKind.CLOSURE)]
    session.out.document(
        {
            "month": f"{year:04d}-{month:02d}",
            "business_days": sum(day.business_day for day in days),
            "days": [day.as_json() for day in days],
        },
        month_grid(year, month, days),
    )
    session.out.line("H holiday, C closure; Sat and Sun are weekends.")
    for other in others:
        label = f" {other.label}" if other.label else ""
        weekday = WEEKDAYS[other.day.weekday()]
        session.out.line(f"{other.day.isoformat()} {weekday} {other.kind}{label}")


def _this_month() -> tuple[int, int]:
    today = datetime.now(JST).date()
    return today.year, today.month
