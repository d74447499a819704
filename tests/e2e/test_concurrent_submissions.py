"""Many SubmitKeyRequests at once over gRPC: the server runs them in shared batches,
and each caller still gets exactly its own answer."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2

from .conftest import BACKENDS, backend_clients
from .server_process import error_info, new_contract

CALLS = 40


@pytest.fixture(scope="module", params=BACKENDS)
def clients(request, tmp_path_factory):
    # The crowd is larger than the default limit of calls in flight: this module is
    # about how the admitted calls are batched, not about refusing the others.
    with backend_clients(
        request, tmp_path_factory, {"KEYSVC_MAX_CALLS_IN_FLIGHT": "1000"}
    ) as clients:
        yield clients


def _submit(clients, contract_number: str, request_id: str, fingerprint: str):
    request = license_service_pb2.SubmitKeyRequestRequest(
        request_id=request_id,
        contract_number=contract_number,
        kind=resources_pb2.KEY_REQUEST_KIND_INITIAL,
        fingerprint=fingerprint,
    )
    try:
        return clients.site("SubmitKeyRequest", request)
    except grpc.RpcError as error:
        return error


def test_concurrent_submissions_each_get_their_own_answer(clients) -> None:
    contracts = [new_contract(clients).contract_number for _ in range(CALLS)]
    # Each contract once; every fourth sent twice with one request_id, as a client
    # retrying; every fifth asked twice with different request_ids, one of which must
    # be refused while the other waits.
    calls = [
        (number, str(uuid.uuid4()), f"fp1:server-{index}") for index, number in enumerate(contracts)
    ]
    calls += [calls[index] for index in range(0, CALLS, 4)]
    calls += [(number, str(uuid.uuid4()), fp) for number, _, fp in calls[0:CALLS:5]]
    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(lambda call: _submit(clients, *call), calls))

    by_contract: dict[str, set[str]] = {}
    refused = []
    for (number, _, _), answer in zip(calls, answers, strict=True):
        if isinstance(answer, grpc.RpcError):
            refused.append((number, answer))
            continue
        assert answer.contract_number == number
        by_contract.setdefault(number, set()).add(answer.id)
    # One request per contract, whatever the repeats; the extra asks were refused.
    assert sorted(by_contract) == sorted(contracts)
    assert all(len(ids) == 1 for ids in by_contract.values())
    # Which of two different asks comes first is up to the race; a retry of the one
    # refused is refused again (refusals are not remembered as answers).
    assert {number for number, _ in refused} == set(contracts[0:CALLS:5])
    assert {error_info(error)[:2] for _, error in refused} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "KEY_REQUEST_PENDING")
    }
    for number, ids in by_contract.items():
        listed = clients.admin(
            "ListKeyRequests", admin_service_pb2.ListKeyRequestsRequest(contract_number=number)
        )
        assert [request.id for request in listed.key_requests] == list(ids)
    # The batches, their refusals and repeats appended to one intact audit chain.
    verified = clients.keysvc("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
