"""Every text field of every request is bounded, NUL-free, and decodes — or is named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.api.request_bounds import (
    DEFAULT_MAX_CHARACTERS,
    KEY_MAX_CHARACTERS,
    MAX_REPEATED,
    check_request,
    undecodable_field,
)
from keysvc.domain.errors import InvalidArgument
from keysvc.v1 import license_service_pb2, resources_pb2

Submit = license_service_pb2.SubmitKeyRequestRequest


def _refused_field(message) -> str:
    with pytest.raises(InvalidArgument) as caught:
        check_request(message)
    return caught.value.field


def test_text_of_exactly_the_bound_in_multibyte_characters_passes():
    check_request(Submit(contact_email="日" * DEFAULT_MAX_CHARACTERS))


def test_one_character_over_the_bound_is_refused_naming_the_field_without_echoing_it():
    with pytest.raises(InvalidArgument) as caught:
        check_request(Submit(contact_email="a" * (DEFAULT_MAX_CHARACTERS + 1)))
    assert caught.value.field == "contact_email"
    assert "aaaa" not in caught.value.message


def test_key_fields_take_a_whole_wrapped_key_and_no_more():
    check_request(Submit(previous_key="k" * KEY_MAX_CHARACTERS))
    assert _refused_field(Submit(previous_key="k" * (KEY_MAX_CHARACTERS + 1))) == "previous_key"
    assert (
        _refused_field(
            license_service_pb2.VerifyLicenseKeyRequest(fingerprint="f" * KEY_MAX_CHARACTERS)
        )
        == "fingerprint"
    )


@pytest.mark.parametrize("text", ["\x00", "a\x00", "\x00b", "日本\x00語"])
def test_a_nul_anywhere_is_refused(text):
    assert _refused_field(Submit(fingerprint=text)) == "fingerprint"


def test_nested_and_repeated_fields_are_named_by_their_path():
    contract = resources_pb2.Contract(
        periods=[resources_pb2.Period(start="2026-12-01", end="\x00")]
    )
    assert _refused_field(contract) == "periods.end"


def test_a_list_of_exactly_the_bound_passes_and_one_more_is_refused():
    check_request(resources_pb2.Contract(periods=[resources_pb2.Period()] * MAX_REPEATED))
    longer = resources_pb2.Contract(periods=[resources_pb2.Period()] * (MAX_REPEATED + 1))
    assert _refused_field(longer) == "periods"


def _with_invalid_utf8(message, field_name: str) -> bytes:
    """`message` with field `field_name` set to 0xFF 0xFE on the wire."""
    number = message.DESCRIPTOR.fields_by_name[field_name].number
    return message.SerializeToString() + bytes([number << 3 | 2, 2, 0xFF, 0xFE])


def test_the_field_that_is_not_utf8_is_found():
    data = _with_invalid_utf8(Submit(contract_number="SS-2026-000001", kind=1), "contact_email")
    with pytest.raises(Exception):  # noqa: B017, PT011 - protobuf's own DecodeError
        Submit.FromString(data)
    assert undecodable_field(Submit.DESCRIPTOR, data) == "contact_email"


def test_a_nested_field_that_is_not_utf8_is_found_by_its_path():
    period = _with_invalid_utf8(resources_pb2.Period(), "end")
    data = bytes([resources_pb2.Contract.DESCRIPTOR.fields_by_name["periods"].number << 3 | 2])
    data += bytes([len(period)]) + period
    assert undecodable_field(resources_pb2.Contract.DESCRIPTOR, data) == "periods.end"


@given(st.binary(max_size=300))
def test_any_bytes_name_a_field_or_none_and_never_raise(data):
    found = undecodable_field(Submit.DESCRIPTOR, data)
    assert found is None or found in Submit.DESCRIPTOR.fields_by_name
