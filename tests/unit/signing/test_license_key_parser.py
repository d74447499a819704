"""Each rule of the strict parser, with the error class and reason it raises.

tests/vectors/rejected-keys.json holds more cases as data; these name the rules.
"""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from signing import (
    BadSignature,
    FingerprintMismatch,
    InvalidClaims,
    InvalidFingerprint,
    KeyTooLarge,
    LicenseClaims,
    LicenseKeyError,
    MalformedKey,
    SigningError,
    UnknownKeyId,
    UnsupportedHeader,
    b64url_decode,
    b64url_encode,
    errors,
    sign_license,
)


def header(test_key, **members):
    doc = {"alg": "EdDSA", "kid": test_key.kid, "typ": "license+jwt", **members}
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def payload(claims, **changes):
    doc = {**claims.to_payload(), **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


@pytest.fixture
def with_header(forge, test_key, claims):
    """A validly signed key for the typical claims whose header has the given changes."""
    return lambda **members: forge(header(test_key, **members), payload(claims))


# -- format -------------------------------------------------------------------


def test_header_is_exactly_the_documented_bytes(license_key, test_key):
    assert b64url_decode(license_key.split(".")[0]) == (
        b'{"alg":"EdDSA","kid":"' + test_key.kid.encode() + b'","typ":"license+jwt"}'
    )


def test_payload_is_compact_json_with_short_claim_names(license_key):
    raw = b64url_decode(license_key.split(".")[1])
    assert raw == (
        b'{"iss":"keysvc","sub":"L-2026-000123","iat":1795305600,"prd":"ACME-SRV",'
        b'"ctr":"SV-12345","sts":25,"gen":1,'
        b'"fph":"aUvvMXHKt_85Qkm0uhdO6_DLqosdbiBMt-6tv3PVx2o","sup":"2027-11-21"}'
    )


def test_signing_is_deterministic(test_key, claims):
    assert sign_license(test_key, claims) == sign_license(test_key, claims)


def test_valid_key_verifies_to_its_claims(verifier, license_key, claims, test_key, fingerprint):
    verified = verifier.verify(license_key, fingerprint)
    assert verified.claims == claims
    assert verified.kid == test_key.kid


def test_bytes_input_is_accepted(verifier, license_key, claims):
    assert verifier.verify(license_key.encode()).claims == claims


def test_line_wrapped_and_indented_key_is_accepted(verifier, license_key, claims):
    wrapped = "\r\n\t ".join(license_key[i : i + 40] for i in range(0, len(license_key), 40))
    assert verifier.verify(f"\n  {wrapped}\x0b\x0c\n").claims == claims


def test_unknown_extra_claims_are_ignored(verifier, forge, test_key, claims):
    key = forge(header(test_key), payload(claims, exp=1, note="x"))
    assert verifier.verify(key).claims == claims


def test_header_in_another_json_spelling_is_accepted(verifier, forge, test_key, claims):
    spelled = b'{"typ" : "license+jwt",\n "kid":"' + test_key.kid.encode() + b'", "alg":"EdDSA"}'
    assert verifier.verify(forge(spelled, payload(claims))).claims == claims


# -- size and shape -----------------------------------------------------------


def test_text_over_4096_bytes_is_rejected_before_decoding(verifier):
    with pytest.raises(KeyTooLarge):
        verifier.verify("\0" * 4097)


def test_size_counts_utf8_bytes_not_characters(verifier):
    with pytest.raises(KeyTooLarge):
        verifier.verify("\u00e9" * 2049)
    with pytest.raises(MalformedKey):
        verifier.verify("\u00e9" * 2048)


def test_size_is_checked_before_whitespace_is_removed(verifier, license_key):
    with pytest.raises(KeyTooLarge):
        verifier.verify(license_key + "\n" * (4097 - len(license_key)))
    assert verifier.verify(license_key + "\n" * (4096 - len(license_key)))


@pytest.mark.parametrize("text", ["", " \r\n", b"", "\t"])
def test_empty_key_is_malformed(verifier, text):
    with pytest.raises(MalformedKey, match="empty"):
        verifier.verify(text)


@pytest.mark.parametrize("count", [1, 2, 4, 5])
def test_other_than_three_segments_is_malformed(verifier, license_key, count):
    parts = (license_key.split(".") * 2)[:count]
    with pytest.raises(MalformedKey, match="3 dot-separated parts"):
        verifier.verify(".".join(parts))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_empty_segment_is_malformed(verifier, license_key, index):
    parts = license_key.split(".")
    parts[index] = ""
    with pytest.raises(MalformedKey, match="empty"):
        verifier.verify(".".join(parts))


@pytest.mark.parametrize("suffix", ["=", "==", "+", "/", "!", "AAA"])
def test_segment_not_strict_base64url_is_malformed(verifier, license_key, suffix):
    with pytest.raises(MalformedKey, match="base64url"):
        verifier.verify(license_key + suffix)


def test_non_ascii_text_is_malformed(verifier, license_key):
    with pytest.raises(MalformedKey, match="non-ASCII"):
        verifier.verify(license_key + "\u00a0")
    with pytest.raises(MalformedKey, match="non-ASCII"):
        verifier.verify(license_key.encode() + b"\xa0")


def test_unicode_whitespace_is_not_removed(verifier, license_key):
    with pytest.raises(MalformedKey):
        verifier.verify(license_key[:10] + "\u2028" + license_key[10:])


def test_lone_surrogate_text_is_malformed(verifier):
    with pytest.raises(MalformedKey):
        verifier.verify("\ud800.a.b")


def test_input_neither_text_nor_bytes_is_malformed(verifier):
    with pytest.raises(MalformedKey, match="str or bytes"):
        verifier.verify(12345)  # type: ignore[arg-type]


# -- header -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"alg": "none"}, "alg"),
        ({"alg": "HS256"}, "alg"),
        ({"alg": "ES256"}, "alg"),
        ({"typ": "JWT"}, "typ"),
        ({"typ": None}, "exactly"),
        ({"kid": None}, "exactly"),
        ({"alg": None}, "exactly"),
        ({"crit": ["exp"]}, "exactly"),
        ({"jku": "https://evil.example/jwks"}, "exactly"),
        ({"kid": 7}, "kid"),
        ({"kid": ""}, "kid"),
    ],
)
def test_header_other_than_eddsa_kid_license_jwt_is_rejected(
    verifier, with_header, members, message
):
    with pytest.raises(UnsupportedHeader, match=message):
        verifier.verify(with_header(**members))


