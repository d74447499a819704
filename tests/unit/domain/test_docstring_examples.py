"""The examples in the domain's docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "keysvc.domain.periods",
    "keysvc.domain.policies",
    "keysvc.domain.reissue",
    "keysvc.domain.ice",
    "keysvc.domain.audit_chain",
    "keysvc.domain.lifecycle",
    "keysvc.domain.status_positions",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
