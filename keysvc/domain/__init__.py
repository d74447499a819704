"""keysvc's domain core: the records, their lifecycles, and the support terms' rules.

Pure rules from the products' support terms (SPEC sections 2, 4 and 6): calendar
dates and instants in, values out, domain errors raised. No database, no gRPC,
no clock — callers pass ``today`` and ``now``. docs/support-periods.md ties
each rule to the clause of the terms it comes from.

- `keysvc.domain.records`: the records the repositories store and the API shows.
- `keysvc.domain.lifecycle`: `KeyRequestState`, `KeyRequestKind`,
  `LicenseStatus` …, the allowed moves, `is_late`.
- `keysvc.domain.errors`: the error tree every layer raises (its reasons are the
  API's `ErrorInfo` reasons); `keysvc.domain.support_errors`: the terms' refusals
  (`SupportExpired`, `RecontinuationRequired` …).
- `keysvc.domain.tokens`: bearer tokens' format and roles.
- `keysvc.domain.periods`: `Period`, `Coverage`, `coverage_on`,
  `support_end_for`, `add_licenses`.
- `keysvc.domain.policies`: `SupportPolicy` (rules as data), `POLICIES`,
  `first_period`, `renewal_period`, ICE entitlement.
- `keysvc.domain.reissue`: `reissue_needs_hold`, `require_reissue_entitlement`.
"""

from __future__ import annotations

from keysvc.domain.periods import (
    JST,
    Coverage,
    Period,
    add_licenses,
    coverage_on,
    current_period,
    first_of_month,
    jst_date,
    support_end_for,
    year_end,
)
from keysvc.domain.policies import (
    POLICIES,
    FirstStart,
    LapsedRenewal,
    SupportPolicy,
    first_period,
    first_period_start,
    ice_entitled,
    lapsed_renewal_start,
    policy_for,
    recontinuation_threshold,
    renewal_period,
    require_ice_entitlement,
)
from keysvc.domain.reissue import (
    REISSUE_HOLD_REASON,
    REISSUE_LIMIT,
    REISSUE_WINDOW,
    reissue_needs_hold,
    require_reissue_entitlement,
)
from keysvc.domain.support_errors import (
    IceNotOffered,
    InvalidPeriod,
    RecontinuationNotAllowed,
    RecontinuationRequired,
    SupportExpired,
    UnknownPolicy,
)

__all__ = [
    "JST",
    "POLICIES",
    "REISSUE_HOLD_REASON",
    "REISSUE_LIMIT",
    "REISSUE_WINDOW",
    "Coverage",
    "FirstStart",
    "IceNotOffered",
    "InvalidPeriod",
    "LapsedRenewal",
    "Period",
    "RecontinuationNotAllowed",
    "RecontinuationRequired",
    "SupportExpired",
    "SupportPolicy",
    "UnknownPolicy",
    "add_licenses",
    "coverage_on",
    "current_period",
    "first_of_month",
    "first_period",
    "first_period_start",
    "ice_entitled",
    "jst_date",
    "lapsed_renewal_start",
    "policy_for",
    "recontinuation_threshold",
    "reissue_needs_hold",
    "renewal_period",
    "require_ice_entitlement",
    "require_reissue_entitlement",
    "support_end_for",
    "year_end",
]
