"""Re-issue on server change: who is entitled, and when a request waits for an admin.

A re-issue is a support service (seed 000 1.(2), seed 001 1.(2)): the contract
must be covered on the JST day the request is accepted, else `SupportExpired`.
An initial key needs no coverage, so nothing here applies to it.

SPEC section 6: more than `REISSUE_LIMIT` re-issues for one contract within
`REISSUE_WINDOW` puts the request ``HELD`` for an admin, with hold reason
`REISSUE_HOLD_REASON`; it is never refused for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from keysvc.domain.errors import InvalidArgument
from keysvc.domain.periods import Coverage, Period, coverage_on, jst_date

__all__ = [
    "REISSUE_HOLD_REASON",
    "REISSUE_LIMIT",
    "REISSUE_WINDOW",
    "reissue_needs_hold",
    "require_reissue_entitlement",
]

REISSUE_LIMIT = 3
"""Re-issues within the window that pass without an admin; the next one is held."""

REISSUE_WINDOW = timedelta(days=365)
"""The sliding window, counted back from the new request's acceptance instant."""

REISSUE_HOLD_REASON = "REISSUE_LIMIT"
"""The ``hold_reason`` of a request held by `reissue_needs_hold`."""


def reissue_needs_hold(previous_reissue_times: Iterable[datetime], accepted_at: datetime) -> bool:
    """Whether a re-issue accepted at *accepted_at* must be held for an admin.

    *previous_reissue_times* are the acceptance instants of the contract's
    other ``REISSUE`` requests that count: those ``PENDING``, ``RELEASED``, and
    ``HELD`` still awaiting a decision (approving one makes it a re-issue).
    ``REJECTED`` ones, and the request being decided, must not be passed.

    The request is held when `REISSUE_LIMIT` or more of them fall in the window
    ``[accepted_at - 365 days, accepted_at]`` — both ends included — so that it
    would be the fourth. Instants after *accepted_at* are ignored. Every
    instant must be aware; a naive one is an `InvalidArgument`.

    >>> from datetime import UTC
    >>> earlier = [datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3)]
    >>> reissue_needs_hold(earlier, datetime(2026, 12, 1, tzinfo=UTC))
    True
    >>> reissue_needs_hold(earlier, datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC))
    False
    """
    _require_aware(accepted_at, "accepted_at")
    window_start = accepted_at - REISSUE_WINDOW
    counted = 0
    for instant in previous_reissue_times:
        _require_aware(instant, "previous_reissue_times")
        if window_start <= instant <= accepted_at:
            counted += 1
    return counted >= REISSUE_LIMIT


def require_reissue_entitlement(
    accepted_at: datetime, purchase_date: date, periods: Sequence[Period]
) -> Coverage:
    """The coverage on the JST day of *accepted_at*, or `SupportExpired`.

    Coverage is that of `coverage_on`: from the purchase date to the end of the
    last period, gaps excluded.
    """
    return coverage_on(jst_date(accepted_at), purchase_date, periods).require("re-issue")


def _require_aware(instant: datetime, field: str) -> None:
    # Comparing a naive instant with an aware one raises TypeError: say what is wrong instead.
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise InvalidArgument(field, f"{field} must be instants with a time zone")
