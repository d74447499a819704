"""Support policies: each product's period rules, held as data.

A `SupportPolicy` names its rules with a few enum values instead of code per
product; the functions here interpret them. `POLICIES` holds the two policies
of the support terms (seed 000: ``neo-webconf``, seed 001: ``neo-backup``)::

    >>> webconf = policy_for("neo-webconf")
    >>> first = first_period(webconf, date(2026, 11, 1))
    >>> first
    Period(start=datetime.date(2026, 12, 1), end=datetime.date(2027, 11, 30))
    >>> renewal_period(webconf, first, date(2027, 11, 15))
    Period(start=datetime.date(2027, 12, 1), end=datetime.date(2028, 11, 30))

docs/support-periods.md gives the clause behind each rule and every decision
taken where the terms are silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import assert_never

from dateutil.relativedelta import relativedelta

from keysvc.domain.periods import Coverage, Period, first_of_month
from keysvc.domain.support_errors import (
    IceNotOffered,
    RecontinuationNotAllowed,
    RecontinuationRequired,
    UnknownPolicy,
)

__all__ = [
    "POLICIES",
    "FirstStart",
    "LapsedRenewal",
    "SupportPolicy",
    "first_period",
    "first_period_start",
    "ice_entitled",
    "lapsed_renewal_start",
    "policy_for",
    "recontinuation_threshold",
    "renewal_period",
    "require_ice_entitlement",
]


class FirstStart(StrEnum):
    """Where the first period starts, from the order-acceptance date ``A``."""

    MONTH_AFTER_NEXT_OR_NEXT_IF_FIRST = "MONTH_AFTER_NEXT_OR_NEXT_IF_FIRST"
    """The 1st of the month after next; the 1st of the next month if ``A`` is a 1st (000 3.(1))."""

    NEXT_MONTH_OR_SAME_IF_FIRST = "NEXT_MONTH_OR_SAME_IF_FIRST"
    """The 1st of the next month; ``A`` itself if it is a 1st (001 3.(1))."""


class LapsedRenewal(StrEnum):
    """Where a renewal accepted after the previous period's end ``E`` starts."""

    CONTINUOUS = "CONTINUOUS"
    """Always ``E + 1 day``: the renewal is back-dated and leaves no gap (000 3.(2))."""

    NEXT_MONTH_OR_SAME_IF_FIRST = "NEXT_MONTH_OR_SAME_IF_FIRST"
    """The 1st of the month after acceptance; the acceptance day if it is a 1st (001 3.(2))."""


@dataclass(frozen=True, slots=True)
class SupportPolicy:
    """One product's support rules.

    - `name`: the policy's name (the ``products.policy`` column).
    - `first_period_start`: the rule for the first period's start.
    - `lapsed_renewal`: the rule for a renewal accepted after the last period
      ended; one accepted on or before that day always starts the day after.
    - `recontinuation_after`: a renewal accepted this long or longer after the
      last period's end must be a re-continuation; ``None``: there is none.
    - `ice_service`: a covered contract may use the ICE (STUN/TURN) servers.
    - `reissue_overlap_business_days`: how long the previous key of a REISSUE keeps
      working after the new one's release, in business days (0: it stops at once);
      SPEC section 5a.
    """

    name: str
    first_period_start: FirstStart
    lapsed_renewal: LapsedRenewal
    recontinuation_after: relativedelta | None
    ice_service: bool
    reissue_overlap_business_days: int = 5


POLICIES: Mapping[str, SupportPolicy] = MappingProxyType(
    {
        "neo-webconf": SupportPolicy(
            name="neo-webconf",
            first_period_start=FirstStart.MONTH_AFTER_NEXT_OR_NEXT_IF_FIRST,
            lapsed_renewal=LapsedRenewal.CONTINUOUS,
            recontinuation_after=None,
            ice_service=True,
        ),
        "neo-backup": SupportPolicy(
            name="neo-backup",
            first_period_start=FirstStart.NEXT_MONTH_OR_SAME_IF_FIRST,
            lapsed_renewal=LapsedRenewal.NEXT_MONTH_OR_SAME_IF_FIRST,
            recontinuation_after=relativedelta(years=1),
            ice_service=False,
        ),
    }
)
"""The policies by name. A product's row names its policy (``products.policy``,
read by `keysvc.service.products`); each seeded product is named like its policy."""


def policy_for(name: str) -> SupportPolicy:
    """The policy named *name*, or `UnknownPolicy`."""
    try:
        return POLICIES[name]
    except KeyError:
        raise UnknownPolicy(f"policies/{name}", f"no support policy named {name!r}") from None


