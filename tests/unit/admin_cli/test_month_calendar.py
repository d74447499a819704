"""The month grid and what each day is called, from the server's business-day answers."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from keysvc.admin_cli.month_calendar import (
    Day,
    DayKind,
    cell_text,
    classify,
    days_of,
    month_argument,
    weeks,
)
from keysvc.v1 import resources_pb2

SUMMER = resources_pb2.Closure(
    id="c1", start_date="2026-08-12", end_date="2026-08-14", label="夏期休暇"
)


def test_a_month_has_all_its_days() -> None:
    assert len(days_of(2026, 11)) == 30
    assert len(days_of(2028, 2)) == 29
    assert days_of(2026, 12)[-1] == date(2026, 12, 31)


def test_months_are_read_as_yyyy_mm_only() -> None:
    assert month_argument("2026-11") == (2026, 11)
    for bad in ("2026-13", "2026/11", "2026-11-01", "november"):
        with pytest.raises(argparse.ArgumentTypeError):
            month_argument(bad)


def test_the_server_s_answer_decides_and_the_kind_explains_it() -> None:
    assert classify(date(2026, 11, 24), True, []).kind is DayKind.BUSINESS
    assert classify(date(2026, 11, 21), False, []).kind is DayKind.WEEKEND
    assert classify(date(2026, 11, 23), False, []).kind is DayKind.HOLIDAY
    closed = classify(date(2026, 8, 13), False, [SUMMER])
    assert (closed.kind, closed.label) == (DayKind.CLOSURE, "夏期休暇")
    # A closure on a weekend is still just a weekend: it was no business day anyway.
    assert classify(date(2026, 8, 15), False, [SUMMER]).kind is DayKind.WEEKEND
    # The server is the authority: a day it calls a business day is one.
    assert classify(date(2026, 8, 13), True, [SUMMER]).kind is DayKind.BUSINESS


def test_the_grid_runs_monday_to_sunday_with_blanks_around_the_month() -> None:
    days = [Day(d, d.weekday() < 5, DayKind.BUSINESS) for d in days_of(2026, 11)]
    grid = weeks(days)
    # 2026-11-01 is a Sunday: six blanks before it; the 30th is a Monday.
    assert [cell is None for cell in grid[0]] == [True] * 6 + [False]
    first, last = grid[0][6], grid[-1][0]
    assert first is not None
    assert first.day == date(2026, 11, 1)
    assert last is not None
    assert last.day == date(2026, 11, 30)
    assert all(cell is None for cell in grid[-1][1:])
    assert all(len(week) == 7 for week in grid)
    assert weeks([]) == []


def test_cells_mark_holidays_and_closures() -> None:
    assert cell_text(Day(date(2026, 11, 24), True, DayKind.BUSINESS)) == "24"
    assert cell_text(Day(date(2026, 11, 3), False, DayKind.HOLIDAY)) == " 3 H"
    assert cell_text(Day(date(2026, 8, 13), False, DayKind.CLOSURE, "夏期休暇")) == "13 C"
    assert cell_text(None) == ""
