"""TURN credentials in the TURN REST API scheme (coturn ``use-auth-secret``).

The username is ``<expiry unix time>:<contract number>`` and the password
base64(HMAC-SHA1(shared secret, username)); the TURN server recomputes the
password from the secret it shares with us and refuses expired usernames.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from keysvc.domain.periods import JST

MAX_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class TurnCredential:
    """A TURN username and password valid until `expires_at`."""

    username: str
    password: str
    expires_at: datetime
    ttl_seconds: int

    def __repr__(self) -> str:
        return f"TurnCredential(username={self.username!r}, expires_at={self.expires_at!r})"


def turn_credential(
    secret: bytes, contract_number: str, now: datetime, covered_until: date
) -> TurnCredential:
    """Credentials valid for at most 24 hours and never past the end of coverage.

    Coverage ends at the end of `covered_until` in JST.

    >>> from datetime import UTC
    >>> an_hour_before_the_end = datetime(2027, 11, 30, 14, 0, tzinfo=UTC)  # 23:00 JST
    >>> c = turn_credential(b"s", "SS-1", an_hour_before_the_end, date(2027, 11, 30))
    >>> c.ttl_seconds, c.username
    (3600, '1827586800:SS-1')
    """
    coverage_end = datetime.combine(covered_until + timedelta(days=1), time(), JST)
    expires_at = min(now + MAX_TTL, coverage_end)
    expiry = int(expires_at.timestamp())
    username = f"{expiry}:{contract_number}"
    digest = hmac.new(secret, username.encode("utf-8"), hashlib.sha1).digest()
    return TurnCredential(
        username=username,
        password=base64.b64encode(digest).decode("ascii"),
        expires_at=expires_at,
        ttl_seconds=max(0, expiry - int(now.timestamp())),
    )
