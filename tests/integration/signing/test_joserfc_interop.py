"""Keys made by `signing` and by joserfc, a JOSE library written independently, agree."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import BadSignatureError, UnsupportedKeyAlgorithmError
from joserfc.jwk import OKPKey

from signing import (
    BadSignature,
    KeyRing,
    LicenseClaims,
    SigningKey,
    b64url_decode,
    b64url_encode,
    fingerprint_hash,
)

# RFC 9864 deprecates the polymorphic "EdDSA" in favour of "Ed25519"; keys are signed
# under "EdDSA" by default, which every JOSE library still verifies (docs/key-format.md).
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def joserfc_private_key(key: SigningKey) -> OKPKey:
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return OKPKey.import_key(pem)


def test_joserfc_verifies_a_key_made_by_signing(vector_key, typical_vector):
    public = OKPKey.import_key(vector_key.verifying_key.to_jwk())
    token = jws.deserialize_compact(typical_vector["key"], public, algorithms=["EdDSA"])
    assert token.protected == {"alg": "EdDSA", "kid": vector_key.kid, "typ": "license+jwt"}
    assert json.loads(token.payload) == typical_vector["claims"]


def test_joserfc_rejects_a_tampered_key_made_by_signing(vector_key, typical_vector):
    public = OKPKey.import_key(vector_key.verifying_key.to_jwk())
    head, _, signature = typical_vector["key"].split(".")
    forged = b64url_encode(json.dumps({**typical_vector["claims"], "sts": 9999}).encode())
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{head}.{forged}.{signature}", public, algorithms=["EdDSA"])


def test_joserfc_thumbprint_is_our_kid():
    key = SigningKey.generate()
    assert OKPKey.import_key(key.verifying_key.to_jwk()).thumbprint() == key.kid


def test_signing_verifies_a_key_made_by_joserfc(vector_key, vector_verifier, typical_vector):
    header = {"alg": "EdDSA", "kid": vector_key.kid, "typ": "license+jwt"}
    payload = json.dumps(typical_vector["claims"], indent=2).encode()
    text = jws.serialize_compact(
        header, payload, joserfc_private_key(vector_key), algorithms=["EdDSA"]
    )
    verified = vector_verifier.verify(text, typical_vector["fingerprint"])
    assert verified.claims.serial == typical_vector["claims"]["sub"]
    assert verified.kid == vector_key.kid


def test_signing_rejects_a_joserfc_key_signed_by_another_key(vector_key, vector_verifier):
    header = {"alg": "EdDSA", "kid": vector_key.kid, "typ": "license+jwt"}
    text = jws.serialize_compact(
        header, b"{}", joserfc_private_key(SigningKey.generate()), algorithms=["EdDSA"]
    )
    with pytest.raises(BadSignature):
        vector_verifier.verify(text)


def test_joserfc_signature_is_byte_identical_to_ours(vector_key, typical_vector):
    head, body, signature = typical_vector["key"].split(".")
    header = json.loads(b64url_decode(head))
    text = jws.serialize_compact(
        header, b64url_decode(body), joserfc_private_key(vector_key), algorithms=["EdDSA"]
    )
    # Ed25519 is deterministic: equal signing input, equal signature.
    assert text.rsplit(".", 1)[1] == signature


def test_joserfc_verifies_both_names_with_the_jwks_published_under_ed25519(vector_key):
    # Under Ed25519 the JWKS leaves alg out: joserfc binds a key's alg to the JWS's, and
    # keys signed before the switch (EdDSA) must keep verifying with the new JWKS.
    before, after = KeyRing(vector_key), KeyRing(vector_key, alg="Ed25519")
    (jwk,) = after.jwks()["keys"]
    public = OKPKey.import_key(jwk)
    for ring in (before, after):
        token = ring.sign_license(_typical_claims())
        verified = jws.deserialize_compact(token, public, algorithms=["EdDSA", "Ed25519"])
        assert verified.protected["alg"] == ring.alg


def test_joserfc_refuses_an_ed25519_key_with_a_jwk_that_names_eddsa(vector_key):
    # Why the JWKS cannot keep "alg":"EdDSA" once keys are signed under Ed25519.
    token = KeyRing(vector_key, alg="Ed25519").sign_license(_typical_claims())
    public = OKPKey.import_key(vector_key.verifying_key.to_jwk())
    with pytest.raises(UnsupportedKeyAlgorithmError):
        jws.deserialize_compact(token, public, algorithms=["EdDSA", "Ed25519"])


def _typical_claims():
    return LicenseClaims(
        serial="L-1",
        issued_at=0,
        product_code="P",
        contract_number="C",
        seats=1,
        generation=1,
        fingerprint_hash=fingerprint_hash("fp1:" + "0" * 64),
        support_end=datetime.date(2030, 1, 1),
    )
