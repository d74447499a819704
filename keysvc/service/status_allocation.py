"""Handing out status-list entries to the keys being issued (SPEC section 5a)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain.status_positions import LIST_SIZE_BITS, list_size, position
from keysvc.persistence.status_list_repository import add_list, open_list_for_update, take_entries
from signing import StatusReference

PERMUTATION_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """An entry handed out: the list's number (stored with the license) and the
    reference written into the key."""

    list_number: int
    reference: StatusReference


def allocate_entries(
    connection: Connection,
    base_url: str,
    count: int,
    now: datetime,
    *,
    bits: int = LIST_SIZE_BITS,
    new_key: Callable[[int], bytes] = secrets.token_bytes,
) -> list[StatusEntry]:
    """Hands out `count` entries of the lists under `base_url`, in the caller's transaction.

    Entries come from the oldest list with room, then from a new one when it is full.
    Each list hands out its positions in the order of a keyed permutation, so an
    index is never given twice and says nothing of its neighbours. The list's row
    stays locked until the caller commits: releases in two replicas take turns here.
    """
    entries: list[StatusEntry] = []
    while len(entries) < count:
        open_list = open_list_for_update(connection, base_url)
        if open_list is None:
            add_list(
                connection,
                base_url=base_url,
                size=list_size(bits),
                permutation_key=new_key(PERMUTATION_KEY_BYTES),
                now=now,
            )
            continue
        taken = min(count - len(entries), open_list.size - open_list.allocated)
        take_entries(connection, open_list.number, taken)
        list_bits = open_list.size.bit_length() - 1
        entries.extend(
            StatusEntry(
                open_list.number,
                StatusReference(
                    position(open_list.permutation_key, counter, list_bits), open_list.uri
                ),
            )
            for counter in range(open_list.allocated, open_list.allocated + taken)
        )
    return entries
