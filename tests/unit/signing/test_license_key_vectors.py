"""tests/vectors/ agrees with `signing`, and with the script that writes it."""

from __future__ import annotations

import datetime
import importlib.util
import json
from pathlib import Path

import pytest

from signing import (
    InvalidFingerprint,
    LicenseClaims,
    LicenseVerifier,
    SigningError,
    SigningKey,
    StatusReference,
    b64url_decode,
    fingerprint_hash,
    normalise_fingerprint,
    sign_license,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load(name):
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


KEYPAIR = load("keypair.json")
FINGERPRINTS = load("fingerprints.json")
VALID = load("valid-keys.json")
REJECTED = load("rejected-keys.json")


@pytest.fixture(scope="module")
def vector_key():
    return SigningKey.from_private_bytes(b64url_decode(KEYPAIR["private_seed_b64url"]))


@pytest.fixture(scope="module")
def vector_verifier():
    return LicenseVerifier.from_jwks(KEYPAIR["jwks"])


def claims_of(payload):
    status = payload.get("status")
    reference = None
    if status is not None:
        reference = StatusReference(
            index=status["status_list"]["idx"], uri=status["status_list"]["uri"]
        )
    return LicenseClaims(
        serial=payload["sub"],
        issued_at=payload["iat"],
        product_code=payload["prd"],
        contract_number=payload["ctr"],
        seats=payload["sts"],
        generation=payload["gen"],
        fingerprint_hash=payload["fph"],
        support_end=datetime.date.fromisoformat(payload["sup"]),
        issuer=payload["iss"],
        status=reference,
    )


def load_generator():
    spec = importlib.util.spec_from_file_location("vector_generator", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    return generator


def test_files_are_what_the_generator_writes():
    generator = load_generator()
    documents = generator.build()
    # status-lists.json holds ZLIB output, which may differ between zlib builds:
    # test_status_list_vectors.py compares it where the zlib is the generator's.
    assert "status-lists.json" in documents
    del documents["status-lists.json"]
    for name, document in documents.items():
        assert (VECTORS / name).read_text(encoding="utf-8") == generator.render(document), name


def test_keypair_is_consistent(vector_key):
    public = vector_key.verifying_key
    assert KEYPAIR["kid"] == public.kid
    assert KEYPAIR["public_jwk"] == public.to_jwk()
    assert KEYPAIR["jwks"] == {"keys": [public.to_jwk()]}
    assert KEYPAIR["public_key_pem"] == public.public_pem().decode()
    assert "TEST ONLY" in KEYPAIR["comment"]


@pytest.mark.parametrize("vector", FINGERPRINTS["valid"], ids=lambda v: repr(v["input"][:20]))
def test_fingerprint_vector_normalises_and_hashes(vector):
    assert normalise_fingerprint(vector["input"]) == vector["normalised"]
    assert fingerprint_hash(vector["input"]) == vector["fph"]


@pytest.mark.parametrize("vector", FINGERPRINTS["invalid"], ids=lambda v: v["what"])
def test_fingerprint_vector_is_rejected(vector):
    with pytest.raises(InvalidFingerprint) as caught:
        normalise_fingerprint(vector["input"])
    assert caught.value.reason == vector["reason"]


@pytest.mark.parametrize("vector", VALID["signed"], ids=lambda v: v["name"])
def test_signing_the_vector_claims_gives_the_identical_key(vector, vector_key):
    alg = vector.get("alg", "EdDSA")
    assert sign_license(vector_key, claims_of(vector["claims"]), alg=alg) == vector["key"]
    assert json.loads(b64url_decode(vector["key"].split(".", 1)[0]))["alg"] == alg


def test_the_keys_from_before_the_status_claim_have_no_alg_and_no_status():
    # The first four vectors predate the claim and RFC 9864: their text never changes.
    first = VALID["signed"][:4]
    assert [v["name"] for v in first] == [
        "typical",
        "reissue_many_seats",
        "utf8_product_code",
        "epoch_issue",
    ]
    assert all("alg" not in v and "status" not in v["claims"] for v in first)
    assert {v["alg"] for v in VALID["signed"][4:]} == {"EdDSA", "Ed25519"}


@pytest.mark.parametrize("vector", VALID["signed"], ids=lambda v: v["name"])
def test_signed_vector_verifies_plain_and_wrapped(vector, vector_verifier):
    expected = claims_of(vector["claims"])
    for text in (vector["key"], vector["key_wrapped"], vector["key"].encode()):
        verified = vector_verifier.verify(text, vector["fingerprint"])
        assert verified.claims == expected
        assert verified.kid == VALID["kid"]


@pytest.mark.parametrize("vector", VALID["accepted"], ids=lambda v: v["name"])
def test_accepted_vector_verifies(vector, vector_verifier):
    assert vector_verifier.verify(vector["key"]).claims == claims_of(vector["claims"])


@pytest.mark.parametrize("vector", REJECTED["rejected"], ids=lambda v: v["name"])
def test_rejected_vector_raises_the_listed_reason(vector, vector_verifier):
    for text in (vector["key"], vector["key"].encode("utf-8", "surrogatepass")):
        with pytest.raises(SigningError) as caught:
            vector_verifier.verify(text, vector.get("fingerprint"))
        assert caught.value.reason == vector["reason"], vector["what"]


def test_every_rejection_reason_has_a_vector():
    assert {v["reason"] for v in REJECTED["rejected"]} == {
        "LICENSE_KEY_TOO_LARGE",
        "LICENSE_KEY_MALFORMED",
        "LICENSE_KEY_BAD_HEADER",
        "LICENSE_KEY_UNKNOWN_KID",
        "LICENSE_KEY_BAD_SIGNATURE",
        "LICENSE_KEY_BAD_CLAIMS",
        "FINGERPRINT_MISMATCH",
        "INVALID_FINGERPRINT",
        "LICENSE_KEY_BAD_STATUS_CLAIM",
    }
