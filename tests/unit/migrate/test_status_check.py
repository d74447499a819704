"""What each refusal of a status list means for the customer (`status_check`)."""

from __future__ import annotations

import pytest

from keysvc.migrate.status_check import (
    STATUS_LIST_EXPLANATIONS,
    explain_status_list_error,
    is_url,
)
from signing import StatusListError


def concrete_status_list_errors() -> list[type[StatusListError]]:
    found: list[type[StatusListError]] = []
    pending = [StatusListError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def test_the_list_of_refusals_is_the_one_signing_has() -> None:
    # Guards the test below: a renamed or moved error tree must not make it pass vacuously.
    assert len(concrete_status_list_errors()) >= 11


@pytest.mark.parametrize("error", concrete_status_list_errors(), ids=lambda error: error.__name__)
def test_every_refusal_signing_can_raise_has_its_own_explanation(
    error: type[StatusListError],
) -> None:
    assert error.reason in STATUS_LIST_EXPLANATIONS
    assert (
        explain_status_list_error(error.reason) != STATUS_LIST_EXPLANATIONS[StatusListError.reason]
    )


def test_a_reason_added_later_still_gets_an_answer() -> None:
    assert (
        explain_status_list_error("STATUS_LIST_SOMETHING_NEW")
        == (STATUS_LIST_EXPLANATIONS[StatusListError.reason])
    )


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("https://status.example.jp/statuslists/1", True),
        ("http://127.0.0.1:8080/statuslists/1", True),
        ("list.jwt", False),
        ("/var/lib/neo/statuslist-1.jwt", False),
        ("HTTPS://status.example.jp/1", True),
        ("ftp://status.example.jp/1", False),
    ],
)
def test_only_http_and_https_urls_are_fetched_the_rest_are_files(source: str, url: bool) -> None:
    assert is_url(source) is url
