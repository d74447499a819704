"""Withdrawing a signing key whose private part may have leaked (SPEC 5a, docs/signing-keys.md).

In one transaction: the key leaves the published keys (nothing verifies with it
any more), every status list is marked changed (the entries of keys it signed
are INVALID from the next publication on, and a list token it signed is signed
again by the active key), and each ACTIVE license it
signed gets a REPLACEMENT key request — the same license signed again by the
active key, same fingerprint, next generation, no re-issue counted — due at
once. The scheduler's release loop then releases them in batches and the outbox
e-mails each customer, as for any release; `signing_key_views` shows the progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain import jst_date
from keysvc.domain.errors import FailedPrecondition, NotFound
from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState
from keysvc.domain.records import KeyRequestRecord, StoredSigningKey
from keysvc.domain.tokens import Principal
from keysvc.persistence.key_request_repository import (
    active_licenses_signed_by,
    add_key_requests,
    replacement_progress,
)
from keysvc.persistence.signing_key_repository import list_signing_keys, withdraw_key
from keysvc.persistence.status_list_repository import mark_all_changed
from keysvc.service.identifiers import new_key_request_id


@dataclass(frozen=True, slots=True)
class SigningKeyView:
    """A signing key as staff see it: the key, and for a withdrawn one its replacements."""

    key: StoredSigningKey
    replacements_total: int
    replacements_released: int


def signing_key_views(connection: Connection) -> list[SigningKeyView]:
    """Every signing key, withdrawn ones included, the active one first."""
    progress = replacement_progress(connection)
    views = []
    for key in list_signing_keys(connection, withdrawn=True):
        states = progress.get(key.kid, {})
        views.append(
            SigningKeyView(key, sum(states.values()), states.get(KeyRequestState.RELEASED, 0))
        )
    return views


def withdraw_signing_key(
    connection: Connection, kid: str, reason: str, principal: Principal, now: datetime
) -> SigningKeyView:
    """Withdraws the retired key `kid` and asks for its licenses' replacements; returns it.

    Refused for the active key (rotate first, so that the replacements are signed
    by a key that is not withdrawn). Withdrawing a withdrawn key changes nothing:
    its first reason stays.
    """
    keys = {key.kid: key for key in list_signing_keys(connection, withdrawn=True)}
    key = keys.get(kid)
    if key is None:
        raise NotFound(f"signingKeys/{kid}", reason="SIGNING_KEY_NOT_FOUND")
    if key.active:
        raise FailedPrecondition(
            f"signing key {kid} is the active key: rotate first (RotateSigningKey), "
            "then withdraw it",
            reason="SIGNING_KEY_ACTIVE",
            metadata={"kid": kid},
        )
    if key.withdrawn_at is None:
        withdraw_key(connection, kid, reason, now)
        mark_all_changed(connection)
        _ask_for_replacements(connection, kid, principal, now)
    (view,) = [view for view in signing_key_views(connection) if view.key.kid == kid]
    return view


def _ask_for_replacements(
    connection: Connection, kid: str, principal: Principal, now: datetime
) -> None:
    """A REPLACEMENT request, due now, for each ACTIVE license `kid` signed."""
    today = jst_date(now, field="now")
    add_key_requests(
        connection,
        [
            (
                KeyRequestRecord(
                    id=new_key_request_id(),
                    contract_number=signed.contract_number,
                    kind=KeyRequestKind.REPLACEMENT,
                    state=KeyRequestState.PENDING,
                    fingerprint=None,
                    fingerprint_hash=signed.fingerprint_hash,
                    contact_email=signed.contact_email,
                    previous_license_serial=signed.serial,
                    accepted_at=now,
                    # Not a customer's request under the support terms: due the day it
                    # is made, released by the next batches whatever the calendar.
                    due_date=today,
                    release_at=now,
                    released_at=None,
                    license_serial=None,
                    hold_reason=None,
                    reject_reason=None,
                    at_risk=False,
                    released_late=False,
                ),
                principal.token_id,
            )
            for signed in active_licenses_signed_by(connection, kid)
        ],
    )
