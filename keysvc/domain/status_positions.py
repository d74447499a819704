"""Where a license's status lives in a status list: a position no other key shares.

Each key carries the index of its entry (SPEC section 5a). Indexes are handed out
once and never reused, at random-looking positions within a list, so that two
keys' indexes tell nothing of their order or of each other (the draft's advice
against linking tokens by index). The n-th key of a list gets
``position(list_key, n)``: a keyed permutation of the list's positions, so there
are no collisions to retry and no free-position search, and without the list's
secret key the positions look random.

The permutation is a balanced Feistel network over the index's bits, four rounds
of HMAC-SHA-256 (Luby-Rackoff: a pseudo-random permutation from a pseudo-random
function). Pure: no database, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

__all__ = ["LIST_SIZE_BITS", "ROUNDS", "list_size", "position"]

LIST_SIZE_BITS: Final = 20
"""A list holds 2**20 = 1,048,576 entries: 256 KiB of two-bit entries before
compression, a few KiB to tens of KiB compressed (docs/key-format.md)."""

ROUNDS: Final = 4


def list_size(bits: int = LIST_SIZE_BITS) -> int:
    """The number of entries of a list of `bits` index bits."""
    return 1 << bits


def position(key: bytes, counter: int, bits: int = LIST_SIZE_BITS) -> int:
    """The position of the `counter`-th entry handed out in a list keyed by `key`.

    A permutation of ``range(2**bits)``: distinct counters give distinct positions.
    `bits` must be even and between 2 and 62; `counter` within the list's size.

    >>> sorted(position(b"k" * 32, n, bits=4) for n in range(16)) == list(range(16))
    True
    """
    if bits % 2 or not 2 <= bits <= 62:
        raise ValueError(f"bits must be even and between 2 and 62, got {bits}")
    if not 0 <= counter < 1 << bits:
        raise ValueError(f"counter must be within 0 and {(1 << bits) - 1}, got {counter}")
    if len(key) < 16:
        raise ValueError("the list's key must be at least 16 bytes")
    half = bits // 2
    mask = (1 << half) - 1
    left, right = counter >> half, counter & mask
    for round_number in range(ROUNDS):
        message = bytes([round_number]) + right.to_bytes(4, "big")
        digest = hmac.new(key, message, hashlib.sha256).digest()
        left, right = right, left ^ (int.from_bytes(digest[:8], "big") & mask)
    return (left << half) | right
