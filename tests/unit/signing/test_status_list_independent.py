"""An independent decoder, written from the draft's text, agrees with `signing` on every entry.

draft-ietf-oauth-status-list, "Status List": each status takes ``bits`` bits;
the statuses are concatenated into a byte array, "the first status at the least
significant bits of the first byte"; the array is compressed with DEFLATE in
the ZLIB data format and base64url-encoded into ``lst``. The JWT is verified
with joserfc, a JOSE library written independently of `signing`; nothing here
calls `signing`'s decoding.
"""

from __future__ import annotations

import base64
import json
import random
import zlib

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import OKPKey

from signing import (
    KeyRing,
    StatusListBadSignature,
    build_status_list_token,
    parse_status_list_token,
)

URI = "https://keys.example.com/status/7"

# RFC 9864 deprecates "EdDSA"; joserfc warns on every use of it.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def independent_decode(token: str, jwk: dict, expected_uri: str) -> list[int]:
    """Every status of a Status List Token, read as the draft describes it."""
    key = OKPKey.import_key(jwk)
    verified = jws.deserialize_compact(token, key, algorithms=["EdDSA", "Ed25519"])
    assert verified.protected["typ"] == "statuslist+jwt"
    claims = json.loads(verified.payload)
    assert claims["sub"] == expected_uri
    bits = claims["status_list"]["bits"]
    lst = claims["status_list"]["lst"]
    byte_array = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    count = len(byte_array) * 8 // bits
    mask = (1 << bits) - 1
    return [(byte_array[i * bits // 8] >> (i * bits % 8)) & mask for i in range(count)]


def agree(ring: KeyRing, statuses: list[int]) -> None:
    token = ring.sign_status_list(
        statuses, uri=URI, issued_at=1795305600, expires_at=1795392000, ttl=3600
    )
    (jwk,) = ring.jwks()["keys"]
    theirs = independent_decode(token, jwk, URI)
    ours = parse_status_list_token(token, ring.verifier(), expected_uri=URI)
    assert len(theirs) == len(ours)
    # The statuses given, then VALID padding to the end of the last byte.
    assert theirs == statuses + [0] * (len(theirs) - len(statuses))
    assert [int(ours.value(i)) for i in range(len(ours))] == theirs


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 8, 9, 1000, 4097])
def test_lists_built_by_signing_read_the_same_to_the_independent_decoder(test_key, alg, count):
    generator = random.Random(count)  # noqa: S311 - reproducible test data
    agree(KeyRing(test_key, alg=alg), [generator.randrange(4) for _ in range(count)])


def test_a_large_sparse_list_reads_the_same_on_every_entry(test_key):
    generator = random.Random(19)  # noqa: S311 - reproducible test data
    statuses = [0] * 100_000
    for index in generator.sample(range(len(statuses)), 1000):
        statuses[index] = generator.choice([1, 2, 3])
    agree(KeyRing(test_key), statuses)


@settings(max_examples=50, deadline=None)
@given(statuses=st.lists(st.integers(0, 3), min_size=1, max_size=300))
def test_any_list_reads_the_same_to_the_independent_decoder(test_key, statuses):
    agree(KeyRing(test_key), statuses)


def test_the_independent_decoder_reads_the_drafts_example():
    # Built by hand, without signing: the draft's 12 two-bit statuses and its lst.
    lst = "eNo76fITAAPfAgc"
    byte_array = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    assert [(byte_array[i * 2 // 8] >> (i * 2 % 8)) & 3 for i in range(12)] == [
        1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3,
    ]  # fmt: skip


def test_a_list_signed_by_joserfc_parses_in_signing(test_key, verifier):
    # The other direction: a token written by joserfc from the draft's text.
    header = {"alg": "Ed25519", "kid": test_key.kid, "typ": "statuslist+jwt"}
    statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    claims = {
        "sub": URI,
        "iat": 1795305600,
        "exp": 1795392000,
        "ttl": 60,
        "status_list": {"bits": 2, "lst": "eNo76fITAAPfAgc"},
    }
    token = jws.serialize_compact(
        header, json.dumps(claims).encode(), _joserfc_private(test_key), algorithms=["Ed25519"]
    )
    parsed = parse_status_list_token(token, verifier, expected_uri=URI)
    assert [int(parsed.value(i)) for i in range(12)] == statuses


def _joserfc_private(key):
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return OKPKey.import_key(pem)


def test_signing_and_the_independent_decoder_refuse_a_tampered_list(test_key):
    ring = KeyRing(test_key)
    token = build_status_list_token(
        [0, 1], uri=URI, issued_at=0, expires_at=10, ttl=1, signing_key=test_key
    )
    head, _, signature = token.split(".")
    # The same claims with every entry VALID, under the original signature.
    lst = base64.urlsafe_b64encode(zlib.compress(b"\x00")).rstrip(b"=").decode()
    claims = {"sub": URI, "iat": 0, "exp": 10, "ttl": 1, "status_list": {"bits": 2, "lst": lst}}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{head}.{body}.{signature}"
    with pytest.raises(BadSignatureError):
        independent_decode(forged, ring.jwks()["keys"][0], URI)
    with pytest.raises(StatusListBadSignature):
        parse_status_list_token(forged, ring.verifier(), expected_uri=URI)
