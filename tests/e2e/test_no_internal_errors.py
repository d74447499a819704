"""Whatever a client sends, every RPC answers with a deliberate status.

Each method of both services is called with an empty request, with hostile
values in every field (a fixed list, then values hypothesis generates), and
with bytes that do not decode; the answer may be a success or any error a
client can act on, but never UNKNOWN, INTERNAL or a hang, its message is
bounded, and the server keeps serving. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2, message_factory, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keysvc.api.status import MAX_MESSAGE_CHARACTERS
from keysvc.v1 import admin_service_pb2, license_service_pb2, resources_pb2

from .server_process import bearer, error_info

pytestmark = pytest.mark.e2e

SERVICES = [
    license_service_pb2.DESCRIPTOR.services_by_name["LicenseService"],
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"],
]
METHODS = [(service, method) for service in SERVICES for method in service.methods]
HOSTILE_TEXT = [
    "",
    " ",
    "x" * 5000,
    "'; DROP TABLE contracts; --",
    "\x00\x01",
    "x" * 1025,
    "日本語🔑",
    "9" * 40,
]
HOSTILE_INT = [-1, 0, 2**31 - 1, -(2**31)]
UNACCEPTABLE = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DEADLINE_EXCEEDED,  # a hang
    grpc.StatusCode.CANCELLED,
}


def _message_class(method) -> type[Message]:
    return message_factory.GetMessageClass(method.input_type)


def _hostile_requests(method) -> list[Message]:
    cls = _message_class(method)
    requests = [cls()]
    for variant in range(len(HOSTILE_TEXT)):
        request = cls()
        for field in cls.DESCRIPTOR.fields:
            if field.is_repeated:
                continue
            if field.type == FieldDescriptor.TYPE_STRING:
                setattr(request, field.name, HOSTILE_TEXT[variant])
            elif field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
                setattr(request, field.name, HOSTILE_INT[variant % len(HOSTILE_INT)])
            elif field.type == FieldDescriptor.TYPE_BOOL:
                setattr(request, field.name, variant % 2 == 1)
            elif field.type == FieldDescriptor.TYPE_ENUM:
                setattr(request, field.name, [0, 1, 99][variant % 3])
            elif field.message_type and field.message_type.full_name == "google.protobuf.Timestamp":
                stamp = getattr(request, field.name)
                # Beyond what a Timestamp may hold, then the epoch, then far future.
                stamp.seconds = [253402300800, 0, 253402300799, -62135596801][variant % 4]
                stamp.nanos = [0, 999_999_999, 5, 0][variant % 4]
        requests.append(request)
    # One field at a time, so that no other field's refusal hides what this one does.
    for field in cls.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
            for text in (*HOSTILE_TEXT, "a\x00b", "\x00"):
                requests.append(cls(**{field.name: text}))
    return requests


@pytest.mark.parametrize(
    ("service", "method"), METHODS, ids=[f"{s.name}.{m.name}" for s, m in METHODS]
)
def test_no_request_makes_an_internal_error(clients, service, method) -> None:
    path = f"/{service.full_name}/{method.name}"
    output = message_factory.GetMessageClass(method.output_type)
    call = clients.channel.unary_unary(
        path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=output.FromString,
    )
    failures = []
    for request in _hostile_requests(method):
        try:
            call(request, timeout=10, metadata=bearer(clients.tokens["admin"]))
        except grpc.RpcError as error:
            if error.code() in UNACCEPTABLE or len(error.details()) > MAX_MESSAGE_CHARACTERS:
                failures.append((str(request)[:200], error.code(), error.details()[:200]))
    assert not failures, f"{path} answered UNKNOWN/INTERNAL: {failures}"
    health = clients.admin("ListSigningKeys", license_service_pb2.ListSigningKeysRequest())
    assert health.jwks_json


def _method_call(clients, service, method, serializer=None):
    output = message_factory.GetMessageClass(method.output_type)
    return clients.channel.unary_unary(
        f"/{service.full_name}/{method.name}",
        request_serializer=serializer or (lambda m: m.SerializeToString()),
        response_deserializer=output.FromString,
    )


def _answer(call, request, token: str) -> tuple[grpc.StatusCode, str]:
    try:
        call(request, timeout=10, metadata=bearer(token))
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


# Text as hostile callers send it: short and odd, control characters and NUL,
# every script, and long runs around and far beyond every bound.
_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT),
    st.builds(
        lambda piece, times: piece * times,
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=3),
        st.sampled_from([255, 256, 1023, 1024, 1025, 4096, 16384, 16385, 70000]),
    ),
)
_INT64 = st.integers(-(2**63), 2**63 - 1)
_INT32 = st.integers(-(2**31), 2**31 - 1)


_BY_TYPE = {
    FieldDescriptor.TYPE_STRING: _TEXT,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_ENUM: _INT32,  # proto3 enums are open: any number arrives
}
_TIMESTAMPS = st.builds(
    lambda seconds, nanos: timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos), _INT64, _INT32
)


def _field_values(field):
    if field.message_type and field.message_type.full_name == "google.protobuf.Timestamp":
        return _TIMESTAMPS
    return _BY_TYPE.get(field.type)


@st.composite
def _requests(draw, method):
    cls = _message_class(method)
    request = cls()
    for field in cls.DESCRIPTOR.fields:
        values = _field_values(field)
        if values is None or not draw(st.booleans()):
            continue
        if field.is_repeated:
            getattr(request, field.name).extend(draw(st.lists(values, max_size=3)))
        elif field.message_type:
            getattr(request, field.name).CopyFrom(draw(values))
        else:
            setattr(request, field.name, draw(values))
    return request


@pytest.mark.parametrize(
    ("service", "method"), METHODS, ids=[f"{s.name}.{m.name}" for s, m in METHODS]
)
def test_no_generated_request_makes_an_internal_error_a_hang_or_a_long_message(
    clients, service, method
) -> None:
    call = _method_call(clients, service, method)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request=_requests(method))
    def answers_deliberately(request) -> None:
        code, message = _answer(call, request, clients.tokens["admin"])
        assert code not in UNACCEPTABLE, (code, message[:200])
        assert len(message) <= MAX_MESSAGE_CHARACTERS

    answers_deliberately()


@pytest.mark.parametrize(
    ("service", "method"), METHODS, ids=[f"{s.name}.{m.name}" for s, m in METHODS]
)
def test_a_string_field_that_is_not_utf8_is_refused_naming_it(clients, service, method) -> None:
    call = _method_call(clients, service, method, serializer=lambda data: data)
    strings = [f for f in method.input_type.fields if f.type == FieldDescriptor.TYPE_STRING]
    for field in strings:
        data = bytes([field.number << 3 | 2, 3, 0x61, 0xFF, 0xFE])
        with pytest.raises(grpc.RpcError) as caught:
            call(data, timeout=10, metadata=bearer(clients.tokens["admin"]))
        code, reason, metadata = error_info(caught.value)
        assert (code, reason, metadata["field"]) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "MALFORMED_REQUEST",
            field.name,
        )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200))
def test_raw_bytes_never_make_an_internal_error(clients, data) -> None:
    service, method = SERVICES[0], SERVICES[0].methods_by_name["SubmitKeyRequest"]
    call = _method_call(clients, service, method, serializer=lambda raw: raw)
    code, message = _answer(call, data, clients.tokens["admin"])
    assert code not in UNACCEPTABLE, (code, message[:200])


def _preview(clients, instant: str):
    request = license_service_pb2.PreviewReleaseRequest()
    request.accept_time.FromJsonString(instant)
    return clients.admin("PreviewRelease", request)


def _add_closure(clients, start: str, end: str, label: str = "長期休業"):
    return clients.admin(
        "AddClosure",
        admin_service_pb2.AddClosureRequest(
            start_date=start, end_date=end, label=label, request_id=str(uuid.uuid4())
        ),
    )


@pytest.mark.parametrize(
    "instant",
    [
        "2099-12-31T20:00:00Z",  # 2100-01-01 in Tokyo
        "2099-12-31T15:00:00Z",  # 2100-01-01 00:00 in Tokyo
        "2099-12-28T08:00:00Z",  # Monday 17:00 JST: the next business day is in 2100
    ],
)
def test_an_instant_the_calendar_cannot_schedule_is_an_invalid_argument(clients, instant) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _preview(clients, instant)
    code, reason, metadata = error_info(caught.value)
    assert (code, reason, metadata["field"]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "DATE_OUT_OF_RANGE",
        "accept_time",
    )
    assert _preview(clients, "2099-12-28T07:59:59Z").same_day  # the last instant it can


def test_closures_chained_into_more_than_a_year_are_refused(clients) -> None:
    # Each is under a year long; together they would close more than a year in a row.
    first = _add_closure(clients, "2097-04-01", "2098-03-28")  # Monday to Friday, 362 days
    try:
        for start, end in [
            ("2098-03-29", "2098-04-10"),  # right after it
            ("2098-03-31", "2098-04-10"),  # on the Monday after: only a weekend between
            ("2097-03-20", "2097-03-29"),  # up to the Friday before it
        ]:
            with pytest.raises(grpc.RpcError) as caught:
                _add_closure(clients, start, end)
            code, reason, metadata = error_info(caught.value)
            assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CLOSURES_TOO_LONG")
            assert metadata["field"] == "end_date"
        # A business day between them (Monday 2098-03-31) breaks the chain.
        second = _add_closure(clients, "2098-04-01", "2098-04-10")
        clients.admin("RemoveClosure", admin_service_pb2.RemoveClosureRequest(id=second.id))
    finally:
        clients.admin("RemoveClosure", admin_service_pb2.RemoveClosureRequest(id=first.id))


def test_closures_leaving_no_business_day_before_2100_are_a_failed_precondition(clients) -> None:
    closure = _add_closure(clients, "2099-06-01", "2099-12-28")
    try:
        with pytest.raises(grpc.RpcError) as caught:
            _preview(clients, "2099-05-29T09:00:00Z")  # Friday 18:00 JST
        code, reason, _ = error_info(caught.value)
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_BUSINESS_DAY")
    finally:
        clients.admin("RemoveClosure", admin_service_pb2.RemoveClosureRequest(id=closure.id))
    assert _preview(clients, "2099-05-29T09:00:00Z").due_date == "2099-06-01"


@pytest.mark.parametrize(
    "path", [*HOSTILE_TEXT, "a\x00b", "\x00", "contract_number", "seats", "*", "contract.seats"]
)
def test_a_hostile_update_mask_path_is_an_invalid_argument_naming_the_mask(clients, path) -> None:
    # The fields below hostile text fill (a nested message, a repeated field) by hand.
    contract = clients.admin(
        "CreateContract",
        admin_service_pb2.CreateContractRequest(
            product_code="neo-webconf",
            customer_name="株式会社サンプル",
            contact_email="it@example.co.jp",
            seats=1,
            purchase_date="2026-11-02",
        ),
    )
    request = admin_service_pb2.UpdateContractRequest(
        request_id=str(uuid.uuid4()),
        contract=contract,
        update_mask=field_mask_pb2.FieldMask(paths=["customer_name", path]),
    )
    with pytest.raises(grpc.RpcError) as caught:
        clients.admin("UpdateContract", request)
    code, _, metadata = error_info(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert metadata["field"].startswith("update_mask")


@pytest.mark.parametrize("text", [*HOSTILE_TEXT, "a\x00b", "\x00"])
def test_hostile_contract_values_in_an_update_answer_deliberately(clients, text) -> None:
    call = _method_call(
        clients,
        SERVICES[1],
        SERVICES[1].methods_by_name["UpdateContract"],
    )
    mask = field_mask_pb2.FieldMask(paths=["customer_name", "contact_email"])
    for contract in (
        resources_pb2.Contract(contract_number=text, customer_name="x", contact_email="a@b.jp"),
        resources_pb2.Contract(contract_number="SS-2026-000001", customer_name=text),
        resources_pb2.Contract(
            contract_number="SS-2026-000001", customer_name="x", contact_email=text
        ),
    ):
        request = admin_service_pb2.UpdateContractRequest(contract=contract, update_mask=mask)
        code, message = _answer(call, request, clients.tokens["admin"])
        assert code not in UNACCEPTABLE, (code, message[:200])
        assert len(message) <= MAX_MESSAGE_CHARACTERS
