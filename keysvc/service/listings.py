"""The admin API's lists, read through the service layer.

A list has no rule beyond its filters and its page, so each query here is the
repository's own paged read, offered to the API under the service's name: the API
imports the service layer, never a repository (import-linter, docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain.lifecycle import KeyRequestState
from keysvc.domain.records import KeyRequestRecord
from keysvc.persistence.audit_repository import list_events
from keysvc.persistence.closure_repository import list_closure_records
from keysvc.persistence.contract_repository import list_contracts
from keysvc.persistence.key_request_repository import list_key_requests, list_licenses
from keysvc.persistence.outbox_repository import delivery_states, list_mail_deliveries
from keysvc.persistence.token_repository import list_token_records

__all__ = [
    "KeyRequestPage",
    "list_closure_records",
    "list_contracts",
    "list_events",
    "list_key_request_page",
    "list_licenses",
    "list_mail_deliveries",
    "list_token_records",
]


@dataclass(frozen=True, slots=True)
class KeyRequestPage:
    """A page of key requests, the delivery state of each one's e-mail (absent before
    one is queued), and how many requests match the filters over all pages."""

    records: list[KeyRequestRecord]
    mail_states: dict[str, str]
    total: int


def list_key_request_page(
    connection: Connection,
    *,
    limit: int,
    after: tuple[datetime, str] | None,
    contract_number: str,
    state: KeyRequestState | None,
    at_risk: bool,
    late: bool,
) -> KeyRequestPage:
    """Requests in acceptance order (`list_key_requests`) with their e-mails' delivery
    states, read in one more query for the whole page, so a list says what
    GetKeyRequest says of each request."""
    records, total = list_key_requests(
        connection,
        limit=limit,
        after=after,
        contract_number=contract_number,
        state=state,
        at_risk=at_risk,
        late=late,
    )
    return KeyRequestPage(records, delivery_states(connection, [r.id for r in records]), total)
