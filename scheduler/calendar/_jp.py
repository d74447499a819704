"""Japan: the time zone, the supported years, and the national holidays per year.

The `holidays` package is the holiday source (country ``JP``: national holidays,
substitute holidays 振替休日 and citizens' holidays 国民の休日). Building its
holiday object is slow next to a set lookup, so each year is built once per
process and kept as a read-only mapping (`functools.cache` is safe to share
between threads: at worst two threads build the same year once each).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from importlib.metadata import version
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "FIRST_SUPPORTED_DAY",
    "HOLIDAY_DATA_VERSION",
    "HOLIDAY_LANGUAGES",
    "JST",
    "LAST_SUPPORTED_DAY",
    "jp_holidays",
]

JST: Final = ZoneInfo("Asia/Tokyo")
"""Japan Standard Time: the zone of every business rule, whatever the host's zone."""

FIRST_SUPPORTED_DAY: Final = date(2000, 1, 1)
"""The first day the calendar answers for (the service has no older requests)."""

LAST_SUPPORTED_DAY: Final = date(2099, 12, 31)
"""The last day the `holidays` package has Japanese holidays for (``JP.end_year``)."""

HOLIDAY_DATA_VERSION: Final = version("holidays")
"""The version of the holiday data: a newer one may know holidays decided since."""

HOLIDAY_LANGUAGES: Final = ("en_US", "ja")
"""Languages of holiday names; always chosen explicitly so the host locale never matters."""


@functools.cache
def jp_holidays(year: int, language: str) -> Mapping[date, str]:
    """The national holidays of ``year`` as a read-only ``{day: name}`` mapping.

    >>> jp_holidays(2026, "en_US")[date(2026, 11, 23)]
    'Labor Thanksgiving Day'
    """
    built = holidays.country_holidays("JP", years=year, language=language)
    return MappingProxyType({day: name for day, name in sorted(built.items()) if day.year == year})
