"""A product's support policy is the one its row names, over real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, insert

from keysvc.domain import POLICIES, Period, RecontinuationRequired, UnknownPolicy
from keysvc.domain.errors import InvalidArgument
from keysvc.persistence.schema import products
from keysvc.service.contracts import NewContract, create_contract, renew_contract
from keysvc.service.products import ProductCatalogue

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
# Accepted on the 22nd: webconf's first period starts 2027-01-01, backup's 2026-12-01.
ACCEPTED = date(2026, 11, 22)


@pytest.fixture
def connection(engine):
    with engine.begin() as conn:
        yield conn


def _add_product(connection, code: str, policy: str) -> None:
    connection.execute(insert(products).values(code=code, display_name=code, policy=policy))


def _contract(connection, catalogue, product: str):
    new = NewContract("", product, "株式会社テスト", "it@example.co.jp", 5, ACCEPTED, ACCEPTED)
    return create_contract(connection, new, NOW, catalogue)


def test_the_seeded_products_name_their_policies(connection) -> None:
    catalogue = ProductCatalogue()
    catalogue.load(connection)
    assert catalogue.policy_of(connection, "neo-webconf") is POLICIES["neo-webconf"]
    assert catalogue.policy_of(connection, "neo-backup") is POLICIES["neo-backup"]


def test_a_contract_follows_the_policy_its_products_row_names(connection) -> None:
    # A product whose code is no policy's name: only its row links it to backup's rules.
    _add_product(connection, "neo-backup-plus", "neo-backup")
    catalogue = ProductCatalogue()
    catalogue.load(connection)
    contract = _contract(connection, catalogue, "neo-backup-plus")
    assert contract.periods == (Period(date(2026, 12, 1), date(2027, 11, 30)),)
    # Renewing follows backup's rules too: a year after the end needs a re-continuation.
    with pytest.raises(RecontinuationRequired):
        renew_contract(
            connection,
            contract.contract_number,
            date(2028, 11, 30),
            recontinuation=False,
            now=NOW,
            products=catalogue,
        )


def test_a_product_added_while_running_is_found(connection) -> None:
    catalogue = ProductCatalogue()
    catalogue.load(connection)
    _add_product(connection, "neo-webconf-large", "neo-webconf")
    contract = _contract(connection, catalogue, "neo-webconf-large")
    assert contract.periods[0].start == date(2027, 1, 1)


def test_known_products_are_answered_without_a_query(connection) -> None:
    catalogue = ProductCatalogue()
    catalogue.load(connection)
    statements: list[str] = []

    def listener(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", listener)
    try:
        for _ in range(3):
            catalogue.policy_of(connection, "neo-webconf")
        assert statements == []
        with pytest.raises(InvalidArgument):
            catalogue.policy_of(connection, "neo-nothing")
        assert len(statements) == 1  # an unknown code is looked for once more
    finally:
        event.remove(connection, "before_cursor_execute", listener)


def test_an_unknown_product_is_an_invalid_argument(connection) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _contract(connection, ProductCatalogue(), "neo-nothing")
    assert caught.value.reason == "UNKNOWN_PRODUCT"
    assert caught.value.metadata["field"] == "product_code"


def test_a_row_naming_no_policy_is_refused_with_the_product(connection) -> None:
    _add_product(connection, "neo-mail", "neo-mail-policy")
    with pytest.raises(UnknownPolicy) as caught:
        ProductCatalogue().load(connection)
    assert "neo-mail" in str(caught.value)
    assert caught.value.metadata["resource"] == "policies/neo-mail-policy"
