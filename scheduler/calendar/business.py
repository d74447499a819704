"""The business calendar and the release schedule of key requests.

From the support terms (seeds 000 and 001, 2.(2)): a request accepted by 17:00
on a business day is answered the same day; one accepted at or after 17:00, or
on a non-business day, on the next business day. Everything here is pure: no
clock, no I/O, no environment; instants go in and come out UTC-aware, and every
rule is evaluated in Japan Standard Time whatever the host's zone.

>>> calendar = BusinessCalendar()
>>> calendar.schedule(datetime(2026, 11, 20, 17, 0, tzinfo=JST)).release_time
datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from scheduler.calendar._jp import (
    FIRST_SUPPORTED_DAY,
    HOLIDAY_DATA_VERSION,
    HOLIDAY_LANGUAGES,
    JST,
    LAST_SUPPORTED_DAY,
    jp_holidays,
)
from scheduler.calendar.closures import YEAR_END_LABEL, Closure
from scheduler.calendar.errors import (
    CalendarError,
    DateOutOfRange,
    InvalidBusinessHours,
    InvalidClosure,
    NaiveDatetime,
    NoBusinessDay,
)

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_OPENING",
    "BusinessCalendar",
    "Reschedule",
    "Schedule",
    "as_utc",
    "release_after_calendar_change",
]

DEFAULT_CUTOFF: Final = time(17, 0)
"""Requests accepted strictly before this JST time on a business day are due that day."""

DEFAULT_OPENING: Final = time(9, 0)
"""Requests due on a later day are released at this JST time of their due day."""

_ONE_DAY: Final = timedelta(days=1)
_WEEKEND_NAMES: Final = {5: "Saturday", 6: "Sunday"}


def as_utc(instant: datetime) -> datetime:
    """``instant`` converted to UTC; raises `NaiveDatetime` when it has no time zone."""
    if not isinstance(instant, datetime):
        raise TypeError(f"expected a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise NaiveDatetime(f"instant {instant.isoformat()} has no time zone")
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a request accepted at ``accepted_at`` is due and released.

    ``due_date`` is the JST calendar date promised to the customer;
    ``release_time`` is the UTC instant the key goes out: ``accepted_at`` itself
    when ``same_day`` (released at once), else the opening time of ``due_date``.
    """

    accepted_at: datetime
    due_date: date
    release_time: datetime
    same_day: bool


@dataclass(frozen=True, slots=True)
class Reschedule:
    """A not-yet-released request after the closures changed.

    ``due_date`` is the promise and never changes; ``release_time`` is the new
    scheduled release (UTC); ``at_risk`` is true when that release falls on a
    JST date after the promised ``due_date``.
    """

    due_date: date
    release_time: datetime
    at_risk: bool


