"""The products keysvc issues keys for, each with its support policy.

A product's row names its policy (``products.policy``); the rules themselves
are code, `keysvc.domain.POLICIES`. Products are a few rows written by
migrations and never by the API, so the catalogue reads them once and keeps
them: at start (`build_services`), where a row naming no known policy stops
the service, and again only when asked for a code it has not seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import Connection

from keysvc.domain import SupportPolicy, UnknownPolicy, policy_for
from keysvc.domain.errors import InvalidArgument
from keysvc.persistence.contract_repository import product_policy_names


class ProductCatalogue:
    """Each product's `SupportPolicy`, by product code, read from the products table.

    Safe to share between threads: a reload replaces the whole mapping at once.
    """

    def __init__(self) -> None:
        self._policies: Mapping[str, SupportPolicy] = MappingProxyType({})

    def load(self, connection: Connection) -> None:
        """Reads the products table; `UnknownPolicy` if a row names no policy of the code."""
        policies = {}
        for code, name in product_policy_names(connection).items():
            try:
                policies[code] = policy_for(name)
            except UnknownPolicy as error:
                raise UnknownPolicy(
                    error.resource, f"product {code!r} names no support policy: {name!r}"
                ) from None
        self._policies = MappingProxyType(policies)

    def policy_of(self, connection: Connection, product_code: str) -> SupportPolicy:
        """The product's policy; `InvalidArgument` (``UNKNOWN_PRODUCT``) for no such product.

        A code not seen yet is looked for once more in the table, so a product
        added while the service runs is found without a restart.
        """
        if product_code not in self._policies:
            self.load(connection)
        try:
            return self._policies[product_code]
        except KeyError:
            raise InvalidArgument(
                "product_code", f"unknown product {product_code!r}", reason="UNKNOWN_PRODUCT"
            ) from None
