"""The examples in the mail package's docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "keysvc.mail.address",
    "keysvc.mail.compose",
    "keysvc.mail.outbox",
    "keysvc.mail.smtp",
    "keysvc.mail.transports",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
