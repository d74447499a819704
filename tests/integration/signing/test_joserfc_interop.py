"""Keys made by `signing` and by joserfc, a JOSE library written independently, agree."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import OKPKey

from signing import BadSignature, SigningKey, b64url_decode, b64url_encode

# RFC 9864 deprecates the polymorphic "EdDSA" in favour of "Ed25519"; the key format
# (docs/key-format.md) fixes "EdDSA", which every JOSE library still verifies.
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