class BusinessCalendar:
    """Business days in Japan and the release schedule they imply.

    A day is a business day when it is Monday to Friday, not a Japanese
    national holiday (the `holidays` package, ``JP``), not Dec 29 - Jan 3 when
    ``year_end_closure`` is on, and inside none of ``closures``. Calendars are
    immutable and safe to share between threads; `with_closures` makes a new one.
    Days must lie in 2000-2099, else `DateOutOfRange`.

    Raises `InvalidBusinessHours` unless ``opening`` and ``cutoff`` are naive
    times with ``opening < cutoff``, and `InvalidClosure` for anything in
    ``closures`` that is not a `Closure`.
    """

    __slots__ = (
        "_closures",
        "_cutoff",
        "_language",
        "_opening",
        "_span_ends",
        "_span_starts",
        "_year_end",
    )

    def __init__(
        self,
        closures: Iterable[Closure] = (),
        *,
        cutoff: time = DEFAULT_CUTOFF,
        opening: time = DEFAULT_OPENING,
        year_end_closure: bool = True,
        holiday_language: str = "en_US",
    ) -> None:
        for name, value in (("cutoff", cutoff), ("opening", opening)):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise InvalidBusinessHours(f"{name} must be a time without a time zone (JST)")
        if not opening < cutoff:
            raise InvalidBusinessHours(f"opening {opening} must be before cutoff {cutoff}")
        if holiday_language not in HOLIDAY_LANGUAGES:
            raise CalendarError(f"holiday_language must be one of {HOLIDAY_LANGUAGES}")
        ordered = tuple(closures)
        for closure in ordered:
            if not isinstance(closure, Closure):
                raise InvalidClosure(f"expected a Closure, not {type(closure).__name__}")
        self._closures = tuple(sorted(ordered, key=lambda c: (c.start, c.end, c.label)))
        self._cutoff = cutoff
        self._opening = opening
        self._language = holiday_language
        self._year_end = year_end_closure
        # Closed spans: the union of the closures, overlapping or adjacent ones merged,
        # so that a search jumps over a whole closure in one step (bisect on the starts).
        starts: list[date] = []
        ends: list[date] = []
        for closure in self._closures:
            if ends and closure.start <= ends[-1] + _ONE_DAY:
                ends[-1] = max(ends[-1], closure.end)
            else:
                starts.append(closure.start)
                ends.append(closure.end)
        self._span_starts = tuple(starts)
        self._span_ends = tuple(ends)

    # -- configuration -------------------------------------------------------------

    @property
    def closures(self) -> tuple[Closure, ...]:
        """The configured closures, ordered by start (the year-end rule is not listed)."""
        return self._closures

    @property
    def cutoff(self) -> time:
        """The JST cutoff: accepted strictly before it on a business day → due that day."""
        return self._cutoff

    @property
    def opening(self) -> time:
        """The JST opening: releases due on a later day happen at this time."""
        return self._opening

    @property
    def year_end_closure(self) -> bool:
        """Whether Dec 29 - Jan 3 is closed every year."""
        return self._year_end

    @property
    def holiday_language(self) -> str:
        """The language of holiday names in `non_business_reason`."""
        return self._language

    def schedule_fingerprint(self) -> str:
        """A digest of everything a schedule depends on: the business hours, the
        year-end rule, the days the closures close (not their labels) and the
        version of the holiday data. Two calendars with one fingerprint schedule
        every instant alike, so a process can tell whether the calendar it starts
        with differs from the one the stored schedules were computed with.
        """
        closed = ";".join(
            f"{start}/{end}" for start, end in zip(self._span_starts, self._span_ends, strict=True)
        )
        text = (
            f"cutoff={self._cutoff.isoformat()}|opening={self._opening.isoformat()}|"
            f"year_end={self._year_end}|closed={closed}|holidays={HOLIDAY_DATA_VERSION}"
        )
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    def with_closures(self, closures: Iterable[Closure]) -> BusinessCalendar:
        """A calendar like this one whose configured closures are replaced by ``closures``."""
        return BusinessCalendar(
            closures,
            cutoff=self._cutoff,
            opening=self._opening,
            year_end_closure=self._year_end,
            holiday_language=self._language,
        )

    def _key(self) -> tuple[object, ...]:
        return (self._closures, self._cutoff, self._opening, self._year_end, self._language)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({len(self._closures)} closures, cutoff={self._cutoff}, "
            f"opening={self._opening}, year_end_closure={self._year_end})"
        )

    # -- days ----------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """The name of the national holiday on ``day``, or None."""
        _check_day(day)
        return jp_holidays(day.year, self._language).get(day)

    def closure_label(self, day: date) -> str | None:
        """The label of the first closure (by start) containing ``day``, or None.

        The yearly year-end closure comes last, labelled `YEAR_END_LABEL`.
        """
        _check_day(day)
        for closure in self._closures:
            if closure.start > day:
                break
            if day <= closure.end:
                return closure.label
        if self._year_end and _in_year_end(day):
            return YEAR_END_LABEL
        return None

    def non_business_reason(self, day: date) -> str | None:
        """Why ``day`` is not a business day, or None when it is one.

        The first that applies: the holiday's name, the closure's label,
        ``"Saturday"`` or ``"Sunday"``.

        >>> BusinessCalendar().non_business_reason(date(2026, 9, 22))
        'National Holiday'
        """
        return (
            self.holiday_name(day) or self.closure_label(day) or _WEEKEND_NAMES.get(day.weekday())
        )

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` (a JST calendar date) is a business day."""
        _check_day(day)
        return self._closed_until(day) is None and not self._weekend_or_holiday(day)

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``.

        Jumps over a whole closure in one step, so the cost does not grow with
        the length of closures. When none is known up to `LAST_SUPPORTED_DAY`,
        raises `NoBusinessDay` if configured closures are in the way, else
        `DateOutOfRange` (``day`` is simply too late for the known years).

        >>> BusinessCalendar().next_business_day(date(2026, 12, 28))
        datetime.date(2027, 1, 4)
        """
        _check_day(day)
        candidate = day + _ONE_DAY
        jumped_closure = False
        while True:
            if candidate > LAST_SUPPORTED_DAY:
                if jumped_closure:
                    raise NoBusinessDay(
                        f"the closures leave no business day after {day} up to {LAST_SUPPORTED_DAY}"
                    )
                raise DateOutOfRange(
                    f"no business day known after {day}: the calendar ends {LAST_SUPPORTED_DAY}"
                )
            span_end = self._span_end(candidate)
            closed_until = span_end or self._year_end_until(candidate)
            jumped_closure = jumped_closure or span_end is not None
            if closed_until is not None:
                candidate = closed_until + _ONE_DAY
            elif self._weekend_or_holiday(candidate):
                candidate += _ONE_DAY
            else:
                return candidate

    def closure_run(self, day: date) -> tuple[date, date] | None:
        """The configured closures chained around ``day``: the first start and last end.

        Closures are chained when no business day lies between them (only a
        weekend, holidays or the year-end closure), so the run is how long the
        closures keep every day closed together. None when no configured closure
        contains ``day``.

        >>> summer = BusinessCalendar([
        ...     Closure(date(2026, 8, 10), date(2026, 8, 14), "夏期休暇"),
        ...     Closure(date(2026, 8, 17), date(2026, 8, 19), "臨時休業"),  # after a weekend
        ... ])
        >>> summer.closure_run(date(2026, 8, 18))
        (datetime.date(2026, 8, 10), datetime.date(2026, 8, 19))
        """
        _check_day(day)
        index = bisect.bisect_right(self._span_starts, day) - 1
        if index < 0 or day > self._span_ends[index]:
            return None
        first = last = index
        while first > 0 and not self._open_between(
            self._span_ends[first - 1], self._span_starts[first]
        ):
            first -= 1
        while last + 1 < len(self._span_starts) and not self._open_between(
            self._span_ends[last], self._span_starts[last + 1]
        ):
            last += 1
        return self._span_starts[first], self._span_ends[last]

    def _open_between(self, after: date, before: date) -> bool:
        """Whether a business day lies strictly between two days of adjacent closed spans.

        Stops at the first business day, which a gap reaches within days (weekends,
        holidays and the year-end closure are short), so a long gap costs no more.
        """
        day = after + _ONE_DAY
        while day < before:
            year_end = self._year_end_until(day)
            if year_end is not None:
                day = year_end + _ONE_DAY
            elif self._weekend_or_holiday(day):
                day += _ONE_DAY
            else:
                return True
        return False

    def _weekend_or_holiday(self, day: date) -> bool:
        return day.weekday() >= 5 or day in jp_holidays(day.year, self._language)

    def _closed_until(self, day: date) -> date | None:
        """The last day of the closed span containing ``day``, or None when it is open."""
        return self._span_end(day) or self._year_end_until(day)

    def _span_end(self, day: date) -> date | None:
        """The last day of the configured closures' span containing ``day``, or None."""
        index = bisect.bisect_right(self._span_starts, day) - 1
        if index >= 0 and day <= self._span_ends[index]:
            return self._span_ends[index]
        return None

    def _year_end_until(self, day: date) -> date | None:
        """Jan 3 ending the year-end closure containing ``day``, or None (or when off)."""
        if self._year_end and _in_year_end(day):
            return date(day.year + 1 if day.month == 12 else day.year, 1, 3)
        return None

    # -- instants --------------------------------------------------------------------

    def schedule(self, accept: datetime) -> Schedule:
        """The due date and release time of a request accepted at ``accept``.

        ``accept`` may be in any zone but must be aware (else `NaiveDatetime`).
        On a business day strictly before the cutoff (JST wall time), the
        request is due that day and released at once: ``release_time`` is
        ``accept`` itself. Otherwise it is due the next business day after the
        JST date and released at that day's opening.

        >>> BusinessCalendar().schedule(datetime(2026, 11, 20, 7, 59, 59, tzinfo=UTC)).same_day
        True
        """
        accepted_at = as_utc(accept)
        local = accepted_at.astimezone(JST)
        day = local.date()
        if self.is_business_day(day) and local.time() < self._cutoff:
            return Schedule(accepted_at, day, accepted_at, same_day=True)
        due = self.next_business_day(day)
        release = datetime.combine(due, self._opening, tzinfo=JST).astimezone(UTC)
        return Schedule(accepted_at, due, release, same_day=False)

    def opening_after_business_days(self, instant: datetime, count: int) -> datetime:
        """The opening of the `count`-th business day after the JST date of `instant`;
        `instant` itself (as UTC) when `count` is 0. The end of a re-issue's overlap
        (SPEC section 5a): the old key stays valid until then.

        >>> BusinessCalendar().opening_after_business_days(
        ...     datetime(2026, 12, 7, 1, 0, tzinfo=UTC), 5
        ... ).isoformat()
        '2026-12-14T00:00:00+00:00'
        """
        at = as_utc(instant)
        if count < 0:
            raise ValueError(f"count must be 0 or more, got {count}")
        if count == 0:
            return at
        day = at.astimezone(JST).date()
        for _ in range(count):
            day = self.next_business_day(day)
        return datetime.combine(day, self._opening, tzinfo=JST).astimezone(UTC)


def release_after_calendar_change(
    accepted_at: datetime, due_date: date, calendar: BusinessCalendar
) -> Reschedule:
    """The new release of a not-yet-released request once the closures changed.

    The due date is the promise and stays ``due_date``. The release time is
    what ``calendar`` (the new one) schedules for ``accepted_at``: later when a
    closure now covers the days up to it, earlier when one was removed (never
    worse for the customer). ``at_risk`` says the new release falls on a JST
    date after ``due_date``, i.e. the promise is about to be broken.
    """
    release = calendar.schedule(accepted_at).release_time
    return Reschedule(
        due_date=due_date,
        release_time=release,
        at_risk=release.astimezone(JST).date() > due_date,
    )


def _check_day(day: date) -> None:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError(f"expected a date, not {type(day).__name__}")
    if not FIRST_SUPPORTED_DAY <= day <= LAST_SUPPORTED_DAY:
        raise DateOutOfRange(
            f"{day} is outside {FIRST_SUPPORTED_DAY.year}-{LAST_SUPPORTED_DAY.year}"
        )


def _in_year_end(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)
