"""Contracts and their support periods."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keysvc.domain import Period
from keysvc.domain.lifecycle import PeriodKind
from keysvc.domain.records import ContractRecord
from keysvc.persistence.driver_statement import DriverStatement
from keysvc.persistence.schema import (
    contract_number_counters,
    contracts,
    products,
    support_periods,
)


def product_policy_names(connection: Connection) -> dict[str, str]:
    """Every product's support policy name (the ``policy`` column), by product code."""
    rows = connection.execute(select(products.c.code, products.c.policy))
    return {row.code: row.policy for row in rows}


def product_display_name(connection: Connection, product_code: str) -> str:
    """The product's name for people, e.g. in the e-mail that carries a key."""
    query = select(products.c.display_name).where(products.c.code == product_code)
    return str(connection.execute(query).scalar_one())


def add_contract(connection: Connection, contract: ContractRecord, period_kind: PeriodKind) -> None:
    """Stores a new contract with its first period."""
    connection.execute(
        insert(contracts).values(
            contract_number=contract.contract_number,
            product_code=contract.product_code,
            customer_name=contract.customer_name,
            contact_email=contract.contact_email,
            seats=contract.seats,
            purchase_date=contract.purchase_date,
            accept_date=contract.accept_date,
            created_at=contract.created_at,
        )
    )
    for period in contract.periods:
        add_period(
            connection,
            contract.contract_number,
            period,
            kind=period_kind,
            accept_date=contract.accept_date,
            now=contract.created_at,
        )


def add_period(
    connection: Connection,
    contract_number: str,
    period: Period,
    *,
    kind: PeriodKind,
    accept_date: date,
    now: datetime,
) -> None:
    """Appends a support period (INITIAL, RENEWAL or RECONTINUATION)."""
    connection.execute(
        insert(support_periods).values(
            contract_number=contract_number,
            start_date=period.start,
            end_date=period.end,
            kind=kind,
            accept_date=accept_date,
            created_at=now,
        )
    )


def set_seats(connection: Connection, contract_number: str, seats: int) -> None:
    """Records a new licensed quantity."""
    connection.execute(
        update(contracts).where(contracts.c.contract_number == contract_number).values(seats=seats)
    )


def set_contact(
    connection: Connection, contract_number: str, *, customer_name: str, contact_email: str
) -> None:
    """Records the contract's customer name and contact address."""
    connection.execute(
        update(contracts)
        .where(contracts.c.contract_number == contract_number)
        .values(customer_name=customer_name, contact_email=contact_email)
    )


def get_contract(
    connection: Connection, contract_number: str, *, for_update: bool = False
) -> ContractRecord | None:
    """The contract with its periods, or None. `for_update` locks it on PostgreSQL."""
    return get_contracts(connection, [contract_number], for_update=for_update).get(contract_number)


# Every submission and release reads these: they run on the driver's cursor
# (`DriverStatement`), selecting a record's fields (but its periods) in its order.
_CONTRACT_COLUMNS: Final = [contracts.c[name] for name in ContractRecord.__slots__[:-1]]
_SELECT_CONTRACTS: Final = (
    select(*_CONTRACT_COLUMNS)
    .where(contracts.c.contract_number.in_(bindparam("numbers", expanding=True)))
    .order_by(contracts.c.contract_number)
)
_GET_CONTRACTS: Final = DriverStatement(_SELECT_CONTRACTS, lists=("numbers",))
_GET_CONTRACTS_FOR_UPDATE: Final = DriverStatement(
    _SELECT_CONTRACTS.with_for_update(), lists=("numbers",)
)
_SELECT_PERIODS: Final = DriverStatement(
    select(
        support_periods.c.contract_number,
        support_periods.c.start_date,
        support_periods.c.end_date,
    )
    .where(support_periods.c.contract_number.in_(bindparam("numbers", expanding=True)))
    .order_by(support_periods.c.start_date),
    lists=("numbers",),
)
_SELECT_DISPLAY_NAMES: Final = DriverStatement(select(products.c.code, products.c.display_name))


def get_contracts(
    connection: Connection, numbers: list[str], *, for_update: bool = False
) -> dict[str, ContractRecord]:
    """The contracts among `numbers` that exist, by number; `for_update` locks them
    (in number order, so two batches locking overlapping sets cannot deadlock)."""
    if not numbers:
        return {}
    query = _GET_CONTRACTS_FOR_UPDATE if for_update else _GET_CONTRACTS
    rows = query.rows(connection, {"numbers": numbers})
    periods = _periods(connection, [row[0] for row in rows])
    return {row[0]: _record(row, periods[row[0]]) for row in rows}


def product_display_names(connection: Connection) -> dict[str, str]:
    """Every product's name for people, by product code."""
    return dict(_SELECT_DISPLAY_NAMES.rows(connection))


def list_contracts(
    connection: Connection, *, limit: int, after: str | None, product_code: str
) -> list[ContractRecord]:
    """Contracts ordered by number, starting after `after`."""
    query = select(*_CONTRACT_COLUMNS).order_by(contracts.c.contract_number).limit(limit)
    if after is not None:
        query = query.where(contracts.c.contract_number > after)
    if product_code:
        query = query.where(contracts.c.product_code == product_code)
    rows = connection.execute(query).all()
    periods = _periods(connection, [row.contract_number for row in rows])
    return [_record(row, periods.get(row.contract_number, ())) for row in rows]


def contact_addresses(connection: Connection) -> Iterator[tuple[str, str]]:
    """(contract number, contact e-mail) of every contract, by number, read in chunks:
    for the check of stored addresses, which reads the whole table."""
    query = select(contracts.c.contract_number, contracts.c.contact_email).order_by(
        contracts.c.contract_number
    )
    for row in connection.execution_options(yield_per=1000).execute(query):
        yield row.contract_number, row.contact_email


def next_contract_sequence(connection: Connection, year: int) -> int:
    """Takes the next support service number's sequence of `year` (1, 2, ...).

    The counter row stays locked until the transaction ends, so concurrent
    creations queue for it instead of colliding; a rolled-back creation gives
    its number back.
    """
    insert_ = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    connection.execute(
        insert_(contract_number_counters)
        .values(year=year, last_sequence=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    counter = contract_number_counters.c
    sequence: int = connection.execute(
        update(contract_number_counters)
        .where(counter.year == year)
        .values(last_sequence=counter.last_sequence + 1)
        .returning(counter.last_sequence)
    ).scalar_one()
    return sequence


def _periods(connection: Connection, numbers: list[str]) -> dict[str, tuple[Period, ...]]:
    if not numbers:
        return {}
    found: dict[str, list[Period]] = {}
    for number, start, end in _SELECT_PERIODS.rows(connection, {"numbers": numbers}):
        found.setdefault(number, []).append(Period(start, end))
    return {number: tuple(periods) for number, periods in found.items()}


def _record(row: Sequence[Any], periods: tuple[Period, ...]) -> ContractRecord:
    """The record of a row of `_CONTRACT_COLUMNS`, with its periods."""
    number, product, customer, email, seats, purchase, accept, created = row
    return ContractRecord(
        number, product, customer, email, seats, purchase, accept, created, periods
    )
