"""Fixtures for the `signing` unit tests: the RFC 8037 test key and typical claims."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from signing import (
    KeyRing,
    LicenseClaims,
    LicenseVerifier,
    SigningKey,
    b64url_decode,
    b64url_encode,
    fingerprint_hash,
)

# RFC 8037 Appendix A.1: a published example key, for tests only.
RFC8037_SEED = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
FINGERPRINT = "fp1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def test_key() -> SigningKey:
    return SigningKey.from_private_bytes(b64url_decode(RFC8037_SEED))


@pytest.fixture(scope="session")
def fingerprint() -> str:
    return FINGERPRINT


@pytest.fixture(scope="session")
def claims() -> LicenseClaims:
    return LicenseClaims(
        serial="L-2026-000123",
        issued_at=1795305600,
        product_code="ACME-SRV",
        contract_number="SV-12345",
        seats=25,
        generation=1,
        fingerprint_hash=fingerprint_hash(FINGERPRINT),
        support_end=datetime.date(2027, 11, 21),
    )


@pytest.fixture(scope="session")
def ring(test_key: SigningKey) -> KeyRing:
    return KeyRing(test_key)


@pytest.fixture(scope="session")
def verifier(ring: KeyRing) -> LicenseVerifier:
    return ring.verifier()


@pytest.fixture(scope="session")
def license_key(ring: KeyRing, claims: LicenseClaims) -> str:
    return ring.sign_license(claims)


@pytest.fixture(scope="session")
def forge(test_key: SigningKey) -> Callable[[bytes, bytes], str]:
    """Sign any header and payload bytes with the test key: a valid signature over bad content."""

    def sign(header: bytes, payload: bytes) -> str:
        signing_input = b64url_encode(header) + "." + b64url_encode(payload)
        return signing_input + "." + b64url_encode(test_key.sign(signing_input.encode()))

    return sign
