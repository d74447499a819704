"""Support periods and coverage: calendar dates in, calendar dates out.

All dates are JST calendar dates (`jst_date` turns an instant into one). A
support period is one contract year, ``[start, start + 1 year - 1 day]``::

    >>> Period.starting(date(2027, 1, 1))
    Period(start=datetime.date(2027, 1, 1), end=datetime.date(2027, 12, 31))

A contract is *covered* from its purchase date (or its first period's start,
if earlier) to the end of its last period, except in gaps between periods
(a lapsed `neo-backup` contract renewed late): support is continuous while
renewals are on time. docs/support-periods.md gives the clause of the terms
behind each rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from keysvc.domain.errors import InvalidArgument
from keysvc.domain.support_errors import InvalidPeriod, SupportExpired
from scheduler.calendar import JST

__all__ = [
    "JST",
    "Coverage",
    "Period",
    "add_licenses",
    "coverage_on",
    "current_period",
    "first_of_month",
    "jst_date",
    "support_end_for",
    "year_end",
]

_ONE_DAY = timedelta(days=1)
_ONE_YEAR = relativedelta(years=1)


def jst_date(instant: datetime, *, field: str = "accepted_at") -> date:
    """The JST calendar date of an aware instant; a naive one is an `InvalidArgument`.

    >>> jst_date(datetime.fromisoformat("2026-11-30T15:00:00+00:00"))
    datetime.date(2026, 12, 1)
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidArgument(field, f"{field} must carry a time zone")
    return instant.astimezone(JST).date()


def first_of_month(day: date, months_ahead: int = 0) -> date:
    """The 1st of *day*'s month, moved *months_ahead* months.

    >>> first_of_month(date(2026, 11, 22), 2)
    datetime.date(2027, 1, 1)
    """
    start: date = day.replace(day=1) + relativedelta(months=months_ahead)
    return start


def year_end(start: date) -> date:
    """The last day of the contract year that begins on *start*.

    The day before the same date one year later. A year from 29 February, whose
    date does not exist the next year, ends on 28 February (the Civil Code's
    rule, 民法 143 条 2 項: with no corresponding day, the period ends on the last
    day of that month). The rules only ever start periods on the 1st of a month,
    so that case cannot arise from a policy; `Period.starting` still defines it.

    >>> year_end(date(2027, 3, 1)), year_end(date(2028, 2, 29))
    (datetime.date(2028, 2, 29), datetime.date(2029, 2, 28))
    """
    _require_date(start, "start")
    anniversary: date = start + _ONE_YEAR
    if anniversary.day != start.day:  # 29 February clamped to 28 February
        return anniversary
    return anniversary - _ONE_DAY


@dataclass(frozen=True, slots=True)
class Period:
    """A support period: every day from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _require_date(self.start, "start")
        _require_date(self.end, "end")
        if self.end < self.start:
            raise InvalidPeriod(
                "period",
                f"a period cannot end ({self.end}) before it starts ({self.start})",
                start=self.start.isoformat(),
                end=self.end.isoformat(),
            )

    @classmethod
    def starting(cls, start: date) -> Period:
        """The one-year period beginning on *start* (see `year_end`)."""
        return cls(start, year_end(start))

    @property
    def next_start(self) -> date:
        """The day after the period: where an on-time renewal starts."""
        return self.end + _ONE_DAY

    def contains(self, day: date) -> bool:
        """Whether *day* is one of the period's days."""
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Coverage:
    """Whether a contract is covered on `day`, and by what.

    - `covered`: support is provided on `day`.
    - `period`: the period `day` belongs to (see `current_period`); ``None``
      only for a contract without periods.
    - `coverage_start`: the first day support is provided, the purchase date or
      the first period's start, whichever is earlier.
    - `covered_until`: when covered, the last day of the unbroken coverage that
      includes `day` (periods renewed on time join up); ``None`` otherwise.
    """

    day: date
    covered: bool
    period: Period | None
    coverage_start: date
    covered_until: date | None

    @property
    def last_covered_day(self) -> date | None:
        """When not covered: the last day support was provided, ``None`` if never yet."""
        if self.covered or self.period is None or self.period.end >= self.day:
            return None
        return self.period.end

    def require(self, service: str) -> Coverage:
        """This coverage if `covered`, else `SupportExpired` naming *service*."""
        if self.covered:
            return self
        metadata = {"day": self.day.isoformat(), "service": service}
        if (last := self.last_covered_day) is not None:
            metadata["last_covered_day"] = last.isoformat()
            message = f"{service} needs support, which ended on {last}"
        else:
            message = f"{service} needs support, which has not started on {self.day}"
        raise SupportExpired(message, metadata=metadata)