def test_header_with_alg_none_and_no_signature_is_rejected(verifier, test_key, claims):
    unsigned = b64url_encode(header(test_key, alg="none")) + "." + b64url_encode(payload(claims))
    with pytest.raises(LicenseKeyError):
        verifier.verify(unsigned + ".")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'"EdDSA"',
        b'{"alg":"EdDSA","alg":"EdDSA","kid":"k","typ":"license+jwt"}',
        b'{"alg":"EdDSA\xff"}',
        b"\xef\xbb\xbf{}",
        b"[" * 2500,
        b'{"alg":NaN}',
    ],
)
def test_header_not_a_plain_json_object_is_rejected(verifier, forge, claims, raw):
    with pytest.raises(UnsupportedHeader):
        verifier.verify(forge(raw, payload(claims)))


@pytest.mark.parametrize("typ", ["EdDSA", "Ed25519"])
def test_a_header_in_the_packages_own_spelling_is_checked_member_by_member(
    verifier, forge, test_key, claims, typ
):
    # The verifier recognises the exact headers its keys write by their bytes; a header
    # written the same way with the members' values moved about is not one of them.
    for kid in (test_key.kid, "license+jwt"):
        written = f'{{"alg":"EdDSA","kid":"{kid}","typ":"{typ}"}}'.encode()
        with pytest.raises(UnsupportedHeader, match="typ"):
            verifier.verify(forge(written, payload(claims)))


def test_unknown_kid_is_rejected_with_the_kid(verifier, forge, test_key, claims):
    with pytest.raises(UnknownKeyId) as caught:
        verifier.verify(forge(header(test_key, kid="someone-elses-key"), payload(claims)))
    assert caught.value.kid == "someone-elses-key"


# -- signature ----------------------------------------------------------------


def test_flipped_signature_bit_is_rejected(verifier, license_key):
    head, body, signature = license_key.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x40
    with pytest.raises(BadSignature, match="does not verify"):
        verifier.verify(f"{head}.{body}.{b64url_encode(bytes(raw))}")


def test_payload_changed_after_signing_is_rejected(verifier, license_key, claims):
    head, _, signature = license_key.split(".")
    changed = b64url_encode(payload(claims, sts=2500))
    with pytest.raises(BadSignature):
        verifier.verify(f"{head}.{changed}.{signature}")


@pytest.mark.parametrize("size", [1, 32, 63, 65, 128])
def test_signature_not_64_bytes_is_rejected(verifier, license_key, size):
    head, body, _ = license_key.split(".")
    with pytest.raises(BadSignature, match="64 bytes"):
        verifier.verify(f"{head}.{body}.{b64url_encode(bytes(size))}")


def test_claims_are_checked_only_after_the_signature(verifier, test_key):
    unsigned = b64url_encode(header(test_key)) + "." + b64url_encode(b"garbage")
    with pytest.raises(BadSignature):
        verifier.verify(unsigned + "." + b64url_encode(bytes(64)))


