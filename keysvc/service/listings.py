"""The admin API's lists, read through the service layer.

A list has no rule beyond its filters and its page, so each query here is the
repository's own paged read, offered to the API under the service's name: the API
imports the service layer, never a repository (import-linter, docs/architecture.md).
"""

from __future__ import annotations

from keysvc.persistence.audit_repository import list_events
from keysvc.persistence.closure_repository import list_closure_records
from keysvc.persistence.contract_repository import list_contracts
from keysvc.persistence.key_request_repository import list_key_requests, list_licenses
from keysvc.persistence.token_repository import list_token_records

__all__ = [
    "list_closure_records",
    "list_contracts",
    "list_events",
    "list_key_requests",
    "list_licenses",
    "list_token_records",
]
