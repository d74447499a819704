"""Company closures (当社休業日): date ranges with a label, and their TOML form.

A `Closure` is a plain value, checked when it is made, so a calendar never holds
a nonsensical one. Both ends are inclusive JST calendar dates. The yearly
year-end/New-Year closure (Dec 29 - Jan 3) is not a `Closure` value but a rule
of `BusinessCalendar` (``year_end_closure=True``), so it needs no yearly upkeep.

The TOML form, as the service's closures file holds it::

    [[closures]]
    start = 2026-08-13          # a TOML local date, or the string "2026-08-13"
    end = 2026-08-16
    label = "夏期休暇"
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from scheduler.calendar._jp import FIRST_SUPPORTED_DAY, LAST_SUPPORTED_DAY
from scheduler.calendar.errors import InvalidClosure, InvalidClosuresFile

__all__ = [
    "MAX_CLOSURE_DAYS",
    "MAX_LABEL_LENGTH",
    "YEAR_END_LABEL",
    "Closure",
    "parse_closures_toml",
]

MAX_CLOSURE_DAYS: Final = 366
"""The longest closure accepted, in days (both ends counted); anything longer is a typo."""

MAX_LABEL_LENGTH: Final = 200
"""The longest label accepted, in characters."""

YEAR_END_LABEL: Final = "Year-end and New Year holidays (年末年始休暇)"
"""The label of the default yearly closure, Dec 29 - Jan 3."""

_FIELDS: Final = frozenset({"start", "end", "label"})
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class Closure:
    """The company is closed from ``start`` to ``end``, both included.

    Raises `InvalidClosure` when ``end`` is before ``start``, the label is blank,
    longer than `MAX_LABEL_LENGTH` or holds control characters, the range is
    longer than `MAX_CLOSURE_DAYS`, or a day lies outside the supported years.

    >>> Closure(date(2026, 8, 13), date(2026, 8, 16), "夏期休暇").contains(date(2026, 8, 16))
    True
    """

    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise InvalidClosure(f"{name} must be a date, not {type(value).__name__}")
            if not FIRST_SUPPORTED_DAY <= value <= LAST_SUPPORTED_DAY:
                raise InvalidClosure(
                    f"{name} {value} is outside {FIRST_SUPPORTED_DAY.year}-"
                    f"{LAST_SUPPORTED_DAY.year}"
                )
        if self.end < self.start:
            raise InvalidClosure(f"end {self.end} is before start {self.start}")
        if self.days > MAX_CLOSURE_DAYS:
            raise InvalidClosure(
                f"{self.start}..{self.end} is {self.days} days, more than {MAX_CLOSURE_DAYS}"
            )
        if not isinstance(self.label, str) or not self.label.strip():
            raise InvalidClosure("label must be a non-empty string")
        if len(self.label) > MAX_LABEL_LENGTH:
            raise InvalidClosure(f"label is longer than {MAX_LABEL_LENGTH} characters")
        if any(unicodedata.category(char) == "Cc" for char in self.label):
            raise InvalidClosure("label must not contain control characters")

    @property
    def days(self) -> int:
        """How many days the closure lasts, both ends counted."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """Whether ``day`` is one of the closed days (both ends included)."""
        return self.start <= day <= self.end


def parse_closures_toml(text: str) -> list[Closure]:
    """Read closures from a TOML document of ``[[closures]]`` tables, in file order.

    Each table has exactly ``start``, ``end`` (TOML local dates or ISO strings)
    and ``label``; labels are stripped of surrounding blanks. An empty document
    means no closures. Raises `InvalidClosuresFile` when the text is not TOML or
    not shaped that way, and `InvalidClosure` (naming the table by index) when a
    closure breaks the rules of `Closure`; never anything else.

    >>> [summer] = parse_closures_toml(
    ...     '[[closures]]\\nstart = 2026-08-13\\nend = "2026-08-16"\\nlabel = " 夏期休暇 "'
    ... )
    >>> summer
    Closure(start=datetime.date(2026, 8, 13), end=datetime.date(2026, 8, 16), label='夏期休暇')
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidClosuresFile(f"closures file is not valid TOML: {error}") from None
    unknown = sorted(set(document) - {"closures"})
    if unknown:
        raise InvalidClosuresFile(f"unknown top-level keys {unknown}; expected [[closures]]")
    tables = document.get("closures", [])
    if not isinstance(tables, list):
        raise InvalidClosuresFile("closures must be an array of tables: [[closures]]")
    return [_closure_from_table(index, table) for index, table in enumerate(tables)]


def _closure_from_table(index: int, table: object) -> Closure:
    where = f"closures[{index}]"
    if not isinstance(table, dict):
        raise InvalidClosuresFile(f"{where} must be a table with start, end and label")
    missing = sorted(_FIELDS - set(table))
    unknown = sorted(set(table) - _FIELDS)
    if missing or unknown:
        raise InvalidClosuresFile(f"{where}: missing keys {missing}, unknown keys {unknown}")
    label = table["label"]
    if not isinstance(label, str):
        raise InvalidClosure(f"{where}: label must be a string")
    start = _toml_date(where, "start", table["start"])
    end = _toml_date(where, "end", table["end"])
    try:
        return Closure(start=start, end=end, label=label.strip())
    except InvalidClosure as error:
        raise InvalidClosure(f"{where}: {error}") from None


def _toml_date(where: str, name: str, value: object) -> date:
    if isinstance(value, datetime):
        raise InvalidClosure(f"{where}: {name} must be a date without a time: {value}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidClosure(f"{where}: {name} must be a date such as 2026-08-13, not {value!r}")