# -- claims -------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": None},
        {"sub": None},
        {"iat": None},
        {"prd": None},
        {"ctr": None},
        {"sts": None},
        {"gen": None},
        {"fph": None},
        {"sup": None},
        {"iss": "other"},
        {"sub": ""},
        {"sub": 123},
        {"prd": ["A"]},
        {"ctr": None, "contract": "SV-1"},
        {"iat": "1795305600"},
        {"iat": 1.5},
        {"iat": 1e9},
        {"iat": -1},
        {"iat": 2**53},
        {"iat": True},
        {"sts": False},
        {"sts": 0},
        {"gen": 0},
        {"gen": True},
        {"fph": "A" * 42},
        {"fph": "A" * 44},
        {"fph": "+" * 43},
        {"fph": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"},
        {"sup": "2027-11-21T00:00:00"},
        {"sup": "20271121"},
        {"sup": "2027-W47-1"},
        {"sup": "2027-02-30"},
        {"sup": "\u0662\u0660\u0662\u0667-11-21"},
        {"sup": 20271121},
    ],
)
def test_payload_without_required_claims_of_the_right_type_is_rejected(
    verifier, forge, test_key, claims, changes
):
    with pytest.raises(InvalidClaims):
        verifier.verify(forge(header(test_key), payload(claims, **changes)))


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"null",
        b"not json",
        b'{"sub":"\xff"}',
        b'{"a":NaN}',
        b"[" * 2500,
        b'{"sub":"\\ud800"}',
    ],
)
def test_payload_not_a_json_object_is_rejected(verifier, forge, test_key, raw):
    with pytest.raises(InvalidClaims):
        verifier.verify(forge(header(test_key), raw))


def test_duplicate_claim_is_rejected(verifier, forge, test_key, claims):
    raw = payload(claims)[:-1] + b',"sts":2500}'
    with pytest.raises(InvalidClaims, match="duplicate"):
        verifier.verify(forge(header(test_key), raw))


def test_claims_that_break_a_rule_cannot_be_constructed(claims):
    fields = {name: getattr(claims, name) for name in claims.__slots__}
    for change in (
        {"seats": 0},
        {"issued_at": -1},
        {"generation": True},
        {"serial": ""},
        {"support_end": datetime.datetime(2027, 1, 1)},
        {"fingerprint_hash": "x"},
        {"product_code": "\ud800"},
    ):
        with pytest.raises(ValueError, match="must"):
            LicenseClaims(**{**fields, **change})


def test_claims_read_from_a_payload_have_every_field(claims):
    # from_payload sets the fields itself rather than through __init__: none may be missed.
    read = LicenseClaims.from_payload(claims.to_payload())
    assert [getattr(read, field.name) for field in dataclasses.fields(LicenseClaims)] == [
        getattr(claims, field.name) for field in dataclasses.fields(LicenseClaims)
    ]
    assert read == claims
    assert hash(read) == hash(claims)


class _Text(str):
    pass


class _Count(int):
    pass


class _Day(datetime.date):
    pass


@pytest.mark.parametrize(
    "change",
    [
        {"serial": _Text("L-1")},
        {"product_code": "Gerät"},
        {"contract_number": "\U0001f511"},
        {"seats": _Count(3)},
        {"issued_at": 0},
        {"generation": 2**53 - 1},
        {"fingerprint_hash": _Text("A" * 43)},
        {"support_end": _Day(2027, 1, 1)},
        {"issuer": _Text("keysvc")},
    ],
)
def test_valid_claims_of_unusual_types_or_text_are_accepted(claims, change):
    fields = {name: getattr(claims, name) for name in claims.__slots__}
    assert LicenseClaims(**{**fields, **change})


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        ({"serial": _Text("")}, "sub"),
        ({"product_code": "Ger\udce4t"}, "prd"),
        ({"contract_number": b"SV-1"}, "ctr"),
        ({"seats": _Count(0)}, "sts"),
        ({"issued_at": 2**53}, "iat"),
        ({"generation": 1.0}, "gen"),
        ({"fingerprint_hash": _Text("A" * 42 + "B")}, "fph"),
        ({"support_end": "2027-01-01"}, "sup"),
        ({"issuer": ""}, "iss"),
        ({"serial": "", "seats": 0, "issuer": ""}, "sub"),
        ({"seats": 0, "issuer": ""}, "sts"),
    ],
)
def test_invalid_claims_name_the_first_claim_that_breaks_a_rule(claims, change, claim):
    fields = {name: getattr(claims, name) for name in claims.__slots__}
    with pytest.raises(ValueError, match=f"^{claim} must"):
        LicenseClaims(**{**fields, **change})


