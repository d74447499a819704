"""Use cases of a contract's support: its coverage on a day, and ICE credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from keysvc.domain import Coverage, coverage_on, ice_entitled, jst_date, require_ice_entitlement
from keysvc.domain.ice import TurnCredential, turn_credential
from keysvc.domain.records import ContractRecord
from keysvc.service.contracts import require_contract
from keysvc.service.products import ProductCatalogue

__all__ = ["SupportOnDay", "issue_ice_credential", "support_on"]


@dataclass(frozen=True, slots=True)
class SupportOnDay:
    """A contract's coverage on a day, and whether it entitles to ICE servers then."""

    contract: ContractRecord
    coverage: Coverage
    ice_entitled: bool


def support_on(
    connection: Connection, products: ProductCatalogue, contract_number: str, day: date
) -> SupportOnDay:
    """The coverage of a contract on `day`; `NotFound` for an unknown contract."""
    contract = require_contract(connection, contract_number)
    coverage = coverage_on(day, contract.purchase_date, contract.periods)
    policy = products.policy_of(connection, contract.product_code)
    return SupportOnDay(contract, coverage, ice_entitled(policy, coverage))


def issue_ice_credential(
    connection: Connection,
    products: ProductCatalogue,
    contract_number: str,
    now: datetime,
    secret: bytes,
) -> TurnCredential:
    """TURN credentials for a contract entitled to ICE servers today, valid no later
    than its coverage (SPEC section 7); `IceNotOffered` or `SupportExpired` otherwise."""
    contract = require_contract(connection, contract_number)
    coverage = require_ice_entitlement(
        products.policy_of(connection, contract.product_code),
        coverage_on(jst_date(now, field="now"), contract.purchase_date, contract.periods),
    )
    assert coverage.covered_until is not None, "a covered contract is covered until a day"
    return turn_credential(secret, contract_number, now, coverage.covered_until)
