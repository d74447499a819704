"""Offline verification with a JWKS file, and an explanation for every rejection."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from keysvc.migrate import EXPLANATIONS, CheckResult, check_license_key, explain, read_jwks
from signing import (
    InvalidFingerprint,
    KeyRing,
    LicenseClaims,
    LicenseKeyError,
    SigningKey,
    b64url_decode,
    b64url_encode,
)

OTHER_SERVER = "fp1:" + "cd" * 32


def concrete_license_key_errors() -> list[type[LicenseKeyError]]:
    found: list[type[LicenseKeyError]] = []
    pending = [LicenseKeyError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def test_the_list_of_rejections_is_the_one_signing_has() -> None:
    # Guards the test below: a renamed or moved error tree must not make it pass vacuously.
    assert {error.__name__ for error in concrete_license_key_errors()} >= {
        "KeyTooLarge",
        "MalformedKey",
        "UnsupportedHeader",
        "UnknownKeyId",
        "BadSignature",
        "InvalidClaims",
        "FingerprintMismatch",
    }


@pytest.mark.parametrize("error", concrete_license_key_errors(), ids=lambda error: error.__name__)
def test_every_rejection_signing_knows_has_its_own_explanation(
    error: type[LicenseKeyError],
) -> None:
    assert error.reason in EXPLANATIONS
    assert explain(error.reason) != explain(LicenseKeyError.reason)


def test_explanations_are_distinct() -> None:
    assert len(set(EXPLANATIONS.values())) == len(EXPLANATIONS)


def test_an_unknown_reason_still_gets_an_explanation() -> None:
    assert explain("LICENSE_KEY_FROM_THE_FUTURE") == EXPLANATIONS[LicenseKeyError.reason]


def test_a_genuine_key_for_this_server_is_valid(
    license_key: str, jwks_file: Path, claims: LicenseClaims, this_server: str
) -> None:
    result = check_license_key(license_key, read_jwks(jwks_file), fingerprint=this_server)
    assert result.valid
    assert result.claims == claims
    assert (result.reason, result.explanation, result.message) == (None, None, None)


def test_without_a_fingerprint_only_the_key_itself_is_checked(
    license_key: str, jwks_file: Path
) -> None:
    assert check_license_key(license_key, read_jwks(jwks_file)).valid


def test_the_claims_a_customer_needs_are_on_the_result(license_key: str, jwks_file: Path) -> None:
    claims = check_license_key(license_key, read_jwks(jwks_file)).claims
    assert claims is not None
    assert (claims.serial, claims.contract_number, claims.product_code) == (
        "L-2026-ABCDEFGHJK",
        "SS-2026-000123",
        "neo-webconf",
    )
    assert (claims.seats, claims.generation) == (50, 2)
    assert claims.support_end == datetime.date(2027, 11, 21)


def test_a_key_for_another_server_says_to_request_a_re_issue_and_keeps_its_claims(
    license_key: str, jwks_file: Path, claims: LicenseClaims
) -> None:
    result = check_license_key(license_key, read_jwks(jwks_file), fingerprint=OTHER_SERVER)
    assert not result.valid
    assert result.reason == "FINGERPRINT_MISMATCH"
    assert result.explanation == (
        "this key was issued for another server: request a re-issue with `keysvc-migrate request`"
    )
    # The serial of the old key is what the re-issue request names.
    assert result.claims == claims


def test_a_key_signed_by_a_key_missing_from_the_jwks_says_to_export_a_fresh_one(
    license_key: str, tmp_path: Path, this_server: str
) -> None:
    stale = tmp_path / "stale-jwks.json"
    stale.write_text(KeyRing(SigningKey.generate()).jwks_json(), encoding="utf-8")
    result = check_license_key(license_key, read_jwks(stale), fingerprint=this_server)
    assert result.reason == "LICENSE_KEY_UNKNOWN_KID"
    assert result.explanation == (
        "the JWKS file does not hold the key that signed this license: export a fresh one"
    )
    assert result.claims is None


def test_a_tampered_key_has_a_bad_signature(
    license_key: str, jwks_file: Path, this_server: str
) -> None:
    header, payload, signature = license_key.split(".")
    more_seats = b64url_decode(payload).replace(b'"sts":50', b'"sts":500')
    tampered = f"{header}.{b64url_encode(more_seats)}.{signature}"
    result = check_license_key(tampered, read_jwks(jwks_file), fingerprint=this_server)
    assert result.reason == "LICENSE_KEY_BAD_SIGNATURE"
    assert result.explanation is not None
    assert "copy it again" in result.explanation
    assert result.claims is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "LICENSE_KEY_MALFORMED"),
        ("a" * 5000, "LICENSE_KEY_TOO_LARGE"),
        # A JWT, but not a license key: {"alg":"HS256","typ":"JWT"}.
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln", "LICENSE_KEY_BAD_HEADER"),
    ],
)
def test_text_that_is_no_license_key_is_explained(text: str, reason: str, jwks_file: Path) -> None:
    result = check_license_key(text, read_jwks(jwks_file))
    assert result.reason == reason
    assert result.explanation == EXPLANATIONS[reason]
    assert result.message


def test_a_genuine_signature_over_unknown_contents_is_explained(
    ring: KeyRing, jwks_file: Path
) -> None:
    header = '{"alg":"EdDSA","kid":"' + ring.active.kid + '","typ":"license+jwt"}'
    payload = '{"iss":"keysvc","sub":"L-1"}'
    signing_input = f"{b64url_encode(header.encode())}.{b64url_encode(payload.encode())}"
    forged = f"{signing_input}.{b64url_encode(ring.active.sign(signing_input.encode()))}"
    result = check_license_key(forged, read_jwks(jwks_file))
    assert result.reason == "LICENSE_KEY_BAD_CLAIMS"
    assert result.explanation == EXPLANATIONS["LICENSE_KEY_BAD_CLAIMS"]


def test_a_malformed_fingerprint_is_the_callers_mistake(license_key: str, jwks_file: Path) -> None:
    with pytest.raises(InvalidFingerprint):
        check_license_key(license_key, read_jwks(jwks_file), fingerprint="short")


def test_a_result_cannot_be_valid_without_a_license_or_half_explained() -> None:
    with pytest.raises(ValueError, match="needs the verified license"):
        CheckResult(None)
    with pytest.raises(ValueError, match="go together"):
        CheckResult(None, reason="FINGERPRINT_MISMATCH")
