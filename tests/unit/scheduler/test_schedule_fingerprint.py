"""BusinessCalendar.schedule_fingerprint: equal exactly when schedules can be told apart
by nothing a start could have changed."""

from __future__ import annotations

from datetime import date, time

from scheduler.calendar import BusinessCalendar, Closure

SUMMER = Closure(date(2026, 8, 13), date(2026, 8, 16), "夏期休暇")


def test_the_same_configuration_gives_the_same_fingerprint() -> None:
    assert BusinessCalendar([SUMMER]).schedule_fingerprint() == (
        BusinessCalendar([SUMMER]).schedule_fingerprint()
    )


def test_labels_do_not_count_and_the_same_closed_days_are_the_same_calendar() -> None:
    relabelled = Closure(SUMMER.start, SUMMER.end, "お盆休み")
    split = [
        Closure(date(2026, 8, 13), date(2026, 8, 14), "前半"),
        Closure(date(2026, 8, 15), date(2026, 8, 16), "後半"),
    ]
    fingerprints = {
        BusinessCalendar(closures).schedule_fingerprint()
        for closures in ([SUMMER], [relabelled], split, [SUMMER, relabelled])
    }
    assert len(fingerprints) == 1


def test_whatever_moves_a_release_changes_the_fingerprint() -> None:
    calendars = [
        BusinessCalendar(),
        BusinessCalendar([SUMMER]),
        BusinessCalendar([Closure(SUMMER.start, date(2026, 8, 17), "延長")]),
        BusinessCalendar(cutoff=time(16, 0)),
        BusinessCalendar(opening=time(9, 30)),
        BusinessCalendar(year_end_closure=False),
    ]
    assert len({calendar.schedule_fingerprint() for calendar in calendars}) == len(calendars)
