from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

from keysvc.domain.ice import MAX_TTL, turn_credential

SECRET = b"shared-with-coturn"
NOW = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)


def test_the_password_is_base64_hmac_sha1_of_the_username() -> None:
    credential = turn_credential(SECRET, "SS-2026-000123", NOW, date(2027, 12, 31))
    expected = base64.b64encode(
        hmac.new(SECRET, credential.username.encode(), hashlib.sha1).digest()
    ).decode()
    assert credential.password == expected


def test_the_username_is_expiry_then_contract() -> None:
    credential = turn_credential(SECRET, "SS-2026-000123", NOW, date(2027, 12, 31))
    expiry, contract = credential.username.split(":")
    assert contract == "SS-2026-000123"
    assert int(expiry) == int(credential.expires_at.timestamp())


def test_credentials_last_at_most_a_day() -> None:
    credential = turn_credential(SECRET, "SS-1", NOW, date(2027, 12, 31))
    assert credential.expires_at == NOW + MAX_TTL
    assert credential.ttl_seconds == 24 * 3600


def test_credentials_never_outlive_coverage() -> None:
    # Coverage ends at the end of 2027-03-01 JST = 2027-03-01T15:00Z.
    credential = turn_credential(SECRET, "SS-1", NOW, date(2027, 3, 1))
    assert credential.expires_at == datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    assert credential.ttl_seconds == 12 * 3600
    assert credential.expires_at - NOW < timedelta(days=1)


def test_the_repr_hides_the_password() -> None:
    credential = turn_credential(SECRET, "SS-1", NOW, date(2027, 12, 31))
    assert credential.password not in repr(credential)
