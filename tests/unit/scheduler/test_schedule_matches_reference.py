"""Every day of 2000-2027 at the edges of the business hours, in several host zones,
against a naive reference written from the rules and the published holiday list.

The reference shares nothing with the implementation: it takes JST as UTC+9
(Japan has had no daylight saving time since 1951), reads holidays from the
Cabinet Office list in tests/data, and walks forward one day at a time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.calendar import BusinessCalendar, Closure

from .conftest import FIRST_YEAR, LAST_YEAR

JST_OFFSET = timedelta(hours=9)
ONE_DAY = timedelta(days=1)
CUTOFF, OPENING = time(17), time(9)

# JST wall times: midnight, the opening's edges, the cutoff's edges, the last instant.
TIMES_OF_DAY = [
    time(0, 0),
    time(8, 59, 59),
    time(9, 0),
    time(16, 59, 59, 999_000),
    time(17, 0, 0),
    time(23, 59, 59, 999_999),
]

SOME_CLOSURES = [
    *(
        Closure(date(y, 8, 13), date(y, 8, 16), "夏期休暇")
        for y in range(FIRST_YEAR, LAST_YEAR + 1)
    ),
    Closure(date(2005, 6, 1), date(2005, 6, 10), "adjacent, first"),
    Closure(date(2005, 6, 11), date(2005, 6, 20), "adjacent, second"),
    Closure(date(2010, 2, 1), date(2011, 1, 31), "a whole year"),
    Closure(date(2015, 4, 27), date(2015, 5, 8), "overlapping, first"),
    Closure(date(2015, 5, 1), date(2015, 5, 15), "overlapping, second"),
    Closure(date(2018, 7, 1), date(2018, 7, 31), "outer"),
    Closure(date(2018, 7, 5), date(2018, 7, 6), "nested"),
    Closure(date(2020, 12, 21), date(2020, 12, 28), "runs into the year-end closure"),
    Closure(date(2023, 3, 3), date(2023, 3, 3), "one day"),
]


class Reference:
    """The rule of the support terms, spelled out the slow, obvious way."""

    def __init__(self, holidays: dict[date, str], closures: list[Closure]) -> None:
        self.holidays = set(holidays)
        self.closed = [(c.start, c.end) for c in closures]

    def is_business_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.holidays
            and not (day.month == 12 and day.day >= 29)
            and not (day.month == 1 and day.day <= 3)
            and not any(start <= day <= end for start, end in self.closed)
        )

    def schedule(self, accepted_utc: datetime) -> tuple[date, datetime, bool]:
        wall = accepted_utc.replace(tzinfo=None) + JST_OFFSET
        if self.is_business_day(wall.date()) and wall.time() < CUTOFF:
            return wall.date(), accepted_utc, True
        due = wall.date() + ONE_DAY
        while not self.is_business_day(due):
            due += ONE_DAY
        release = (datetime.combine(due, OPENING) - JST_OFFSET).replace(tzinfo=UTC)
        return due, release, False


@pytest.mark.parametrize("closures", [[], SOME_CLOSURES], ids=["default", "with-closures"])
def test_every_day_and_time_is_scheduled_as_the_reference_says(
    host_zone, published_holidays, closures
) -> None:
    calendar = BusinessCalendar(closures)
    reference = Reference(published_holidays, closures)
    mismatches = []
    day = date(FIRST_YEAR, 1, 1)
    while day.year <= LAST_YEAR:
        for time_of_day in TIMES_OF_DAY:
            accepted_utc = (datetime.combine(day, time_of_day) - JST_OFFSET).replace(tzinfo=UTC)
            # Hand the instant over in the host's own zone, as a caller reading a local clock would.
            plan = calendar.schedule(accepted_utc.astimezone())
            got = (plan.due_date, plan.release_time, plan.same_day)
            if got != reference.schedule(accepted_utc) or plan.accepted_at != accepted_utc:
                mismatches.append((day, time_of_day, got, reference.schedule(accepted_utc)))
        day += ONE_DAY
    assert mismatches[:10] == []
