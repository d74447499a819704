"""Use cases of support contracts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from keysvc.domain import add_licenses, first_period, jst_date, renewal_period
from keysvc.domain.errors import AlreadyExists, NotFound
from keysvc.domain.lifecycle import PeriodKind
from keysvc.domain.records import ContractRecord
from keysvc.mail import UndeliverableAddress, deliverable_address
from keysvc.persistence.contract_repository import (
    add_contract,
    add_period,
    get_contract,
    next_contract_sequence,
    set_contact,
    set_seats,
)
from keysvc.persistence.key_request_repository import readdress_waiting
from keysvc.service.products import ProductCatalogue

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NewContract:
    """A validated CreateContract request."""

    contract_number: str
    product_code: str
    customer_name: str
    contact_email: str
    seats: int
    purchase_date: date
    accept_date: date | None


@dataclass(frozen=True, slots=True)
class ContactChange:
    """A validated UpdateContract request: the new values of the fields its mask names
    (None for a field it leaves alone)."""

    customer_name: str | None = None
    contact_email: str | None = None


@dataclass(frozen=True, slots=True)
class ContractUpdate:
    """An updated contract, the fields whose value changed (none when
    the values were already these), and how many waiting requests took the new address."""

    contract: ContractRecord
    changed_fields: tuple[str, ...]
    readdressed_requests: int


def create_contract(
    connection: Connection, new: NewContract, now: datetime, products: ProductCatalogue
) -> ContractRecord:
    """Stores a contract with its first support period, generating its number when empty.

    The period follows the policy of the product's row (`ProductCatalogue`).
    """
    policy = products.policy_of(connection, new.product_code)
    accept_date = new.accept_date or jst_date(now, field="now")
    number = new.contract_number or _new_contract_number(connection, accept_date.year)
    if get_contract(connection, number) is not None:
        raise AlreadyExists(
            f"contract {number} exists already",
            reason="CONTRACT_EXISTS",
            metadata={"resource": f"contracts/{number}"},
        )
    record = ContractRecord(
        contract_number=number,
        product_code=new.product_code,
        customer_name=new.customer_name,
        contact_email=new.contact_email,
        seats=new.seats,
        purchase_date=new.purchase_date,
        accept_date=accept_date,
        created_at=now,
        periods=(first_period(policy, accept_date),),
    )
    add_contract(connection, record, PeriodKind.INITIAL)
    return record


def update_contract(
    connection: Connection, contract_number: str, change: ContactChange
) -> ContractUpdate:
    """Sets the contract's customer name and contact address to those `change` gives.

    A new address also goes to the contract's waiting (PENDING, HELD) requests whose
    address is the contract's old one (as stored, or its normal form, which a
    submission stores): those took the contract's address, and their keys are to be
    mailed where the customer now reads. A request submitted with an address of its
    own keeps it, and released requests keep the address their e-mail went to.
    """
    contract = require_contract(connection, contract_number, for_update=True)
    name = contract.customer_name if change.customer_name is None else change.customer_name
    email = contract.contact_email if change.contact_email is None else change.contact_email
    changed = tuple(
        field
        for field, old, new in (
            ("customer_name", contract.customer_name, name),
            ("contact_email", contract.contact_email, email),
        )
        if old != new
    )
    if not changed:
        return ContractUpdate(contract, (), 0)
    set_contact(connection, contract_number, customer_name=name, contact_email=email)
    readdressed = 0
    if "contact_email" in changed:
        readdressed = readdress_waiting(
            connection, contract_number, _forms_of(contract.contact_email), email
        )
    # The audit event names the call and the contract; which fields changed is logged
    # here, by name only: the values are the customer's personal data.
    logger.info(
        "contract updated",
        extra={
            "contract_number": contract_number,
            "changed_fields": ",".join(changed),
            "readdressed_requests": readdressed,
        },
    )
    return ContractUpdate(require_contract(connection, contract_number), changed, readdressed)


def _forms_of(address: str) -> set[str]:
    """The address as stored and, when deliverable, in the normal form a submission
    that took it stored on its request."""
    try:
        return {address, deliverable_address(address)}
    except UndeliverableAddress:
        return {address}


def require_contract(
    connection: Connection, contract_number: str, *, for_update: bool = False
) -> ContractRecord:
    """The contract, or `NotFound`."""
    contract = get_contract(connection, contract_number, for_update=for_update)
    if contract is None:
        raise contract_not_found(contract_number)
    return contract


def contract_not_found(contract_number: str) -> NotFound:
    """The error for a contract number that names no contract."""
    return NotFound(f"contracts/{contract_number}", reason="CONTRACT_NOT_FOUND")


def _new_contract_number(connection: Connection, year: int) -> str:
    # Sequential per year, as on the support certificates; numbers staff typed in
    # by hand in the same pattern are skipped, never reused.
    while True:
        number = f"SS-{year}-{next_contract_sequence(connection, year):06d}"
        if get_contract(connection, number) is None:
            return number


def renew_contract(
    connection: Connection,
    contract_number: str,
    accepted_on: date,
    *,
    recontinuation: bool,
    now: datetime,
    products: ProductCatalogue,
) -> ContractRecord:
    """Adds the next support period by the renewal rules of the product's policy."""
    contract = require_contract(connection, contract_number, for_update=True)
    period = renewal_period(
        products.policy_of(connection, contract.product_code),
        contract.periods[-1],
        accepted_on,
        recontinuation=recontinuation,
    )
    add_period(
        connection,
        contract_number,
        period,
        kind=PeriodKind.RECONTINUATION if recontinuation else PeriodKind.RENEWAL,
        accept_date=accepted_on,
        now=now,
    )
    return require_contract(connection, contract_number)


def add_seats(
    connection: Connection, contract_number: str, additional: int, bought_on: date
) -> ContractRecord:
    """Raises the licensed quantity; the period stays as it is."""
    contract = require_contract(connection, contract_number, for_update=True)
    seats = add_licenses(
        contract.seats,
        additional,
        bought_on=bought_on,
        purchase_date=contract.purchase_date,
        periods=contract.periods,
    )
    set_seats(connection, contract_number, seats)
    return require_contract(connection, contract_number)
