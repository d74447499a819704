from __future__ import annotations

import json

import pytest

from signing import KeyRing, LicenseVerifier, SigningKey, UnknownKeyId


@pytest.fixture
def rotated(test_key):
    """A ring after rotation: a new active key, the test key retired."""
    return KeyRing(SigningKey.generate(), retired=[test_key.verifying_key])


def test_jwks_lists_active_key_first_then_retired(rotated, test_key):
    kids = [jwk["kid"] for jwk in rotated.jwks()["keys"]]
    assert kids == [rotated.active.kid, test_key.kid]
    assert list(rotated.verifying_keys) == kids


def test_jwks_never_contains_private_members(rotated):
    for jwk in rotated.jwks()["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert '"d"' not in rotated.jwks_json()


def test_jwks_json_is_the_jwks(rotated):
    assert json.loads(rotated.jwks_json()) == rotated.jwks()


def test_key_signed_by_a_retired_key_still_verifies(rotated, license_key, claims, test_key):
    verified = rotated.verifier().verify(license_key)
    assert verified.claims == claims
    assert verified.kid == test_key.kid


def test_ring_signs_with_the_active_key(rotated, claims):
    assert rotated.verifier().verify(rotated.sign_license(claims)).kid == rotated.active.kid


def test_key_signed_by_a_dropped_key_names_its_kid(license_key, test_key):
    with pytest.raises(UnknownKeyId) as caught:
        KeyRing(SigningKey.generate()).verifier().verify(license_key)
    assert caught.value.kid == test_key.kid
    assert caught.value.reason == "LICENSE_KEY_UNKNOWN_KID"


def test_retired_copy_of_the_active_key_is_listed_once(test_key):
    ring = KeyRing(test_key, retired=[test_key.verifying_key])
    assert len(ring.jwks()["keys"]) == 1


def test_published_jwks_gives_a_verifier_equal_to_the_ring(rotated, license_key):
    verifier = LicenseVerifier.from_jwks(rotated.jwks_json())
    assert verifier.keys == rotated.verifying_keys
    assert verifier.verify(license_key) == rotated.verifier().verify(license_key)