# -- fingerprint --------------------------------------------------------------


def test_fingerprint_in_another_spelling_matches(verifier, license_key, fingerprint):
    assert verifier.verify(license_key, f"  {fingerprint.upper()}\n")


def test_other_fingerprint_is_rejected(verifier, license_key):
    with pytest.raises(FingerprintMismatch):
        verifier.verify(license_key, "fp1:" + "0" * 64)


def test_invalid_fingerprint_argument_is_rejected(verifier, license_key):
    with pytest.raises(InvalidFingerprint):
        verifier.verify(license_key, "short")


# -- the error tree -----------------------------------------------------------

REASONS = {
    SigningError: "SIGNING_ERROR",
    errors.InvalidFingerprint: "INVALID_FINGERPRINT",
    errors.KeyStoreError: "KEY_STORE_ERROR",
    errors.InsecureKeyFile: "INSECURE_KEY_FILE",
    errors.BadPassphrase: "BAD_PASSPHRASE",
    errors.InvalidJwks: "INVALID_JWKS",
    LicenseKeyError: "LICENSE_KEY_INVALID",
    KeyTooLarge: "LICENSE_KEY_TOO_LARGE",
    MalformedKey: "LICENSE_KEY_MALFORMED",
    UnsupportedHeader: "LICENSE_KEY_BAD_HEADER",
    UnknownKeyId: "LICENSE_KEY_UNKNOWN_KID",
    BadSignature: "LICENSE_KEY_BAD_SIGNATURE",
    InvalidClaims: "LICENSE_KEY_BAD_CLAIMS",
    FingerprintMismatch: "FINGERPRINT_MISMATCH",
    errors.InvalidStatusClaim: "LICENSE_KEY_BAD_STATUS_CLAIM",
    errors.StatusListError: "STATUS_LIST_INVALID",
    errors.StatusListTooLarge: "STATUS_LIST_TOO_LARGE",
    errors.MalformedStatusList: "STATUS_LIST_MALFORMED",
    errors.UnsupportedStatusListHeader: "STATUS_LIST_BAD_HEADER",
    errors.UnknownStatusListKeyId: "STATUS_LIST_UNKNOWN_KID",
    errors.StatusListBadSignature: "STATUS_LIST_BAD_SIGNATURE",
    errors.InvalidStatusListClaims: "STATUS_LIST_BAD_CLAIMS",
    errors.StatusListSubjectMismatch: "STATUS_LIST_WRONG_SUBJECT",
    errors.StatusListBadEncoding: "STATUS_LIST_BAD_ENCODING",
    errors.StatusListInflatesTooLarge: "STATUS_LIST_DECOMPRESSED_TOO_LARGE",
    errors.StatusListNotTheKeys: "STATUS_LIST_NOT_THE_KEYS",
    errors.StatusIndexOutOfRange: "STATUS_INDEX_OUT_OF_RANGE",
}


def test_every_error_has_its_own_stable_reason():
    assert {cls: cls.reason for cls in REASONS} == REASONS
    assert len(set(REASONS.values())) == len(REASONS)
    assert set(errors.__all__) == {cls.__name__ for cls in REASONS}


def test_every_license_key_rejection_is_a_license_key_error():
    for cls in (KeyTooLarge, MalformedKey, UnsupportedHeader, UnknownKeyId, BadSignature):
        assert issubclass(cls, LicenseKeyError)
    assert issubclass(InvalidClaims, LicenseKeyError)
    assert issubclass(FingerprintMismatch, LicenseKeyError)
    # A bad status claim is a bad claim: callers catching InvalidClaims still catch it.
    assert issubclass(errors.InvalidStatusClaim, InvalidClaims)


def test_every_status_list_refusal_is_a_status_list_error_not_a_license_key_error():
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name.startswith(("Status", "UnknownStatus", "UnsupportedStatus", "MalformedStatus")) or (
            name == "InvalidStatusListClaims"
        ):
            assert issubclass(cls, errors.StatusListError), name
            assert not issubclass(cls, LicenseKeyError), name


def test_exactly_4096_characters_with_one_multibyte_character_is_too_large(verifier):
    with pytest.raises(KeyTooLarge):
        verifier.verify("a" * 4095 + "\u00e9")  # 4,097 bytes in UTF-8
    with pytest.raises(MalformedKey):
        verifier.verify("a" * 4094 + "\u00e9")  # exactly 4,096 bytes


def test_bytes_of_exactly_4096_are_parsed_and_one_more_is_too_large(verifier, license_key):
    padded = (license_key + "\n" * (4096 - len(license_key))).encode()
    assert len(padded) == 4096
    assert verifier.verify(padded)
    with pytest.raises(KeyTooLarge):
        verifier.verify(padded + b"\n")
