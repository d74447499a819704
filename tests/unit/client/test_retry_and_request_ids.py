"""The client's pure parts: backoff pauses and request ids."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.client import RetryPolicy
from keysvc.client.calls import with_request_id
from keysvc.client.retry import MIN_INITIAL_BACKOFF
from keysvc.v1 import admin_service_pb2, license_service_pb2


@given(
    attempts=st.integers(1, 10),
    initial=st.just(0.0) | st.floats(MIN_INITIAL_BACKOFF, 5),
    ceiling=st.floats(0, 30),
    multiplier=st.floats(1, 4),
    seed=st.integers(),
)
def test_pauses_are_one_fewer_than_attempts_and_within_the_growing_cap(
    attempts, initial, ceiling, multiplier, seed
):
    policy = RetryPolicy(attempts, initial, ceiling, multiplier)
    pauses = list(policy.pauses(random.Random(seed)))  # noqa: S311 - a test's jitter
    assert len(pauses) == attempts - 1
    for index, pause in enumerate(pauses):
        assert 0 <= pause <= min(ceiling, initial * multiplier**index)


def test_the_cap_grows_exponentially_until_the_maximum():
    policy = RetryPolicy(attempts=6, initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)

    class Highest(random.Random):
        def uniform(self, a, b):
            return b

    assert list(policy.pauses(Highest())) == [0.1, 0.2, 0.4, 0.8, 1.0]


def test_a_long_policy_stays_at_its_maximum_instead_of_overflowing():
    policy = RetryPolicy(attempts=3000, initial_backoff=0.001, max_backoff=30.0, multiplier=4.0)
    assert policy.cap(2999) == 30.0
    assert max(policy.pauses(random.Random(1))) <= 30.0  # noqa: S311 - a test's jitter


def test_no_initial_pause_stays_no_pause():
    assert set(RetryPolicy(attempts=2000, initial_backoff=0).pauses()) == {0.0}


def test_the_shortest_initial_pause_accepted_is_the_minimum():
    assert RetryPolicy(initial_backoff=MIN_INITIAL_BACKOFF).cap(0) == MIN_INITIAL_BACKOFF


@pytest.mark.parametrize(
    "fields",
    [
        {"attempts": 0},
        {"initial_backoff": -1},
        {"max_backoff": -1},
        {"multiplier": 0.5},
        {"initial_backoff": 5e-324},
        {"initial_backoff": MIN_INITIAL_BACKOFF / 2},
        {"initial_backoff": float("nan")},
        {"max_backoff": float("inf")},
        {"multiplier": float("inf")},
    ],
)
def test_nonsense_policies_are_refused(fields):
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**fields)


def test_a_mutation_without_request_id_gets_one_and_the_caller_s_message_is_untouched():
    request = license_service_pb2.SubmitKeyRequestRequest(contract_number="SS-2026-000001")
    sent = with_request_id(request)
    assert request.request_id == ""
    assert len(sent.request_id) == 36
    assert sent.contract_number == "SS-2026-000001"
    assert with_request_id(sent) is sent  # retries reuse it


def test_a_given_request_id_is_kept():
    request = admin_service_pb2.IssueKeyNowRequest(id="kr_1", request_id="order-42")
    assert with_request_id(request).request_id == "order-42"


def test_reads_have_no_request_id_and_pass_unchanged():
    request = license_service_pb2.GetKeyRequestRequest(id="kr_1")
    assert with_request_id(request) is request
