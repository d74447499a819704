"""The examples in the mail package's docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "scheduler.mail.address",
    "scheduler.mail.compose",
    "scheduler.mail.outbox",
    "scheduler.mail.smtp",
    "scheduler.mail.transports",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
