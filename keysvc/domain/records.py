"""The service's records: what is stored of contracts, requests, licenses and the rest.

Plain values: the repositories (keysvc/persistence) read and write them, the
service layer decides with them, and the API maps them to messages. None of
them knows how it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState, LicenseStatus
from keysvc.domain.periods import Period
from scheduler.calendar import Closure
from signing import VerifyingKey

__all__ = [
    "AuditEvent",
    "ClosureRecord",
    "ContractRecord",
    "KeyRequestRecord",
    "LicenseRecord",
    "MailDeliveryRecord",
    "StoredSigningKey",
    "TokenRecord",
]


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """A support contract with its periods, oldest first."""

    contract_number: str
    product_code: str
    customer_name: str
    contact_email: str
    seats: int
    purchase_date: date
    accept_date: date
    created_at: datetime
    periods: tuple[Period, ...]

    @property
    def coverage_start(self) -> date:
        """Support is given from the purchase date, or the first period if that is earlier."""
        return min(self.purchase_date, self.periods[0].start)


@dataclass(frozen=True, slots=True)
class KeyRequestRecord:
    """A key request as stored."""

    id: str
    contract_number: str
    kind: KeyRequestKind
    state: KeyRequestState
    fingerprint: str | None
    fingerprint_hash: str
    contact_email: str
    previous_license_serial: str | None
    accepted_at: datetime
    due_date: date
    release_at: datetime
    released_at: datetime | None
    license_serial: str | None
    hold_reason: str | None
    reject_reason: str | None
    at_risk: bool
    released_late: bool


@dataclass(frozen=True, slots=True)
class LicenseRecord:
    """A license as stored."""

    serial: str
    contract_number: str
    key_request_id: str
    status: LicenseStatus
    seats: int
    generation: int
    fingerprint_hash: str
    kid: str
    issued_at: datetime
    support_end: date
    license_key: str
    superseded_by: str | None
    revoke_reason: str | None
    # When the key stops being valid once superseded (the end of a re-issue's overlap).
    supersede_at: datetime | None = None
    # Why staff ended the overlap early, when they did.
    supersede_reason: str | None = None
    # The key's entry in a status list (SPEC section 5a): the list's number and the index;
    # None for keys issued without a status claim.
    status_list: int | None = None
    status_index: int | None = None


@dataclass(frozen=True, slots=True)
class MailDeliveryRecord:
    """A key e-mail in the outbox as staff follow it: where it goes and how its delivery
    went, never its body (which carries the key). ``state`` is ``QUEUED``, ``SENT`` or
    ``FAILED``."""

    id: int
    key_request_id: str
    recipient: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClosureRecord:
    """A stored closure and its id."""

    id: str
    closure: Closure


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what to which resource, when, and how it ended."""

    id: int
    occurred_at: datetime
    actor_token_id: str
    actor_role: str
    method: str
    resource: str
    outcome: str


@dataclass(frozen=True, slots=True)
class StoredSigningKey:
    """One row of the signing key table (its private part stays encrypted)."""

    kid: str
    verifying_key: VerifyingKey
    private_key_pem: bytes
    active: bool
    created_at: datetime
    retired_at: datetime | None
    # Withdrawn (its private part may have leaked): when and why; None otherwise.
    withdrawn_at: datetime | None = None
    withdraw_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What may be shown of a token: everything but its secret."""

    token_id: str
    role: str
    description: str
    created_at: datetime
    revoked_at: datetime | None
