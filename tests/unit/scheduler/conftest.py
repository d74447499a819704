"""Shared fixtures: the published holiday list and the host's time zone."""

from __future__ import annotations

import csv
import os
import time
from datetime import date
from pathlib import Path

import pytest

HOLIDAYS_CSV = Path(__file__).parents[2] / "data" / "jp_national_holidays.csv"
FIRST_YEAR, LAST_YEAR = 2000, 2027  # the years the CSV covers

HOST_ZONES = ["UTC", "Asia/Tokyo", "America/Los_Angeles"]


def load_published_holidays() -> dict[date, str]:
    """``{day: name}`` from the Cabinet Office list transcribed in tests/data."""
    with HOLIDAYS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {date.fromisoformat(row["date"]): row["name"] for row in rows}


@pytest.fixture(scope="session")
def published_holidays() -> dict[date, str]:
    return load_published_holidays()


@pytest.fixture(params=HOST_ZONES)
def host_zone(request: pytest.FixtureRequest):
    """Run the test with the process's local time zone set to each of HOST_ZONES."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    # Prove the zone took effect (a missing zone file silently means UTC).
    offsets = {time.localtime(0).tm_gmtoff, time.localtime(15_768_000).tm_gmtoff}
    expected = {"UTC": {0}, "Asia/Tokyo": {9 * 3600}, "America/Los_Angeles": {-8 * 3600}}
    assert expected[request.param] <= offsets
    try:
        yield request.param
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()
