"""Errors of the support-period domain: what the support terms refuse, and why.

Every class refines one of the service's error branches (`keysvc.domain.errors`), so
`keysvc.api.status` maps it to its gRPC code without knowing this module; each
carries its own stable ``reason`` for the ``google.rpc.ErrorInfo``::

    KeysvcError
    ├── InvalidArgument                      INVALID_ARGUMENT
    │   └── InvalidPeriod                    INVALID_PERIOD
    ├── NotFound                             NOT_FOUND
    │   └── UnknownPolicy                    UNKNOWN_POLICY
    └── FailedPrecondition                   FAILED_PRECONDITION
        ├── SupportExpired                   SUPPORT_EXPIRED
        ├── RecontinuationRequired           RECONTINUATION_REQUIRED
        ├── RecontinuationNotAllowed         RECONTINUATION_NOT_ALLOWED
        └── IceNotOffered                    ICE_NOT_OFFERED

Other bad input (a naive instant, a seat count below one) is a plain
`InvalidArgument` whose ``metadata["field"]`` names the argument. Reasons never
change once published; messages may.
"""

from __future__ import annotations

from keysvc.domain.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = [
    "IceNotOffered",
    "InvalidPeriod",
    "RecontinuationNotAllowed",
    "RecontinuationRequired",
    "SupportExpired",
    "UnknownPolicy",
]


class InvalidPeriod(InvalidArgument):
    """A period ends before it starts, or a contract's periods overlap."""

    reason = "INVALID_PERIOD"


class UnknownPolicy(NotFound):
    """No support policy has that name (`keysvc.domain.POLICIES` lists them)."""

    reason = "UNKNOWN_POLICY"


class SupportExpired(FailedPrecondition):
    """The contract is not covered on the day a support service was asked for.

    Raised for a re-issue on server change, for licenses added outside coverage
    and for ICE credentials. ``metadata`` holds ``day`` and, when the contract
    had support before, ``last_covered_day`` (ISO dates).
    """

    reason = "SUPPORT_EXPIRED"


class RecontinuationRequired(FailedPrecondition):
    """A plain renewal came a year or more after the last period ended (seed 001, 3.(3)).

    The customer must buy a re-continuation (再継続年間サポート) instead.
    ``metadata`` holds ``previous_end`` and ``required_from`` (ISO dates).
    """

    reason = "RECONTINUATION_REQUIRED"


class RecontinuationNotAllowed(FailedPrecondition):
    """A re-continuation was asked where a plain renewal is the right purchase.

    Either the product's policy has no re-continuation at all, or the lapse is
    shorter than the policy's threshold. ``metadata["cause"]`` is
    ``NOT_OFFERED`` or ``NOT_NEEDED``.
    """

    reason = "RECONTINUATION_NOT_ALLOWED"


class IceNotOffered(FailedPrecondition):
    """ICE server access was asked for a product whose policy does not include it."""

    reason = "ICE_NOT_OFFERED"
