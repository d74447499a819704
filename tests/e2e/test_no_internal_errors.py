"""Whatever a client sends, every RPC answers with a deliberate status.

Each method of both services is called with an empty request and with hostile
values in every field; the answer may be a success or any error a client can
act on, but never UNKNOWN or INTERNAL, and the server keeps serving.
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from keysvc.v1 import admin_service_pb2, license_service_pb2

from .server_process import bearer

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
    "日本語🔑",
    "9" * 40,
]
HOSTILE_INT = [-1, 0, 2**31 - 1, -(2**31)]
UNACCEPTABLE = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}


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
            if error.code() in UNACCEPTABLE:
                failures.append((str(request)[:200], error.code(), error.details()))
    assert not failures, f"{path} answered UNKNOWN/INTERNAL: {failures}"
    health = clients.admin("ListSigningKeys", license_service_pb2.ListSigningKeysRequest())
    assert health.jwks_json
