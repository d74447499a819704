"""Identifiers the service makes: unguessable where they grant access."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Final

# RFC 4648 base 32 spelled in Crockford's alphabet, whose characters sort as the
# values they stand for (RFC 4648's digits 2-7 sort before its letters).
_CROCKFORD: Final = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz"
)
# A license serial's random part: 50 bits of RFC 4648 base 32.
_SERIAL_CHARACTERS: Final = 10


def key_request_id_at(unix_ms: int, random_part: bytes) -> str:
    """The key request id for an instant (milliseconds since 1970) and 16 random bytes:
    ``kr_`` + 36 characters of Crockford base 32 (48 bits of time, 128 of chance).

    Ids made later sort after earlier ones (to the millisecond), as strings.

    >>> key_request_id_at(0, bytes(16))
    'kr_000000000000000000000000000000000000'
    >>> key_request_id_at(1, b"\\xff" * 16)
    'kr_0000000007zzzzzzzzzzzzzzzzzzzzzzzzzg'
    """
    if not 0 <= unix_ms < 1 << 48:
        raise ValueError(f"milliseconds out of range: {unix_ms}")
    if len(random_part) != 16:
        raise ValueError(f"expected 16 random bytes, got {len(random_part)}")
    encoded = base64.b32encode(unix_ms.to_bytes(6, "big") + random_part)
    return "kr_" + encoded.decode("ascii").rstrip("=").translate(_CROCKFORD)


def new_key_request_id() -> str:
    """A key request id, e.g. ``kr_1jrm4k9d8w…``: the time, then 128 random bits.

    Whoever knows the id can read the released key (GetKeyRequest), so it must
    be unguessable: the random part. The time in front makes ids made one after
    the other sort together, so that a new request's index entries — its own,
    its license's, its e-mail's (and the Message-ID made from it), its audit
    record's — go into the index page the previous one used instead of a
    random one each (docs/persistence.md).
    """
    return key_request_id_at(time.time_ns() // 1_000_000, secrets.token_bytes(16))


def new_license_serial(year: int) -> str:
    """A license serial, e.g. ``L-2026-7K3M9QX2PA`` (50 random bits; unique in the database)."""
    return new_license_serials(year, 1)[0]


def new_license_serials(year: int, count: int) -> list[str]:
    """`count` license serials of the year, each as `new_license_serial` makes one.

    One draw of random bytes for all of them: a release batch makes hundreds, and
    a system call and an encoding per serial were 5 % of its time.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    # Base 32 spells 5 bytes as 8 characters, 5 bits each: the text of enough random
    # bytes, cut into pieces of 10 characters, gives independent 50-bit serials.
    groups = -(-count * _SERIAL_CHARACTERS // 8)
    text = base64.b32encode(secrets.token_bytes(groups * 5)).decode("ascii")
    return [
        f"L-{year}-{text[start : start + _SERIAL_CHARACTERS]}"
        for start in range(0, count * _SERIAL_CHARACTERS, _SERIAL_CHARACTERS)
    ]
