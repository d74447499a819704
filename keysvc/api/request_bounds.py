"""Bounds every request meets before a handler sees it, whatever its fields.

Each method validates its fields in its own terms (a contract number, a date);
these checks hold for every text field of every request, so that a field a
handler forgot, or one added later, cannot carry a megabyte into a query, an
index or an error message, nor a NUL character, which PostgreSQL refuses in
text:

- every string is at most `DEFAULT_MAX_CHARACTERS` characters (the few that
  carry license keys: `KEY_MAX_CHARACTERS`), without NUL;
- a request whose bytes do not decode (a `string` field that is not UTF-8,
  a broken wire format) is refused naming the field when it can be found.

Each failure is INVALID_ARGUMENT naming the field, and never echoes the value.
"""

from __future__ import annotations

from typing import Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from keysvc.domain.errors import InvalidArgument

__all__ = [
    "DEFAULT_MAX_CHARACTERS",
    "KEY_MAX_CHARACTERS",
    "MALFORMED_REQUEST",
    "check_request",
    "undecodable_field",
]

# Longer than any name, address, id, reason or label a person types.
DEFAULT_MAX_CHARACTERS: Final = 1024
# License keys are at most 4 KiB once e-mail wrapping is removed (signing);
# room for that wrapping, so the key parser gives its own precise answer.
KEY_MAX_CHARACTERS: Final = 16384
_KEY_FIELDS: Final = frozenset({"license_key", "previous_key"})
# No request of ours has a list longer than this.
MAX_REPEATED: Final = 1000

MALFORMED_REQUEST: Final = "MALFORMED_REQUEST"
"""The reason of a request whose bytes do not decode as its message."""


def check_request(message: Message, prefix: str = "") -> None:
    """Raises `InvalidArgument` naming the first field of `message` (nested fields as
    ``outer.inner``) that breaks a bound; only fields that are set are looked at."""
    for field, value in message.ListFields():
        name = prefix + field.name
        values = value if field.is_repeated else (value,)
        if field.is_repeated and len(values) > MAX_REPEATED:
            raise InvalidArgument(name, f"{name} has more than {MAX_REPEATED} items")
        if field.type == FieldDescriptor.TYPE_STRING:
            limit = KEY_MAX_CHARACTERS if field.name in _KEY_FIELDS else DEFAULT_MAX_CHARACTERS
            for text in values:
                _check_text(name, text, limit)
        elif field.type == FieldDescriptor.TYPE_BYTES:
            for data in values:
                if len(data) > KEY_MAX_CHARACTERS:
                    raise InvalidArgument(
                        name, f"{name} must be at most {KEY_MAX_CHARACTERS} bytes"
                    )
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for inner in values:
                check_request(inner, f"{name}.")


def _check_text(name: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise InvalidArgument(name, f"{name} must be at most {limit} characters")
    if "\x00" in text:
        raise InvalidArgument(name, f"{name} must not contain NUL characters")


def undecodable_field(descriptor: Descriptor, data: bytes, prefix: str = "") -> str | None:
    """The first field of `data` (the wire form of a `descriptor` message) that is a
    string but not UTF-8, or None when none is found (the wire form itself is broken)."""
    position = 0
    try:
        while position < len(data):
            tag, position = _varint(data, position)
            number, wire_type = tag >> 3, tag & 7
            field = descriptor.fields_by_number.get(number)
            if wire_type == 0:
                _, position = _varint(data, position)
            elif wire_type == 1:
                position += 8
            elif wire_type == 5:
                position += 4
            elif wire_type == 2:
                length, position = _varint(data, position)
                chunk, position = data[position : position + length], position + length
                found = _undecodable_in(field, chunk, prefix)
                if found is not None:
                    return found
            else:
                return None  # groups: none of ours has one; the wire form is broken
    except IndexError:
        return None
    return None


def _undecodable_in(field: FieldDescriptor | None, chunk: bytes, prefix: str) -> str | None:
    if field is None:
        return None
    name = prefix + field.name
    if field.type == FieldDescriptor.TYPE_STRING:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return name
    elif field.message_type is not None:
        return undecodable_field(field.message_type, chunk, f"{name}.")
    return None


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise IndexError("a varint longer than ten bytes")
