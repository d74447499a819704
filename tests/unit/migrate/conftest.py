"""Fixtures for the migration tool: a key ring, a license bound to a fingerprint, its JWKS file."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from signing import KeyRing, LicenseClaims, SigningKey, b64url_decode, fingerprint_hash

# RFC 8037 Appendix A.1: a published example key, for tests only.
RFC8037_SEED = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
THIS_SERVER = "fp1:" + "ab" * 32


@pytest.fixture(scope="session")
def this_server() -> str:
    """The fingerprint the license of `license_key` is bound to."""
    return THIS_SERVER


@pytest.fixture(scope="session")
def ring() -> KeyRing:
    return KeyRing(SigningKey.from_private_bytes(b64url_decode(RFC8037_SEED)))


@pytest.fixture(scope="session")
def claims() -> LicenseClaims:
    return LicenseClaims(
        serial="L-2026-ABCDEFGHJK",
        issued_at=1795305600,
        product_code="neo-webconf",
        contract_number="SS-2026-000123",
        seats=50,
        generation=2,
        fingerprint_hash=fingerprint_hash(THIS_SERVER),
        support_end=datetime.date(2027, 11, 21),
    )


@pytest.fixture(scope="session")
def license_key(ring: KeyRing, claims: LicenseClaims) -> str:
    return ring.sign_license(claims)


@pytest.fixture
def jwks_file(tmp_path: Path, ring: KeyRing) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(ring.jwks_json(), encoding="utf-8")
    return path
