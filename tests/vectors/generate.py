"""(Re)write the license-key test vectors in this directory.

    .venv/bin/python tests/vectors/generate.py

Everything is derived from fixed seeds, and Ed25519 signatures are
deterministic, so running this twice writes identical files;
tests/unit/signing/test_license_key_vectors.py fails when the files and this
script disagree. The key pair is the RFC 8037 Appendix A.1 example: TEST ONLY.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import zlib
from pathlib import Path

from signing import (
    MAX_STATUS_LIST_BYTES,
    Algorithm,
    LicenseClaims,
    SigningKey,
    StatusReference,
    b64url_decode,
    b64url_encode,
    build_status_list_token,
    fingerprint_hash,
    normalise_fingerprint,
    pack_statuses,
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


# Makes _payload write a JSON null instead of removing the claim.
_NULL = object()


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
            payload[name] = None if value is _NULL else value
    return payload


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _forge(header: bytes, payload: bytes, key: SigningKey = KEY) -> str:
    """Sign arbitrary header and payload bytes: the signature is valid, the content is not."""
    signing_input = b64url_encode(header) + "." + b64url_encode(payload)
    return signing_input + "." + b64url_encode(key.sign(signing_input.encode()))


def _claims(payload: dict[str, object]) -> LicenseClaims:
    status = payload.get("status")
    reference = None
    if isinstance(status, dict):
        entry = status["status_list"]
        reference = StatusReference(index=entry["idx"], uri=entry["uri"])
    return LicenseClaims(
        serial=str(payload["sub"]),
        issued_at=int(str(payload["iat"])),
        product_code=str(payload["prd"]),
        contract_number=str(payload["ctr"]),
        seats=int(str(payload["sts"])),
        generation=int(str(payload["gen"])),
        fingerprint_hash=str(payload["fph"]),
        support_end=datetime.date.fromisoformat(str(payload["sup"])),
        status=reference,
    )


STATUS_URI = "https://keys.example.com/status/1"
OTHER_STATUS_URI = "https://keys.example.com/status/2"


def _status(index: object, uri: str = STATUS_URI) -> dict[str, object]:
    return {"status_list": {"idx": index, "uri": uri}}


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
    # Added with the status claim and RFC 9864; the keys above keep their exact text.
    named_cases: list[tuple[str, str, dict[str, object], Algorithm]] = [
        (
            "status_claim",
            "the status claim of SPEC 5a: entry 42 of a status list",
            _payload(status=_status(42)),
            "EdDSA",
        ),
        (
            "alg_ed25519",
            "signed under RFC 9864's name Ed25519 instead of EdDSA",
            _payload(),
            "Ed25519",
        ),
        (
            "alg_ed25519_status_claim",
            "Ed25519 and the status claim",
            _payload(status=_status(42)),
            "Ed25519",
        ),
    ]
    vectors = []
    every_case: list[tuple[str, str, dict[str, object], Algorithm | None]] = [
        (*case, None) for case in cases
    ]
    for name, what, payload, alg in every_case + list(named_cases):
        key = sign_license(KEY, _claims(payload), alg=alg or "EdDSA")
        vector: dict[str, object] = {"name": name, "what": what}
        if alg is not None:
            vector["alg"] = alg
        vector.update(
            {
                "claims": payload,
                "fingerprint": FINGERPRINT,
                "key": key,
                "key_wrapped": _wrap(key),
            }
        )
        vectors.append(vector)
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
        (
            "header_ed25519_other_member_order",
            "alg Ed25519 (RFC 9864), members in another order, with spaces",
            b'{ "kid": "' + KEY.kid.encode() + b'", "typ": "license+jwt", "alg": "Ed25519" }',
            _json(base),
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
    bad_status = "LICENSE_KEY_BAD_STATUS_CLAIM"
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
        (
            "alg_lowercase_ed25519",
            _forge(b'{"alg":"ed25519","kid":"' + kid + b'","typ":"license+jwt"}', signed),
            bad_header,
            "alg ed25519: the names are case-sensitive",
        ),
        ("status_null", claims(status=_NULL), bad_status, "status null"),
        ("status_string", claims(status=STATUS_URI), bad_status, "status a string"),
        ("status_without_status_list", claims(status={}), bad_status, "no status_list"),
        (
            "status_list_without_idx",
            claims(status={"status_list": {"uri": STATUS_URI}}),
            bad_status,
            "no idx",
        ),
        (
            "status_list_without_uri",
            claims(status={"status_list": {"idx": 0}}),
            bad_status,
            "no uri",
        ),
        ("status_idx_negative", claims(status=_status(-1)), bad_status, "idx -1"),
        (
            "status_idx_past_largest_list",
            claims(status=_status(4194304)),
            bad_status,
            "idx 2**22, past the largest list accepted",
        ),
        ("status_idx_string", claims(status=_status("7")), bad_status, "idx a string"),
        ("status_idx_true", claims(status=_status(True)), bad_status, "idx a boolean"),
        (
            "status_uri_ftp",
            claims(status=_status(0, "ftp://keys.example.com/status/1")),
            bad_status,
            "uri not http(s)",
        ),
        (
            "status_uri_relative",
            claims(status=_status(0, "/status/1")),
            bad_status,
            "uri without scheme and host",
        ),
        (
            "status_uri_too_long",
            claims(status=_status(0, "https://" + "a" * 2041)),
            bad_status,
            "uri of 2049 characters",
        ),
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


# The lists of status-lists.json: name, what, alg, number of entries, entries not VALID.
LIST_IAT = 1795305600
LIST_EXP = LIST_IAT + 86400
LIST_TTL = 3600
STATUS_LISTS: list[tuple[str, str, Algorithm, int, dict[int, int]]] = [
    (
        "every_value",
        "16 entries: each value at each of the four positions of a byte",
        "EdDSA",
        16,
        {1: 1, 2: 2, 3: 3, 4: 3, 6: 2, 7: 1, 8: 2, 9: 3, 10: 1, 12: 1, 13: 1, 14: 2, 15: 3},
    ),
    (
        "draft_example_ed25519",
        "the draft's 12 two-bit statuses (byte array c944f9), signed under Ed25519",
        "Ed25519",
        12,
        {0: 1, 1: 2, 3: 3, 5: 1, 7: 1, 8: 1, 9: 2, 10: 3, 11: 3},
    ),
    (
        "thousand_sparse",
        "1000 entries, 1 % not VALID, the first and the last among them",
        "EdDSA",
        1000,
        {0: 3, 17: 1, 123: 2, 256: 3, 333: 1, 500: 1, 640: 3, 777: 1, 901: 2, 999: 1},
    ),
]


def _statuses(entries: int, not_valid: dict[int, int]) -> list[int]:
    statuses = [0] * entries
    for index, value in not_valid.items():
        statuses[index] = value
    return statuses


def _list_token(name: str) -> str:
    _, _, alg, entries, not_valid = next(entry for entry in STATUS_LISTS if entry[0] == name)
    return build_status_list_token(
        _statuses(entries, not_valid),
        uri=STATUS_URI,
        issued_at=LIST_IAT,
        expires_at=LIST_EXP,
        ttl=LIST_TTL,
        signing_key=KEY,
        alg=alg,
    )


def _list_header(**changes: object) -> bytes:
    header: dict[str, object] = {"alg": "EdDSA", "kid": KEY.kid, "typ": "statuslist+jwt"}
    for name, value in changes.items():
        if value is None:
            del header[name]
        else:
            header[name] = value
    return _json(header)


def _list_payload(**changes: object) -> bytes:
    status_list: dict[str, object] = {
        "bits": 2,
        "lst": b64url_encode(zlib.compress(pack_statuses([0, 1, 2, 3]), 9)),
    }
    payload: dict[str, object] = {
        "sub": STATUS_URI,
        "iat": LIST_IAT,
        "exp": LIST_EXP,
        "ttl": LIST_TTL,
        "status_list": status_list,
    }
    for name, value in changes.items():
        if name in {"bits", "lst"}:
            status_list[name] = value
        elif value is None:
            del payload[name]
        else:
            payload[name] = value
    return _json(payload)


def _rejected_lists() -> list[tuple[str, str, str, str]]:
    good = _list_token("every_value")
    header, payload, signature = good.split(".")
    raw_signature = b64url_decode(signature)
    flipped = bytes([raw_signature[0] ^ 1]) + raw_signature[1:]
    other_payload = _list_token("thousand_sparse").split(".")[1]

    def forged(**changes: object) -> str:
        return _forge(_list_header(), _list_payload(**changes))

    def lst(compressed: bytes) -> str:
        return forged(lst=b64url_encode(compressed))

    malformed, bad_header = "STATUS_LIST_MALFORMED", "STATUS_LIST_BAD_HEADER"
    bad_claims, encoding = "STATUS_LIST_BAD_CLAIMS", "STATUS_LIST_BAD_ENCODING"
    return [
        ("empty", "", malformed, "empty text"),
        ("two_parts", f"{header}.{payload}", malformed, "signature part missing"),
        ("padding", good + "==", malformed, "'=' padding"),
        ("inner_newline", good[:64] + "\n" + good[64:], malformed, "a line break inside"),
        (
            "license_key_as_list",
            sign_license(KEY, _claims(_payload(status=_status(0)))),
            bad_header,
            "a license key (typ license+jwt) is not a status list",
        ),
        ("typ_jwt", _forge(_list_header(typ="JWT"), _list_payload()), bad_header, "typ JWT"),
        ("alg_none", _forge(_list_header(alg="none"), _list_payload()), bad_header, "alg none"),
        ("alg_es256", _forge(_list_header(alg="ES256"), _list_payload()), bad_header, "alg ES256"),
        (
            "extra_header_member",
            _forge(_list_header(jku="https://evil.example/jwks"), _list_payload()),
            bad_header,
            "a jku member",
        ),
        ("kid_missing", _forge(_list_header(kid=None), _list_payload()), bad_header, "no kid"),
        (
            "unknown_kid",
            _forge(_list_header(kid=OTHER_KEY.kid), _list_payload(), OTHER_KEY),
            "STATUS_LIST_UNKNOWN_KID",
            "signed by the untrusted key of keypair.json",
        ),
        (
            "flipped_signature_bit",
            f"{header}.{payload}.{b64url_encode(flipped)}",
            "STATUS_LIST_BAD_SIGNATURE",
            "one signature bit flipped",
        ),
        (
            "other_lists_payload",
            f"{header}.{other_payload}.{signature}",
            "STATUS_LIST_BAD_SIGNATURE",
            "the payload of another list under this list's signature",
        ),
        (
            "signed_by_other_key",
            _forge(_list_header(), _list_payload(), OTHER_KEY),
            "STATUS_LIST_BAD_SIGNATURE",
            "trusted kid in the header, untrusted key's signature",
        ),
        ("payload_not_json", _forge(_list_header(), b"lst=1"), bad_claims, "payload not JSON"),
        ("sub_missing", forged(sub=None), bad_claims, "no sub"),
        ("exp_missing", forged(exp=None), bad_claims, "no exp"),
        ("ttl_missing", forged(ttl=None), bad_claims, "no ttl"),
        ("iat_string", forged(iat=str(LIST_IAT)), bad_claims, "iat a string"),
        ("exp_equals_iat", forged(exp=LIST_IAT), bad_claims, "exp not after iat"),
        ("ttl_zero", forged(ttl=0), bad_claims, "ttl 0"),
        ("bits_1", forged(bits=1), bad_claims, "bits 1: keysvc lists are 2 bits an entry"),
        ("bits_8", forged(bits=8), bad_claims, "bits 8"),
        ("lst_number", forged(lst=7), bad_claims, "lst not a string"),
        (
            "other_subject",
            forged(sub=OTHER_STATUS_URI),
            "STATUS_LIST_WRONG_SUBJECT",
            "a list for .../status/2 fetched as .../status/1",
        ),
        ("lst_padding", forged(lst="eNo76fITAAPfAgc="), encoding, "lst with '=' padding"),
        ("lst_not_zlib", lst(b"not zlib at all"), encoding, "lst not ZLIB data"),
        ("lst_gzip", forged(lst="H4sIAMo_jGQC_9u5GABc9QE7AgAAAA"), encoding, "lst gzip, not ZLIB"),
        (
            "lst_truncated",
            lst(zlib.compress(b"\x1b\x1b", 9)[:-3]),
            encoding,
            "lst a ZLIB stream cut short",
        ),
        (
            "lst_trailing_byte",
            lst(zlib.compress(b"\x1b", 9) + b"\x00"),
            encoding,
            "a byte after the ZLIB stream",
        ),
        ("lst_empty_list", lst(zlib.compress(b"", 9)), encoding, "no entries at all"),
        (
            "lst_over_1_mib",
            lst(zlib.compress(bytes(MAX_STATUS_LIST_BYTES + 1), 9)),
            "STATUS_LIST_DECOMPRESSED_TOO_LARGE",
            "decompresses to 1 MiB + 1 byte: refused after inflating at most that much",
        ),
    ]


def status_lists() -> dict[str, object]:
    """Status List Tokens, keys pointing into them with the outcome, and refused lists."""
    lists = []
    for name, what, alg, entries, not_valid in STATUS_LISTS:
        statuses = _statuses(entries, not_valid)
        lists.append(
            {
                "name": name,
                "what": what,
                "alg": alg,
                "uri": STATUS_URI,
                "iat": LIST_IAT,
                "exp": LIST_EXP,
                "ttl": LIST_TTL,
                "entries": entries,
                "not_valid": {str(index): value for index, value in sorted(not_valid.items())},
                "byte_array_hex": pack_statuses(statuses).hex(),
                "token": _list_token(name),
            }
        )
    fresh, stale = LIST_EXP - 1, LIST_EXP
    typical = _claims(_payload())
    checks: list[tuple[str, str, str, object, int, Algorithm, str]] = [
        # name, what, list, idx (None: no claim; (idx, uri): another list), now, alg, expected
        ("valid", "entry 0 of every_value is VALID", "every_value", 0, fresh, "EdDSA", "VALID"),
        ("invalid", "entry 1: INVALID", "every_value", 1, fresh, "EdDSA", "INVALID"),
        ("suspended", "entry 2: SUSPENDED", "every_value", 2, fresh, "EdDSA", "SUSPENDED"),
        ("superseded", "entry 3: SUPERSEDED", "every_value", 3, fresh, "EdDSA", "SUPERSEDED"),
        ("last_entry", "entry 15, the last", "every_value", 15, fresh, "EdDSA", "SUPERSEDED"),
        (
            "stale",
            "entry 0 when now is the list's exp: stale, not VALID",
            "every_value",
            0,
            stale,
            "EdDSA",
            "STALE",
        ),
        (
            "stale_even_if_invalid",
            "entry 1 at exp: stale whatever the entry says",
            "every_value",
            1,
            stale,
            "EdDSA",
            "STALE",
        ),
        (
            "no_status",
            "a key without the status claim (issued before status lists)",
            "every_value",
            None,
            fresh,
            "EdDSA",
            "NO_STATUS",
        ),
        (
            "ed25519_key_in_ed25519_list",
            "a key and a list signed under Ed25519; entry 11",
            "draft_example_ed25519",
            11,
            fresh,
            "Ed25519",
            "SUPERSEDED",
        ),
        ("first_of_1000", "entry 0 of 1000", "thousand_sparse", 0, fresh, "EdDSA", "SUPERSEDED"),
        ("valid_of_1000", "entry 998 of 1000", "thousand_sparse", 998, fresh, "EdDSA", "VALID"),
        ("last_of_1000", "entry 999 of 1000", "thousand_sparse", 999, fresh, "EdDSA", "INVALID"),
        (
            "index_past_the_end",
            "entry 1000 of a list of 1000: the list is not the key's",
            "thousand_sparse",
            1000,
            fresh,
            "EdDSA",
            "STATUS_INDEX_OUT_OF_RANGE",
        ),
        (
            "key_for_another_list",
            "the key's uri is .../status/2; the list is .../status/1",
            "every_value",
            (0, OTHER_STATUS_URI),
            fresh,
            "EdDSA",
            "STATUS_LIST_NOT_THE_KEYS",
        ),
    ]
    check_vectors = []
    for name, what, list_name, index, now, alg, expected in checks:
        if index is None:
            key_claims = typical
        elif isinstance(index, tuple):
            key_claims = dataclasses.replace(
                typical, status=StatusReference(index=index[0], uri=index[1])
            )
        else:
            assert isinstance(index, int)
            key_claims = dataclasses.replace(
                typical, status=StatusReference(index=index, uri=STATUS_URI)
            )
        outcome = "reason" if expected.startswith("STATUS_") else "outcome"
        check_vectors.append(
            {
                "name": name,
                "what": what,
                "key": sign_license(KEY, key_claims, alg=alg),
                "list": list_name,
                "now": now,
                outcome: expected,
            }
        )
    return {
        "comment": "Signed with keypair.json (" + TEST_ONLY + "). Entry i is bits 2i..2i+1 "
        "of the byte array, from the least significant bit of byte i // 4.",
        "kid": KEY.kid,
        "values": {"0": "VALID", "1": "INVALID", "2": "SUSPENDED", "3": "SUPERSEDED"},
        "zlib_version": zlib.ZLIB_RUNTIME_VERSION,
        "lists": lists,
        "checks": check_vectors,
        "rejected": [
            {
                "name": name,
                "token": token,
                "expected_uri": STATUS_URI,
                "reason": reason,
                "what": what,
            }
            for name, token, reason, what in _rejected_lists()
        ],
    }


def build() -> dict[str, dict[str, object]]:
    """Every vector file by name."""
    return {
        "keypair.json": keypair(),
        "fingerprints.json": fingerprints(),
        "valid-keys.json": valid_keys(),
        "rejected-keys.json": rejected_keys(),
        "status-lists.json": status_lists(),
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
