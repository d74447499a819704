"""`keysvc.client` against a real server: typed calls, errors with reasons, safe retries."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime

import grpc
import pytest

from keysvc.client import (
    AdminClient,
    AuthenticationError,
    ClientConfig,
    FailedPreconditionError,
    InvalidArgumentError,
    LicenseClient,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    UnavailableError,
)
from keysvc.v1 import admin_service_pb2, resources_pb2
from signing import LicenseVerifier

pytestmark = pytest.mark.e2e

INITIAL = resources_pb2.KEY_REQUEST_KIND_INITIAL
FAST = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05)


def _config(clients, role: str, **fields) -> ClientConfig:
    return ClientConfig(address=clients.address, token=clients.tokens[role], **fields)


def _new_contract(admin: AdminClient, product: str = "neo-backup") -> resources_pb2.Contract:
    return admin.create_contract(
        admin_service_pb2.CreateContractRequest(
            product_code=product,
            customer_name="株式会社クライアント",
            contact_email="it@example.co.jp",
            seats=10,
            purchase_date="2026-11-02",
            accept_date="2026-11-02",
        )
    )


def test_the_product_site_flow_with_typed_calls(clients) -> None:
    with (
        AdminClient(_config(clients, "admin")) as admin,
        LicenseClient(_config(clients, "site")) as site,
    ):
        contract = _new_contract(admin)
        assert contract.contract_number.startswith("SS-")
        submitted = site.submit_key_request(
            contract.contract_number, INITIAL, fingerprint="fp1:client-library"
        )
        assert site.get_key_request(submitted.id).contract_number == contract.contract_number
        issued = admin.issue_key_now(submitted.id)
        released = site.wait_for_release(submitted.id, timeout=5, poll_interval=0.1)
        assert released.license_key == issued.license_key

        checked = site.verify_license_key(released.license_key, "fp1:client-library")
        assert (checked.valid, checked.contract_number) == (True, contract.contract_number)
        offline = LicenseVerifier.from_jwks(site.jwks())
        assert offline.verify(released.license_key).claims.serial == released.license_serial
        assert site.get_support_status(contract.contract_number).covered
        preview = site.preview_release(datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
        assert preview.due_date == "2026-11-24"  # 17:00 JST on Friday; Monday is a holiday


def test_failures_raise_exceptions_carrying_the_reason(clients) -> None:
    with LicenseClient(_config(clients, "site")) as site:
        with pytest.raises(NotFoundError) as missing:
            site.get_key_request("kr_does_not_exist")
        assert missing.value.reason == "KEY_REQUEST_NOT_FOUND"
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        assert not missing.value.transient

        with pytest.raises(InvalidArgumentError) as invalid:
            site.submit_key_request("", INITIAL, fingerprint="fp1:x")
        assert invalid.value.field == "contract_number"

    with AdminClient(_config(clients, "site")) as not_admin, pytest.raises(PermissionDeniedError):
        not_admin.rotate_signing_key()
    stranger = ClientConfig(address=clients.address, token="ksv1.0000000000000000.unknown")  # noqa: S106 - not a real token
    with LicenseClient(stranger) as anonymous, pytest.raises(AuthenticationError):
        anonymous.jwks()


def test_a_submission_after_support_ended_is_refused_with_its_reason(clients) -> None:
    with (
        AdminClient(_config(clients, "admin")) as admin,
        LicenseClient(_config(clients, "site")) as site,
    ):
        old = admin.create_contract(
            admin_service_pb2.CreateContractRequest(
                product_code="neo-backup",
                customer_name="株式会社期限切れ",
                contact_email="it@example.co.jp",
                seats=1,
                purchase_date="2020-01-06",
                accept_date="2020-01-06",
            )
        )
        first = site.submit_key_request(old.contract_number, INITIAL, fingerprint="fp1:old-one")
        issued = admin.issue_key_now(first.id)
        with pytest.raises(FailedPreconditionError) as refused:
            site.submit_key_request(
                old.contract_number,
                resources_pb2.KEY_REQUEST_KIND_REISSUE,
                fingerprint="fp1:new-one",
                previous_license_serial=issued.license_serial,
            )
        assert refused.value.reason == "SUPPORT_EXPIRED"


class _Lost(grpc.RpcError, grpc.Call, grpc.Future):
    """What the client sees when the server's answer never arrives."""

    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "connection reset after the request was sent (injected by the test)"

    def initial_metadata(self):
        return ()

    def trailing_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False

    def cancelled(self):
        return False

    def running(self):
        return False

    def done(self):
        return True

    def result(self, timeout=None):
        raise self

    def exception(self, timeout=None):
        return self

    def traceback(self, timeout=None):
        return None

    def add_done_callback(self, fn):
        fn(self)


class DropFirstAnswer(grpc.UnaryUnaryClientInterceptor):
    """Lets the first call of `method` reach the server and commit, then loses its answer."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.lost: list[object] = []
        self.request_ids: list[str] = []

    def intercept_unary_unary(self, continuation, client_call_details, request):
        outcome = continuation(client_call_details, request)
        if client_call_details.method.endswith(self.method):
            self.request_ids.append(request.request_id)
            if not self.lost:
                self.lost.append(outcome.result())  # the server has committed
                return _Lost()
        return outcome


def test_a_retry_after_a_lost_answer_returns_the_first_result_and_does_nothing_twice(
    clients,
) -> None:
    dropper = DropFirstAnswer("/SubmitKeyRequest")
    pauses: list[float] = []
    with (
        AdminClient(_config(clients, "admin")) as admin,
        LicenseClient(
            _config(clients, "site", retry=FAST), interceptors=[dropper], sleep=pauses.append
        ) as site,
    ):
        contract = _new_contract(admin)
        submitted = site.submit_key_request(
            contract.contract_number, INITIAL, fingerprint="fp1:lost-answer"
        )
        (first_answer,) = dropper.lost
        assert submitted.id == first_answer.id
        assert len(dropper.request_ids) == 2
        assert len(set(dropper.request_ids)) == 1
        assert len(pauses) == 1
        listed = admin.list_key_requests(
            admin_service_pb2.ListKeyRequestsRequest(contract_number=contract.contract_number)
        )
        assert listed.total_size == 1


def test_a_resend_with_a_new_request_id_is_a_new_request_not_a_replay(clients) -> None:
    # Why the client reuses the id: a naive re-send is judged as a second request.
    with (
        AdminClient(_config(clients, "admin")) as admin,
        LicenseClient(_config(clients, "site")) as site,
    ):
        contract = _new_contract(admin, "neo-webconf")
        site.submit_key_request(contract.contract_number, INITIAL, fingerprint="fp1:naive")
        with pytest.raises(FailedPreconditionError) as second:
            site.submit_key_request(contract.contract_number, INITIAL, fingerprint="fp1:naive")
        # The service refuses the twin only because a request is already open;
        # with a fresh request_id it is a new request, not a replay.
        assert second.value.reason == "KEY_REQUEST_PENDING"


def test_an_unreachable_server_is_retried_then_reported_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pauses: list[float] = []
    config = ClientConfig(address=f"127.0.0.1:{port}", token="", timeout=2, retry=FAST)
    with LicenseClient(config, sleep=pauses.append) as site, pytest.raises(UnavailableError) as e:
        site.get_key_request(str(uuid.uuid4()))
    assert e.value.transient
    assert len(pauses) == FAST.attempts - 1
