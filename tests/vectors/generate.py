"""(Re)write the license-key test vectors in this directory.

    .venv/bin/python tests/vectors/generate.py

Everything is derived from fixed seeds, and Ed25519 signatures are
deterministic, so running this twice writes identical files;
tests/unit/signing/test_license_key_vectors.py fails when the files and this
script disagree. The key pair is the RFC 8037 Appendix A.1 example: TEST ONLY.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from signing import (
    LicenseClaims,
    SigningKey,
    b64url_decode,
    b64url_encode,
    fingerprint_hash,
    normalise_fingerprint,
    sign_license,
)

VECTORS_DIR = Path(__file__).resolve().parent
TEST_SEED = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"  # RFC 8037 A.1 "d"
OTHER_SEED = b64url_encode(hashlib.sha256(b"keysvc test vectors: a key nobody trusts").digest())
TEST_ONLY = "TEST ONLY: published example keys; never sign real licenses with them."

KEY = SigningKey.from_private_bytes(b64url_decode(TEST_SEED))
OTHER_KEY = SigningKey.from_private_bytes(b64url_decode(OTHER_SEED))
FINGERPRINT = "fp1:" + hashlib.sha256(b"keysvc test vector server").hexdigest()


def _header(kid: str = KEY.kid) -> bytes:
    return b'{"alg":"EdDSA","kid":"' + kid.encode() + b'","typ":"license+jwt"}'


def _payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "iss": "keysvc",
        "sub": "L-2026-000123",
        "iat": 1795305600,
        "prd": "ACME-SRV",
        "ctr": "SV-12345",
        "sts": 25,
        "gen": 1,
        "fph": fingerprint_hash(FINGERPRINT),
        "sup": "2027-11-21",
    }
    for name, value in changes.items():
        if value is None:
            del payload[name]
        else:
            payload[name] = value
    return payload


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _forge(header: bytes, payload: bytes, key: SigningKey = KEY) -> str:
    """Sign arbitrary header and payload bytes: the signature is valid, the content is not."""
    signing_input = b64url_encode(header) + "." + b64url_encode(payload)
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode()))


def _claims(payload: dict[str, object]) -> LicenseClaims:
    return LicenseClaims(
        serial=str(payload["sub"]),
        issued_at=int(str(payload["iat"])),
        product_code=str(payload["prd"]),
        contract_number=str(payload["ctr"]),
        seats=int(str(payload["sts"])),
        generation=int(str(payload["gen"])),
        fingerprint_hash=str(payload["fph"]),
        support_end=datetime.date.fromisoformat(str(payload["sup"])),
    )


def _wrap(key: str) -> str:
    """Wrap at 64 columns with CRLF and indentation, as a mail client might."""
    lines = [key[i : i + 64] for i in range(0, len(key), 64)]
    return "  " + "\r\n\t".join(lines) + "\n"


def keypair() -> dict[str, object]:
    """The trusted key pair, and the untrusted one used for unknown-kid vectors."""
    return {
        "comment": TEST_ONLY,
        "private_seed_b64url": TEST_SEED,
        "kid": KEY.kid,
        "public_jwk": KEY.verifying_key.to_jwk(),
        "jwks": {"keys": [KEY.verifying_key.to_jwk()]},
        "public_key_pem": KEY.verifying_key.public_pem().decode(),
        "untrusted": {
            "comment": TEST_ONLY + " Not in the JWKS: keys it signs have an unknown kid.",
            "private_seed_b64url": OTHER_SEED,
            "kid": OTHER_KEY.kid,
            "public_jwk": OTHER_KEY.verifying_key.to_jwk(),
        },
    }


def fingerprints() -> dict[str, object]:
    """Fingerprint inputs with their normal form and fph, and rejected inputs."""
    valid = [
        FINGERPRINT,
        "  FP1:" + hashlib.sha256(b"upper").hexdigest().upper() + "\r\n",
        "\tServer Fingerprint 01 \x0b\x0c",
        "12345678",
        "~" * 512,
        "MiXeD cAsE with inner  spaces!",
    ]
    invalid = [
        ("1234567", "shorter than 8 characters"),
        ("   1234567\n", "shorter than 8 characters once trimmed"),
        ("a" * 513, "longer than 512 characters"),
        ("", "empty"),
        ("abcd\tefgh", "inner tab is not printable ASCII"),
        ("abcdefgh\x7f", "DEL is not printable ASCII"),
        ("fingerprint-\u00e9", "non-ASCII character"),
        ("\u00a0fingerprint\u00a0", "no-break space is not ASCII whitespace, so it stays"),
    ]
    return {
        "comment": "fph = base64url(SHA-256(UTF-8('keysvc-fp1:' + normalised)))",
        "valid": [
            {
                "input": text,
                "normalised": normalise_fingerprint(text),
                "fph": fingerprint_hash(text),
            }
            for text in valid
        ],
        "invalid": [
            {"input": text, "reason": "INVALID_FINGERPRINT", "what": what} for text, what in invalid
        ],
    }


def valid_keys() -> dict[str, object]:
    """Claims with the exact key `sign_license` writes, plus keys from other writers."""
    cases = [
        ("typical", "a first issue", _payload()),
        (
            "reissue_many_seats",
            "third generation, large seat count",
            _payload(sub="L-2026-999999", sts=100000, gen=3, sup="2030-02-28"),
        ),
        (
            "utf8_product_code",
            "non-ASCII text is written as UTF-8, not \\u escapes",
            _payload(prd="B\u00fcro-Server \u2013 Pro", ctr="V-\u00c5-7"),
        ),
        ("epoch_issue", "iat 0 and leap day", _payload(iat=0, sup="2028-02-29")),
    ]
    vectors = []
    for name, what, payload in cases:
        key = sign_license(KEY, _claims(payload))
        vectors.append(
            {
                "name": name,
                "what": what,
                "claims": payload,
                "fingerprint": FINGERPRINT,
                "key": key,
                "key_wrapped": _wrap(key),
            }
        )
    base = _payload()
    foreign = [
        (
            "header_other_member_order",
            "header members in another order, with spaces (as other JOSE libraries write)",
            b'{ "typ": "license+jwt", "alg": "EdDSA", "kid": "' + KEY.kid.encode() + b'" }',
            _json(base),
        ),
        (
            "extra_claims_and_pretty_payload",
            "unknown claims are ignored; payload JSON may be spaced",
            _header(),
            json.dumps({**base, "exp": 4102444800, "note": "x"}, indent=1).encode(),
        ),
    ]
    accepted = [
        {"name": name, "what": what, "claims": base, "key": _forge(header, payload)}
        for name, what, header, payload in foreign
    ]
    return {
        "comment": "Signed with keypair.json (" + TEST_ONLY + ")",
        "kid": KEY.kid,
        "signed": vectors,
        "accepted": accepted,
    }


def _rejected_cases() -> list[tuple[str, str, str, str | None]]:
    good = sign_license(KEY, _claims(_payload()))
    header, payload, signature = good.split(".")
    raw_signature = b64url_decode(signature)
    flipped = bytes([raw_signature[0] ^ 1]) + raw_signature[1:]
    # The last character of a 64-byte signature carries 4 unused bits; setting one keeps the bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    loose_bits = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 1]
    changed_payload = b64url_encode(_json(_payload(sts=2500)))
    signing_input = f"{header}.{payload}"
    kid = KEY.kid.encode()
    signed = _json(_payload())

    def claims(**changes: object) -> str:
        return _forge(_header(), _json(_payload(**changes)))

    too_large, malformed, bad_header = (
        "LICENSE_KEY_TOO_LARGE",
        "LICENSE_KEY_MALFORMED",
        "LICENSE_KEY_BAD_HEADER",
    )
    unknown, bad_sig, bad_claims = (
        "LICENSE_KEY_UNKNOWN_KID",
        "LICENSE_KEY_BAD_SIGNATURE",
        "LICENSE_KEY_BAD_CLAIMS",
    )
    return [
        ("over_4096_bytes", "A" * 4097, too_large, "4097 ASCII bytes"),
        ("over_4096_utf8_bytes", "\u00e9" * 2049, too_large, "2049 characters, 4098 UTF-8 bytes"),
        (
            "valid_key_padded_past_limit",
            good + " " * (4097 - len(good)),
            too_large,
            "size is checked before whitespace is removed",
        ),
        ("empty", "", malformed, "empty text"),
        ("only_whitespace", " \r\n\t", malformed, "nothing left once whitespace is removed"),
        ("two_segments", signing_input, malformed, "signature segment missing"),
        ("four_segments", good + ".AAAA", malformed, "a fourth segment"),
        ("empty_signature", signing_input + ".", malformed, "empty segment"),
        ("padding", good + "==", malformed, "'=' padding"),
        (
            "standard_base64",
            good.replace("-", "+").replace("_", "/"),
            malformed,
            "'+' and '/' of standard base64",
        ),
        ("non_ascii", good[:-1] + "\u00e9", malformed, "non-ASCII character"),
        ("impossible_length", good + "AAA", malformed, "segment length % 4 == 1"),
        (
            "non_canonical_bits",
            f"{signing_input}.{loose_bits}",
            malformed,
            "unused trailing bits set in the last character",
        ),
        (
            "alg_none",
            _forge(b'{"alg":"none","kid":"' + kid + b'","typ":"license+jwt"}', signed),
            bad_header,
            "alg none",
        ),
        (
            "alg_hs256",
            _forge(b'{"alg":"HS256","kid":"' + kid + b'","typ":"license+jwt"}', signed),
            bad_header,
            "alg HS256",
        ),
        (
            "typ_jwt",
            _forge(b'{"alg":"EdDSA","kid":"' + kid + b'","typ":"JWT"}', signed),
            bad_header,
            "typ JWT",
        ),
        (
            "typ_missing",
            _forge(b'{"alg":"EdDSA","kid":"' + kid + b'"}', signed),
            bad_header,
            "no typ",
        ),
        (
            "kid_missing",
            _forge(b'{"alg":"EdDSA","typ":"license+jwt"}', signed),
            bad_header,
            "no kid",
        ),
        (
            "extra_crit",
            _forge(
                b'{"alg":"EdDSA","crit":["exp"],"kid":"' + kid + b'","typ":"license+jwt"}', signed
            ),
            bad_header,
            "extra member crit",
        ),
        (
            "duplicate_alg",
            _forge(
                b'{"alg":"EdDSA","alg":"none","kid":"' + kid + b'","typ":"license+jwt"}', signed
            ),
            bad_header,
            "alg given twice",
        ),
        (
            "kid_number",
            _forge(b'{"alg":"EdDSA","kid":7,"typ":"license+jwt"}', signed),
            bad_header,
            "kid not a string",
        ),
        ("header_not_json", _forge(b"alg=EdDSA", signed), bad_header, "header not JSON"),
        ("header_array", _forge(b'["EdDSA"]', signed), bad_header, "header a JSON array"),
        ("header_not_utf8", _forge(b'{"alg":"EdDSA\xff"}', signed), bad_header, "header not UTF-8"),
        (
            "unknown_kid",
            sign_license(OTHER_KEY, _claims(_payload())),
            unknown,
            "signed by the untrusted key of keypair.json",
        ),
        (
            "flipped_signature_bit",
            f"{signing_input}.{b64url_encode(flipped)}",
            bad_sig,
            "one signature bit flipped",
        ),
        (
            "changed_payload",
            f"{header}.{changed_payload}.{signature}",
            bad_sig,
            "sts changed after signing",
        ),
        (
            "short_signature",
            f"{signing_input}.{b64url_encode(raw_signature[:63])}",
            bad_sig,
            "63-byte signature",
        ),
        (
            "signed_by_other_key",
            _forge(_header(), signed, OTHER_KEY),
            bad_sig,
            "trusted kid in the header, untrusted key's signature",
        ),
        ("payload_not_json", _forge(_header(), b"sts=25"), bad_claims, "payload not JSON"),
        ("payload_array", _forge(_header(), b"[1,2]"), bad_claims, "payload a JSON array"),
        ("payload_not_utf8", _forge(_header(), b'{"sub":"\xff"}'), bad_claims, "payload not UTF-8"),
        ("payload_nan", _forge(_header(), signed[:-1] + b',"x":NaN}'), bad_claims, "NaN"),
        (
            "duplicate_claim",
            _forge(_header(), signed[:-1] + b',"sts":2500}'),
            bad_claims,
            "sts given twice",
        ),
        ("sub_missing", claims(sub=None), bad_claims, "no sub"),
        ("sub_empty", claims(sub=""), bad_claims, "empty sub"),
        ("iss_missing", claims(iss=None), bad_claims, "no iss"),
        ("iss_other", claims(iss="someone-else"), bad_claims, "iss not keysvc"),
        ("iat_string", claims(iat="1795305600"), bad_claims, "iat a string"),
        ("iat_float", claims(iat=1795305600.5), bad_claims, "iat not an integer"),
        ("iat_negative", claims(iat=-1), bad_claims, "iat before the epoch"),
        ("iat_too_large", claims(iat=2**53), bad_claims, "iat beyond 2**53 - 1"),
        ("sts_true", claims(sts=True), bad_claims, "sts a boolean"),
        ("sts_zero", claims(sts=0), bad_claims, "no seats"),
        ("gen_zero", claims(gen=0), bad_claims, "generation 0"),
        ("fph_short", claims(fph="A" * 42), bad_claims, "fph 42 characters"),
        ("fph_not_base64url", claims(fph="+" * 43), bad_claims, "fph not base64url"),
        ("sup_datetime", claims(sup="2027-11-21T00:00:00"), bad_claims, "sup with a time"),
        ("sup_basic_format", claims(sup="20271121"), bad_claims, "sup without dashes"),
        ("sup_impossible", claims(sup="2027-02-30"), bad_claims, "30 February"),
    ]


def rejected_keys() -> dict[str, object]:
    """Texts `LicenseVerifier.verify` must reject, each with the error's reason."""
    entries: list[dict[str, object]] = [
        {"name": name, "key": key, "reason": reason, "what": what}
        for name, key, reason, what in _rejected_cases()
    ]
    good = sign_license(KEY, _claims(_payload()))
    entries += [
        {
            "name": "other_fingerprint",
            "key": good,
            "fingerprint": "fp1:" + "0" * 64,
            "reason": "FINGERPRINT_MISMATCH",
            "what": "valid key, issued for another server",
        },
        {
            "name": "invalid_fingerprint_argument",
            "key": good,
            "fingerprint": "short",
            "reason": "INVALID_FINGERPRINT",
            "what": "valid key; the fingerprint to check against breaks the rules",
        },
    ]
    return {
        "comment": "Verify with the JWKS of keypair.json (" + TEST_ONLY + ")",
        "kid": KEY.kid,
        "rejected": entries,
    }


def build() -> dict[str, dict[str, object]]:
    """Every vector file by name."""
    return {
        "keypair.json": keypair(),
        "fingerprints.json": fingerprints(),
        "valid-keys.json": valid_keys(),
        "rejected-keys.json": rejected_keys(),
    }


def render(document: dict[str, object]) -> str:
    """The exact text of a vector file."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write the vector files next to this script."""
    for name, document in build().items():
        (VECTORS_DIR / name).write_text(render(document), encoding="utf-8")
        print(f"wrote {VECTORS_DIR / name}")


if __name__ == "__main__":
    main()