def current_period(day: date, periods: Sequence[Period]) -> Period | None:
    """The period *day* belongs to.

    The period containing it; else the last one that ended before it (the
    contract has lapsed, or is in a gap); else the first one (it has not
    started yet, as between a `neo-webconf` purchase and its first period).
    ``None`` when there are no periods.
    """
    _require_date(day, "day")
    ordered = _ordered(periods)
    ended = None
    for period in ordered:
        if period.contains(day):
            return period
        if period.end < day:
            ended = period
    if ended is not None:
        return ended
    return ordered[0] if ordered else None


def coverage_on(day: date, purchase_date: date, periods: Sequence[Period]) -> Coverage:
    """The contract's coverage on *day*.

    Covered from the purchase date up to the first period's start (seed 000
    and 001, 3.(1): support from the initial purchase date) and on every day of
    a period; not covered before that, after the last period, or in a gap
    between two periods.

    >>> first = Period.starting(date(2027, 1, 1))
    >>> coverage_on(date(2026, 11, 22), date(2026, 11, 22), [first]).covered
    True
    >>> coverage_on(date(2028, 1, 1), date(2026, 11, 22), [first]).covered
    False
    """
    _require_date(day, "day")
    _require_date(purchase_date, "purchase_date")
    ordered = _ordered(periods)
    if not ordered:
        return Coverage(day, False, None, purchase_date, None)
    start = min(purchase_date, ordered[0].start)
    period = current_period(day, ordered)
    run = _covering_run(day, start, ordered)
    if run is None:
        return Coverage(day, False, period, start, None)
    return Coverage(day, True, period, start, run)


def support_end_for(day: date, periods: Sequence[Period]) -> date:
    """The end of the period *day* belongs to: a key's ``sup`` claim.

    For a key issued before the first period starts (`neo-webconf` bought on
    2026-11-22, first period from 2027-01-01), the end of the first period.
    """
    period = current_period(day, periods)
    if period is None:
        raise InvalidArgument("periods", "a contract has at least one support period")
    return period.end


def add_licenses(
    current_seats: int,
    additional_seats: int,
    *,
    bought_on: date,
    purchase_date: date,
    periods: Sequence[Period],
) -> int:
    """The seat count after buying *additional_seats* licenses on *bought_on*.

    The added seats are supported from *bought_on* until the end of the current
    period, which does not change (seed 000 3.(3), seed 001 3.(4)). Licenses can
    only be added while the contract is covered: otherwise `SupportExpired`,
    and the customer renews first.
    """
    if current_seats < 1:
        raise InvalidArgument("seats", "a contract has at least one seat")
    if additional_seats < 1:
        raise InvalidArgument("additional_seats", "at least one license must be added")
    coverage_on(bought_on, purchase_date, periods).require("adding licenses")
    return current_seats + additional_seats


def _covering_run(day: date, coverage_start: date, ordered: Sequence[Period]) -> date | None:
    """The last day of unbroken coverage through *day*, ``None`` if not covered."""
    if coverage_start <= day < ordered[0].start:
        index = 0
    else:
        found = next((i for i, period in enumerate(ordered) if period.contains(day)), None)
        if found is None:
            return None
        index = found
    end = ordered[index].end
    for period in ordered[index + 1 :]:
        if period.start != end + _ONE_DAY:
            break
        end = period.end
    return end


def _ordered(periods: Sequence[Period]) -> list[Period]:
    ordered = sorted(periods, key=lambda period: period.start)
    for earlier, later in itertools.pairwise(ordered):
        if later.start <= earlier.end:
            raise InvalidPeriod(
                "periods",
                f"periods {earlier.start}…{earlier.end} and {later.start}…{later.end} overlap",
            )
    return ordered


def _require_date(value: date, field: str) -> None:
    # A datetime is a date to the type checker, but comparing one with a date raises.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidArgument(field, f"{field} must be a calendar date, not {type(value).__name__}")