def first_period_start(rule: FirstStart, accepted_on: date) -> date:
    """The first period's start under *rule* for an order accepted on *accepted_on*."""
    match rule:
        case FirstStart.MONTH_AFTER_NEXT_OR_NEXT_IF_FIRST:
            return first_of_month(accepted_on, 1 if accepted_on.day == 1 else 2)
        case FirstStart.NEXT_MONTH_OR_SAME_IF_FIRST:
            return _next_month_or_same_if_first(accepted_on)
        case _:
            assert_never(rule)


def lapsed_renewal_start(rule: LapsedRenewal, previous_end: date, accepted_on: date) -> date:
    """A renewal's start under *rule*, accepted on *accepted_on* after *previous_end*."""
    match rule:
        case LapsedRenewal.CONTINUOUS:
            return previous_end + timedelta(days=1)
        case LapsedRenewal.NEXT_MONTH_OR_SAME_IF_FIRST:
            return _next_month_or_same_if_first(accepted_on)
        case _:
            assert_never(rule)


def first_period(policy: SupportPolicy, accepted_on: date) -> Period:
    """The first period of a contract whose order was accepted on *accepted_on*.

    >>> first_period(POLICIES["neo-backup"], date(2026, 11, 1))
    Period(start=datetime.date(2026, 11, 1), end=datetime.date(2027, 10, 31))
    """
    return Period.starting(first_period_start(policy.first_period_start, accepted_on))


def recontinuation_threshold(policy: SupportPolicy, previous_end: date) -> date | None:
    """The first acceptance day on which a renewal must be a re-continuation.

    ``previous_end + recontinuation_after`` (seed 001 3.(3), "満了日から1年以上
    経過": ``A ≥ E + 1 year``); ``None`` when the policy has no re-continuation.

    >>> recontinuation_threshold(POLICIES["neo-backup"], date(2027, 11, 30))
    datetime.date(2028, 11, 30)
    """
    if policy.recontinuation_after is None:
        return None
    threshold: date = previous_end + policy.recontinuation_after
    return threshold


def renewal_period(
    policy: SupportPolicy, previous: Period, accepted_on: date, *, recontinuation: bool = False
) -> Period:
    """The period a renewal accepted on *accepted_on* buys after *previous*.

    *previous* is the contract's last period. Accepted on or before its end:
    the new period starts the day after it. Accepted later: the policy's
    `lapsed_renewal` rule decides. A plain renewal accepted on or after
    `recontinuation_threshold` raises `RecontinuationRequired`; a
    re-continuation (*recontinuation*) is accepted only then, and starts like
    any late renewal — otherwise `RecontinuationNotAllowed`.

    >>> backup = POLICIES["neo-backup"]
    >>> last = Period.starting(date(2026, 12, 1))
    >>> renewal_period(backup, last, date(2028, 1, 10))
    Period(start=datetime.date(2028, 2, 1), end=datetime.date(2029, 1, 31))
    """
    threshold = recontinuation_threshold(policy, previous.end)
    if recontinuation:
        if threshold is None:
            raise RecontinuationNotAllowed(
                f"{policy.name} has no re-continuation; renew instead",
                metadata={"cause": "NOT_OFFERED", "policy": policy.name},
            )
        if accepted_on < threshold:
            raise RecontinuationNotAllowed(
                f"a re-continuation is only needed from {threshold}; renew instead",
                metadata={
                    "cause": "NOT_NEEDED",
                    "previous_end": previous.end.isoformat(),
                    "required_from": threshold.isoformat(),
                },
            )
    elif threshold is not None and accepted_on >= threshold:
        raise RecontinuationRequired(
            f"support ended on {previous.end}, a year or more before {accepted_on}: "
            "a re-continuation is required",
            metadata={
                "previous_end": previous.end.isoformat(),
                "required_from": threshold.isoformat(),
            },
        )
    if accepted_on <= previous.end:
        return Period.starting(previous.next_start)
    return Period.starting(lapsed_renewal_start(policy.lapsed_renewal, previous.end, accepted_on))


def ice_entitled(policy: SupportPolicy, coverage: Coverage) -> bool:
    """Whether the contract may use the ICE servers: the policy offers them and it is covered."""
    return policy.ice_service and coverage.covered


def require_ice_entitlement(policy: SupportPolicy, coverage: Coverage) -> Coverage:
    """*coverage* if ICE is entitled, else `IceNotOffered` or `SupportExpired`."""
    if not policy.ice_service:
        raise IceNotOffered(
            f"{policy.name} does not include the ICE server service",
            metadata={"policy": policy.name},
        )
    return coverage.require("ICE server access")


def _next_month_or_same_if_first(day: date) -> date:
    return day if day.day == 1 else first_of_month(day, 1)
