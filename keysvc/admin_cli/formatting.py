"""Values as people read them: Tokyo time, short enum names, periods, yes/no.

Pure functions of protobuf values, shared by every command's table.

>>> from google.protobuf.timestamp_pb2 import Timestamp
>>> jst_time(Timestamp(seconds=1795478400))
'2026-11-24 09:00:00'
>>> jst_time(Timestamp())
'-'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from zoneinfo import ZoneInfo

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from keysvc.v1 import resources_pb2

JST = ZoneInfo("Asia/Tokyo")
"""The service's time zone: every date of the support terms is a Tokyo date."""

UNSET = "-"
"""What a table shows for a value that is not there (an unset time, an empty field)."""


def jst_time(stamp: Timestamp) -> str:
    """An instant as Tokyo wall time to the second, or `UNSET` for an unset Timestamp."""
    # An unset message field reads as the epoch; no keysvc instant is ever the epoch.
    if stamp.seconds == 0 and stamp.nanos == 0:
        return UNSET
    return stamp.ToDatetime(tzinfo=UTC).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def _prefix(enum_type: EnumDescriptor) -> str:
    # buf STANDARD names every zero value <PREFIX>_UNSPECIFIED and every other
    # value <PREFIX>_<NAME>: the zero value tells the prefix.
    return enum_type.values_by_number[0].name.removesuffix("UNSPECIFIED")


def enum_label(enum_type: EnumDescriptor, number: int) -> str:
    """The value's name without its type's prefix, e.g. ``PENDING`` for
    ``KEY_REQUEST_STATE_PENDING``; `UNSET` for the zero value, the number for one
    this client does not know (a newer server).

    >>> enum_label(resources_pb2.KeyRequestState.DESCRIPTOR, 1)
    'PENDING'
    """
    if number == 0:
        return UNSET
    value = enum_type.values_by_number.get(number)
    if value is None:
        return str(number)
    return value.name.removeprefix(_prefix(enum_type))


def enum_choices(enum_type: EnumDescriptor) -> list[str]:
    """The short names a command-line option accepts, e.g. ``pending``, ``seats-change``."""
    return [
        enum_label(enum_type, value.number).lower().replace("_", "-")
        for value in enum_type.values[1:]
    ]


def enum_number(enum_type: EnumDescriptor, choice: str) -> int:
    """The number of a short name as `enum_choices` gives it.

    >>> enum_number(resources_pb2.KeyRequestKind.DESCRIPTOR, "seats-change")
    3
    """
    name = _prefix(enum_type) + choice.upper().replace("-", "_")
    return enum_type.values_by_name[name].number


def period_text(period: resources_pb2.Period) -> str:
    """A support period as ``2027-01-01 to 2027-12-31``."""
    return f"{period.start} to {period.end}"


def current_period(contract: resources_pb2.Contract) -> str:
    """The contract's latest period (the one a renewal extends), or `UNSET`."""
    return period_text(contract.periods[-1]) if contract.periods else UNSET


def yes_no(value: bool) -> str:
    """``yes`` or ``no``."""
    return "yes" if value else "no"


def text(value: str) -> str:
    """The value, or `UNSET` when empty."""
    return value or UNSET


def joined(values: Iterable[str]) -> str:
    """Non-empty values joined by commas, or `UNSET` when there are none."""
    return ", ".join(value for value in values if value) or UNSET


def short_method(method: str) -> str:
    """An RPC path without its package: ``AdminService/RevokeLicense``.

    >>> short_method("/keysvc.v1.AdminService/RevokeLicense")
    'AdminService/RevokeLicense'
    """
    return method.removeprefix("/").removeprefix("keysvc.v1.")
