"""Properties of the parser over generated input: only our errors, and exact round trips."""

from __future__ import annotations

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from signing import LicenseClaims, SigningError, b64url_encode, sign_license

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= \r\n\t+/\u00e9\0"

# Every reason verify may give for a key when no fingerprint is checked.
SIGNING_REASONS = {
    "LICENSE_KEY_TOO_LARGE",
    "LICENSE_KEY_MALFORMED",
    "LICENSE_KEY_BAD_HEADER",
    "LICENSE_KEY_UNKNOWN_KID",
    "LICENSE_KEY_BAD_SIGNATURE",
    "LICENSE_KEY_BAD_CLAIMS",
}


def outcome(verifier, text, fingerprint=None):
    """Return the claims, or the reason of the SigningError; anything else propagates."""
    try:
        return verifier.verify(text, fingerprint).claims
    except SigningError as error:
        return error.reason


@given(st.one_of(st.text(max_size=600), st.binary(max_size=600), st.text(ALPHABET)))
def test_verify_raises_only_signing_errors_on_arbitrary_input(verifier, text):
    assert isinstance(outcome(verifier, text), str)


@given(fingerprint=st.text(max_size=40))
def test_verify_raises_only_signing_errors_on_arbitrary_fingerprints(
    verifier, license_key, fingerprint
):
    outcome(verifier, license_key, fingerprint)


@st.composite
def mutations(draw, key: str) -> str:
    """Apply a few byte flips, insertions, deletions and segment swaps to ``key``."""
    data = bytearray(key.encode())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "swap"]))
        if kind == "swap":
            parts = bytes(data).split(b".")
            i, j = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
            data = bytearray(b".".join(parts))
            continue
        position = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif data and position < len(data):
            if kind == "flip":
                data[position] ^= 1 << draw(st.integers(0, 7))
            else:
                del data[position : position + draw(st.integers(1, 8))]
    as_text = draw(st.booleans())
    return data.decode("utf-8", "replace") if as_text else bytes(data)


@settings(max_examples=300)
@given(data=st.data())
def test_mutated_key_is_rejected_with_a_signing_error_or_keeps_its_claims(
    verifier, license_key, claims, data
):
    mutant = data.draw(mutations(license_key))
    # A mutation can only survive by touching whitespace or nothing; then the claims are intact.
    assert outcome(verifier, mutant) in {claims, *SIGNING_REASONS}


printable = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
counts = st.integers(min_value=1, max_value=2**53 - 1)

claims_strategy = st.builds(
    LicenseClaims,
    serial=printable,
    issued_at=st.integers(min_value=0, max_value=2**53 - 1),
    product_code=printable,
    contract_number=printable,
    seats=counts,
    generation=counts,
    fingerprint_hash=st.binary(min_size=32, max_size=32).map(b64url_encode),
    support_end=st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31)),
)


@given(claims_strategy)
def test_valid_key_round_trips_its_claims_exactly(test_key, verifier, generated):
    verified = verifier.verify(sign_license(test_key, generated))
    assert verified.claims == generated
    assert verified.kid == test_key.kid
