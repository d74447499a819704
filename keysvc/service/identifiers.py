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
# A license serial's random part is two halves of 5 characters of RFC 4648 base 32
# (25 bits each): one shared by the serials made together, one for each.
_SERIAL_HALF: Final = 5
_SERIAL_SUFFIXES: Final = 32**_SERIAL_HALF


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
    """`count` distinct license serials of the year, as a release batch needs them.

    Made together, they share their first five characters (25 random bits drawn
    for the call) and differ in the last five (25 random bits each, drawn
    without repeats): a batch's entries then go into one or two pages of each
    index on serials — the licenses' primary key and the key requests'
    ``license_serial`` — instead of one page each; with random serials those two
    indexes were most of the pages a release batch wrote (docs/persistence.md).
    Two serials of different calls are equal with probability 2^-50, as when all
    50 bits are drawn for each; two of one call never are.
    """
    if not 0 <= count <= _SERIAL_SUFFIXES:
        raise ValueError(f"count must be between 0 and {_SERIAL_SUFFIXES}, got {count}")
    prefix = _random_base32(_SERIAL_HALF)
    suffixes: dict[str, None] = {}  # ordered, without repeats
    while len(suffixes) < count:
        needed = count - len(suffixes)
        text = _random_base32(needed * _SERIAL_HALF)
        suffixes.update(
            dict.fromkeys(
                text[start : start + _SERIAL_HALF] for start in range(0, len(text), _SERIAL_HALF)
            )
        )
    return [f"L-{year}-{prefix}{suffix}" for suffix in suffixes]


def _random_base32(characters: int) -> str:
    """Random RFC 4648 base 32 text: one draw of random bytes, 5 bits a character."""
    groups = -(-characters // 8)  # 8 characters spell 5 bytes
    return base64.b32encode(secrets.token_bytes(groups * 5)).decode("ascii")[:characters]
