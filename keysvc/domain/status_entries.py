"""What a status list says of each key, and when a list must be published again.

SPEC section 5a: a key's entry is INVALID once its license is revoked (or, from
the withdrawal work on, its signing key withdrawn), SUPERSEDED once the overlap
of a re-issue has ended, and VALID otherwise — also while a superseded key is
still in its overlap. Pure: the publisher reads the rows, these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from keysvc.domain.lifecycle import LicenseStatus
from signing import StatusValue

__all__ = [
    "EXPIRY",
    "PUBLICATION_INTERVAL",
    "REFRESH_AFTER",
    "TTL",
    "PublishedList",
    "PublishedToken",
    "entry_value",
    "publication_due",
]

TTL: Final = timedelta(hours=1)
"""The token's ``ttl``, and the ``max-age`` it is served with: how long a product or a
cache may keep a list before asking again. A change reaches those who keep a copy
within about the publication delay plus this."""

EXPIRY: Final = timedelta(days=7)
"""A token's ``exp`` after its ``iat``: a product that cannot reach the lists for a
week sees STALE rather than a status that may no longer hold."""

REFRESH_AFTER: Final = timedelta(days=1)
"""A token this old is signed again even when nothing changed, so that the published
one always has six days or more before its ``exp``."""

PUBLICATION_INTERVAL: Final = timedelta(seconds=10)
"""How often the publisher looks for lists to publish; with the time to build and
store a list, well within the publication delay of 60 s (SPEC section 5a)."""


def entry_value(
    status: LicenseStatus,
    supersede_at: datetime | None,
    *,
    signed_by_withdrawn_key: bool = False,
    at: datetime,
) -> StatusValue:
    """The value of a license's entry at the instant `at`.

    A key signed by a withdrawn signing key is INVALID, and so is a revoked license,
    even if it was superseded first; a superseded one is SUPERSEDED from its
    `supersede_at` on (the end of a re-issue's overlap), and VALID before.

    >>> from datetime import UTC
    >>> end = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)
    >>> entry_value(LicenseStatus.SUPERSEDED, end, at=end).name
    'SUPERSEDED'
    >>> entry_value(LicenseStatus.SUPERSEDED, end, at=end - timedelta(microseconds=1)).name
    'VALID'
    """
    if signed_by_withdrawn_key or status is LicenseStatus.REVOKED:
        return StatusValue.INVALID
    if status is LicenseStatus.SUPERSEDED and supersede_at is not None and supersede_at <= at:
        return StatusValue.SUPERSEDED
    return StatusValue.VALID


@dataclass(frozen=True, slots=True)
class PublishedToken:
    """What the token published last of a list shows: the list's revision and the
    instant it was built for, and when it was signed."""

    revision: int
    as_of: datetime
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class PublishedList:
    """A list's token as published last, for serving: its number, its URI (the
    token's ``sub``), the signed token, and when it was signed and expires."""

    number: int
    uri: str
    token: str
    issued_at: datetime
    expires_at: datetime


def publication_due(
    published: PublishedToken | None,
    *,
    revision: int,
    next_supersede_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether a list must be built and signed again at `now`.

    It must when it was never published; when an entry changed since (its
    `revision` is past the token's); when an overlap ended after the instant the
    token shows (`next_supersede_at`: the earliest `supersede_at` of the list's
    licenses after the token's `as_of`, None when there is none) at or before
    `now`; and when the token is `REFRESH_AFTER` old.
    """
    if published is None or revision != published.revision:
        return True
    if next_supersede_at is not None and next_supersede_at <= now:
        return True
    return now >= published.issued_at + REFRESH_AFTER
