"""The examples in the docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "keysvc.migrate.fingerprint",
    "keysvc.migrate.offline_check",
    "keysvc.migrate.status_check",
    "keysvc.migrate.wording",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
