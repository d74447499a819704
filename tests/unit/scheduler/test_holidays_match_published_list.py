"""The calendar's national holidays are exactly the Cabinet Office's published list.

tests/data/jp_national_holidays.csv is transcribed from the Cabinet Office's
syukujitsu.csv (see tests/data/README.md), not generated from the `holidays`
package, so these tests check the package against the published facts.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scheduler.calendar import BusinessCalendar

from .conftest import FIRST_YEAR, LAST_YEAR

ONE_DAY = timedelta(days=1)


def every_day(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR):
    day = date(first_year, 1, 1)
    while day.year <= last_year:
        yield day
        day += ONE_DAY


def test_the_published_list_covers_every_year_with_plausible_counts(published_holidays) -> None:
    per_year = dict.fromkeys(range(FIRST_YEAR, LAST_YEAR + 1), 0)
    for day in published_holidays:
        per_year[day.year] += 1
    assert set(per_year) == {day.year for day in published_holidays}
    assert all(14 <= count <= 22 for count in per_year.values()), per_year


def test_national_holidays_are_exactly_the_published_ones_every_day(published_holidays) -> None:
    calendar = BusinessCalendar(year_end_closure=False)
    wrong = [
        (day, published_holidays.get(day), calendar.holiday_name(day))
        for day in every_day()
        if (calendar.holiday_name(day) is not None) != (day in published_holidays)
    ]
    assert wrong == []


def test_without_closures_business_days_are_weekdays_off_the_published_list(
    published_holidays,
) -> None:
    calendar = BusinessCalendar(year_end_closure=False)
    wrong = [
        day
        for day in every_day()
        if calendar.is_business_day(day) != (day.weekday() < 5 and day not in published_holidays)
    ]
    assert wrong == []


# Where the published name is not the package's: the two 2019 enthronement days are
# published as PUBLISHED_SPECIAL_DAY (a day off treated as a holiday), and Sports Day
# 2019 under both its old and its coming name. Substitute and citizens' holidays are
# both published as plain 休日 (see the test below).
# The published names use full-width parentheses; spelled out to keep the source ASCII-clear.
OPEN, CLOSE = "\N{FULLWIDTH LEFT PARENTHESIS}", "\N{FULLWIDTH RIGHT PARENTHESIS}"
PUBLISHED_SPECIAL_DAY = f"休日{OPEN}祝日扱い{CLOSE}"
SPECIAL_NAMES = {
    date(2019, 5, 1): ("天皇の即位の日", PUBLISHED_SPECIAL_DAY),
    date(2019, 10, 22): ("即位礼正殿の儀が行われる日", PUBLISHED_SPECIAL_DAY),
    date(2019, 10, 14): ("体育の日", f"体育の日{OPEN}スポーツの日{CLOSE}"),
}


def test_holiday_names_agree_with_the_published_names(published_holidays) -> None:
    calendar = BusinessCalendar(year_end_closure=False, holiday_language="ja")
    wrong = []
    for day, published in published_holidays.items():
        name = calendar.holiday_name(day)
        if day in SPECIAL_NAMES:
            expected, published_as = SPECIAL_NAMES[day]
            assert published == published_as
        elif published == "休日":
            # The law (国民の祝日に関する法律 3.2 / 3.3): a day between two holidays is a
            # citizens' holiday; otherwise 休日 follows a holiday on a Sunday.
            between = (day - ONE_DAY) in published_holidays and (
                day + ONE_DAY
            ) in published_holidays
            expected = "国民の休日" if between else "振替休日"
        else:
            expected = published
        if name != expected:
            wrong.append((day, published, name))
    assert wrong == []


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2019, 4, 30), "between Showa Day and the enthronement day"),
        (date(2019, 5, 1), "enthronement of the Emperor (2019 special law)"),
        (date(2019, 5, 2), "between the enthronement day and Constitution Day"),
        (date(2019, 10, 22), "enthronement ceremony (2019 special law)"),
        (date(2020, 7, 23), "Marine Day moved for the Olympics"),
        (date(2020, 7, 24), "Sports Day moved for the Olympics"),
        (date(2020, 8, 10), "Mountain Day moved for the Olympics"),
        (date(2021, 7, 22), "Marine Day moved for the postponed Olympics"),
        (date(2021, 7, 23), "Sports Day moved for the postponed Olympics"),
        (date(2021, 8, 8), "Mountain Day moved for the postponed Olympics"),
        (date(2021, 8, 9), "substitute for Mountain Day on a Sunday"),
        (date(2009, 9, 22), "citizens' holiday of the 2009 Silver Week"),
        (date(2015, 9, 22), "citizens' holiday of the 2015 Silver Week"),
        (date(2026, 9, 22), "citizens' holiday of the 2026 Silver Week"),
        (date(2012, 9, 22), "autumnal equinox on the 22nd"),
        (date(2024, 9, 23), "substitute for the equinox on a Sunday"),
        (date(2008, 5, 6), "substitute after Greenery Day on a Sunday (2007 rule)"),
        (date(2000, 1, 10), "Coming of Age Day on the second Monday (Happy Monday)"),
    ],
)
def test_published_special_days_are_holidays(published_holidays, day: date, why: str) -> None:
    assert day in published_holidays, why
    assert not BusinessCalendar(year_end_closure=False).is_business_day(day), why


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2020, 10, 12), "no Sports Day in October 2020 (moved to July 24)"),
        (date(2021, 10, 11), "no Sports Day in October 2021 (moved to July 23)"),
        (date(2021, 8, 11), "no Mountain Day on Aug 11 2021 (moved to Aug 8)"),
        (date(2019, 12, 23), "no Emperor's Birthday in 2019 (Dec 23 until 2018, Feb 23 from 2020)"),
        (date(2001, 1, 15), "Coming of Age Day left Jan 15 in 2000 (Monday Jan 8 in 2001)"),
    ],
)
def test_days_the_special_laws_moved_away_are_business_days(
    published_holidays, day: date, why: str
) -> None:
    assert day not in published_holidays, why
    assert BusinessCalendar(year_end_closure=False).is_business_day(day), why
