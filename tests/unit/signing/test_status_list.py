"""Status List Tokens: building, the strict parser step by step, lookups and the offline check."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import time
import tracemalloc
import zlib

import pytest

from signing import (
    MAX_STATUS_LIST_BYTES,
    MAX_STATUS_LIST_ENTRIES,
    MAX_STATUS_LIST_TOKEN_BYTES,
    InvalidStatusListClaims,
    KeyRing,
    MalformedStatusList,
    SigningKey,
    StatusIndexOutOfRange,
    StatusList,
    StatusListBadEncoding,
    StatusListBadSignature,
    StatusListError,
    StatusListInflatesTooLarge,
    StatusListNotTheKeys,
    StatusListSubjectMismatch,
    StatusListTooLarge,
    StatusOutcome,
    StatusReference,
    StatusValue,
    UnknownStatusListKeyId,
    UnsupportedStatusListHeader,
    b64url_decode,
    b64url_encode,
    build_status_list_token,
    check_status,
    pack_statuses,
    parse_status_list_token,
)

URI = "https://keys.example.com/status/1"
IAT = 1795305600
EXP = IAT + 86400
TTL = 3600
# Every value at every position of a byte, and a partial last byte.
STATUSES = [0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 3]
# Entry i -> its value, for any list: every value in 0..3 taken by x & 3.
TWO_BITS = bytes(value & 3 for value in range(256))


def build(test_key, statuses=STATUSES, **changes):
    arguments = {
        "uri": URI,
        "issued_at": IAT,
        "expires_at": EXP,
        "ttl": TTL,
        "signing_key": test_key,
        **changes,
    }
    return build_status_list_token(statuses, **arguments)


def claims(**changes):
    """The claims of a good token, changed; a value of None removes the claim."""
    document = {
        "sub": URI,
        "iat": IAT,
        "exp": EXP,
        "ttl": TTL,
        "status_list": {"bits": 2, "lst": b64url_encode(zlib.compress(pack_statuses(STATUSES)))},
    }
    for name, value in changes.items():
        if value is None:
            del document[name]
        else:
            document[name] = value
    return document


def status_list_claim(**changes):
    return claims(status_list={**claims()["status_list"], **changes})


def lst_of(compressed: bytes):
    return status_list_claim(lst=b64url_encode(compressed))


@pytest.fixture(scope="module")
def header_bytes(test_key):
    return f'{{"alg":"EdDSA","kid":"{test_key.kid}","typ":"statuslist+jwt"}}'.encode()


@pytest.fixture(scope="module")
def forge_list(forge, header_bytes):
    """Sign any payload (a dict as compact JSON, or bytes) under a good status-list header."""

    def sign(payload, header=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return forge(header_bytes if header is None else header, body)

    return sign


@pytest.fixture(scope="module")
def token(test_key):
    return build(test_key)


def parse(text, verifier, expected_uri=URI):
    return parse_status_list_token(text, verifier, expected_uri=expected_uri)


# -- building -------------------------------------------------------------------


def test_the_drafts_two_bit_example_packs_and_compresses_to_the_drafts_bytes():
    # draft-ietf-oauth-status-list, "Status List": 12 two-bit statuses in 3 bytes.
    statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    assert pack_statuses(statuses) == bytes([0xC9, 0x44, 0xF9])
    assert b64url_encode(zlib.compress(pack_statuses(statuses), 9)) == "eNo76fITAAPfAgc"


@pytest.mark.parametrize("position", range(4))
@pytest.mark.parametrize("value", range(4))
def test_each_entry_takes_its_two_bits_counted_from_the_least_significant(position, value):
    statuses = [0] * 8
    statuses[4 + position] = value
    assert pack_statuses(statuses) == bytes([0, value << (2 * position)])


@pytest.mark.parametrize(("count", "size"), [(1, 1), (3, 1), (4, 1), (5, 2), (8, 2), (9, 3)])
def test_the_last_byte_is_padded_with_valid_entries(count, size):
    packed = pack_statuses([3] * count)
    assert len(packed) == size
    assert packed[:-1] == b"\xff" * (size - 1)
    assert packed[-1] == (1 << (2 * (count - 4 * (size - 1)))) - 1


def test_bytes_and_sequences_of_status_values_pack_alike():
    values = [StatusValue(v) for v in STATUSES]
    assert pack_statuses(bytes(STATUSES)) == pack_statuses(values) == pack_statuses(STATUSES)
    assert pack_statuses(bytearray(STATUSES)) == pack_statuses(memoryview(bytes(STATUSES)))


@pytest.mark.parametrize(
    ("statuses", "message"),
    [
        ([], "at least one entry"),
        (b"", "at least one entry"),
        ([0, 4], "0, 1, 2 or 3"),
        (b"\x00\xff", "0, 1, 2 or 3"),
        ([-1], "integers 0..3"),
        ([256], "integers 0..3"),
        ([0.0], "integers 0..3"),
        ([None], "integers 0..3"),
    ],
)
def test_statuses_that_are_not_two_bit_values_are_refused(statuses, message):
    with pytest.raises(ValueError, match=message):
        pack_statuses(statuses)


@pytest.mark.parametrize("statuses", [5, "0123"])
def test_a_number_or_text_is_not_a_list_of_statuses(statuses):
    with pytest.raises(TypeError):
        pack_statuses(statuses)


def test_one_entry_more_than_the_largest_list_is_refused():
    with pytest.raises(ValueError, match="at most 4194304 entries"):
        pack_statuses(bytes(MAX_STATUS_LIST_ENTRIES + 1))


def test_the_token_has_the_documented_header_and_claims(test_key, token):
    header, payload, signature = token.split(".")
    assert b64url_decode(header) == (
        f'{{"alg":"EdDSA","kid":"{test_key.kid}","typ":"statuslist+jwt"}}'.encode()
    )
    body = json.loads(b64url_decode(payload))
    assert list(body) == ["sub", "iat", "exp", "ttl", "status_list"]
    assert body == {
        "sub": URI,
        "iat": IAT,
        "exp": EXP,
        "ttl": TTL,
        "status_list": {
            "bits": 2,
            "lst": b64url_encode(zlib.compress(pack_statuses(STATUSES), 9)),
        },
    }
    assert test_key.verifying_key.verify(b64url_decode(signature), f"{header}.{payload}".encode())


def test_building_is_deterministic(test_key, token):
    assert build(test_key) == token


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_a_list_is_signed_under_the_name_chosen(test_key, verifier, alg):
    text = build(test_key, alg=alg)
    assert json.loads(b64url_decode(text.split(".")[0]))["alg"] == alg
    assert parse(text, verifier).alg == alg


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_a_key_ring_signs_lists_with_its_active_key_under_its_name(test_key, alg):
    ring = KeyRing(test_key, alg=alg)
    text = ring.sign_status_list(STATUSES, uri=URI, issued_at=IAT, expires_at=EXP, ttl=TTL)
    assert text == build(test_key, alg=alg)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uri": "ftp://keys.example.com/1"}, "http:// or https://"),
        ({"uri": ""}, "non-empty"),
        ({"issued_at": -1}, "iat must be between 0"),
        ({"issued_at": True}, "iat must be an integer"),
        ({"expires_at": IAT}, "exp must be between 1795305601"),
        ({"expires_at": 2**53}, "exp must be between"),
        ({"expires_at": float(EXP)}, "exp must be an integer"),
        ({"ttl": 0}, "ttl must be between 1"),
        ({"ttl": "3600"}, "ttl must be an integer"),
        ({"alg": "ES256"}, "alg must be"),
    ],
)
def test_arguments_that_break_a_rule_are_refused(test_key, changes, message):
    with pytest.raises(ValueError, match=message):
        build(test_key, **changes)


def test_the_earliest_expiry_one_second_after_issue_is_accepted(test_key, verifier):
    assert parse(build(test_key, expires_at=IAT + 1), verifier).expires_at == IAT + 1


def test_the_largest_list_of_random_entries_builds_and_parses_under_the_token_bound(
    test_key, verifier
):
    # Random entries do not compress: the worst case for the token's size.
    statuses = os.urandom(MAX_STATUS_LIST_ENTRIES).translate(TWO_BITS)
    text = build(test_key, statuses, uri="https://" + "a" * 2040)
    assert len(text) <= MAX_STATUS_LIST_TOKEN_BYTES
    status_list = parse(text, verifier, expected_uri="https://" + "a" * 2040)
    assert len(status_list) == MAX_STATUS_LIST_ENTRIES
    assert len(status_list.data) == MAX_STATUS_LIST_BYTES
    for index in (0, 1, MAX_STATUS_LIST_ENTRIES - 2, MAX_STATUS_LIST_ENTRIES - 1):
        assert status_list.value(index) == statuses[index]


# -- parsing: what is accepted ----------------------------------------------------


def test_a_built_list_parses_to_its_claims_and_entries(test_key, verifier, token):
    status_list = parse(token, verifier)
    assert (status_list.uri, status_list.issued_at, status_list.expires_at, status_list.ttl) == (
        URI,
        IAT,
        EXP,
        TTL,
    )
    assert (status_list.kid, status_list.alg) == (test_key.kid, "EdDSA")
    assert [status_list.value(i) for i in range(len(STATUSES))] == STATUSES
    assert len(status_list) == 12  # 11 entries and one of padding


def test_keys_may_be_given_as_a_verifier_a_mapping_or_verifying_keys(test_key, token):
    ring = KeyRing(test_key)
    expected = parse(token, ring.verifier())
    assert parse(token, ring.verifying_keys) == expected
    assert parse(token, [test_key.verifying_key]) == expected


def test_keys_of_another_type_are_a_programming_error(token, test_key):
    with pytest.raises(TypeError, match="VerifyingKey"):
        parse(token, [test_key])


def test_bytes_and_surrounding_whitespace_are_accepted(verifier, token):
    expected = parse(token, verifier)
    assert parse(token.encode(), verifier) == expected
    assert parse(f"\r\n {token}\n", verifier) == expected


def test_unknown_claims_and_status_list_members_are_ignored(verifier, forge_list):
    payload = claims(iss="keysvc", status_list={**claims()["status_list"], "aggregation_uri": "x"})
    assert [parse(forge_list(payload), verifier).value(i) for i in range(11)] == STATUSES


def test_a_header_in_another_json_spelling_is_accepted(verifier, test_key, forge_list):
    header = f'{{ "typ": "statuslist+jwt", "kid": "{test_key.kid}", "alg": "Ed25519" }}'
    assert parse(forge_list(claims(), header.encode()), verifier).alg == "Ed25519"


# -- parsing: each refusal ------------------------------------------------------------


def test_a_token_over_the_bound_is_refused_before_decoding(verifier):
    with pytest.raises(StatusListTooLarge):
        parse("A" * (MAX_STATUS_LIST_TOKEN_BYTES + 1), verifier)
    with pytest.raises(StatusListTooLarge):
        parse(b"A" * (MAX_STATUS_LIST_TOKEN_BYTES + 1), verifier)


def test_a_token_of_exactly_the_bound_is_parsed(verifier, token):
    padded = token + "\n" * (MAX_STATUS_LIST_TOKEN_BYTES - len(token))
    assert len(padded) == MAX_STATUS_LIST_TOKEN_BYTES
    assert parse(padded, verifier) == parse(token, verifier)
    assert parse(padded.encode(), verifier) == parse(token, verifier)


def test_the_bound_counts_utf8_bytes_not_characters(verifier):
    with pytest.raises(StatusListTooLarge):
        parse("a" * (MAX_STATUS_LIST_TOKEN_BYTES - 1) + "\u00e9", verifier)
    with pytest.raises(MalformedStatusList):
        parse("a" * (MAX_STATUS_LIST_TOKEN_BYTES - 2) + "\u00e9", verifier)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: "",
        lambda t: " \r\n",
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t + ".AAAA",
        lambda t: t.rsplit(".", 1)[0] + ".",
        lambda t: "." + t.split(".", 1)[1],
        lambda t: t + "==",
        lambda t: t + "AAA",
        lambda t: t[:40] + "\n" + t[40:],
        lambda t: t.replace("-", "+").replace("_", "/") + "+/",
        lambda t: t[:-1] + "\u00e9",
        lambda t: t[:-1] + "\ud800",
    ],
    ids=[
        "empty",
        "whitespace",
        "two_parts",
        "four_parts",
        "empty_signature",
        "empty_header",
        "padding",
        "impossible_length",
        "inner_newline",
        "standard_base64",
        "non_ascii",
        "lone_surrogate",
    ],
)
def test_a_token_that_is_not_three_strict_base64url_parts_is_malformed(verifier, token, mangle):
    with pytest.raises(MalformedStatusList):
        parse(mangle(token), verifier)


def test_a_token_neither_text_nor_bytes_is_malformed(verifier):
    with pytest.raises(MalformedStatusList, match="str or bytes"):
        parse(None, verifier)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"alg": "none"}, "alg"),
        ({"alg": "HS256"}, "alg"),
        ({"typ": "license+jwt"}, "typ"),
        ({"typ": "JWT"}, "typ"),
        ({"typ": "application/statuslist+jwt"}, "typ"),
        ({"kid": 7}, "kid"),
        ({"kid": ""}, "kid"),
        ({"crit": ["exp"]}, "exactly"),
        ({"kid": None}, "exactly"),
        ({"typ": None}, "exactly"),
    ],
)
def test_a_header_other_than_alg_kid_statuslist_jwt_is_refused(
    verifier, test_key, forge_list, header, message
):
    members = {"alg": "EdDSA", "kid": test_key.kid, "typ": "statuslist+jwt", **header}
    members = {name: value for name, value in members.items() if value is not None}
    with pytest.raises(UnsupportedStatusListHeader, match=message):
        parse(forge_list(claims(), json.dumps(members).encode()), verifier)


@pytest.mark.parametrize(
    "raw", [b"not json", b"[]", b'{"alg":"EdDSA","alg":"EdDSA","kid":"k","typ":"x"}', b"\xff"]
)
def test_a_header_that_is_not_a_plain_json_object_is_refused(verifier, forge_list, raw):
    with pytest.raises(UnsupportedStatusListHeader):
        parse(forge_list(claims(), raw), verifier)


def test_a_license_key_is_not_a_status_list(verifier, license_key):
    with pytest.raises(UnsupportedStatusListHeader, match="typ"):
        parse(license_key, verifier)


def test_a_list_signed_by_an_unknown_key_is_refused_with_the_kid(verifier):
    other = SigningKey.generate()
    with pytest.raises(UnknownStatusListKeyId) as caught:
        parse(build(other), verifier)
    assert caught.value.kid == other.kid


def test_a_flipped_signature_bit_is_refused(verifier, token):
    head, body, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 4
    with pytest.raises(StatusListBadSignature, match="does not verify"):
        parse(f"{head}.{body}.{b64url_encode(bytes(raw))}", verifier)


def test_a_list_changed_after_signing_is_refused(test_key, verifier, token):
    head, _, signature = token.split(".")
    other_body = build(test_key, [3] * 11).split(".")[1]
    with pytest.raises(StatusListBadSignature):
        parse(f"{head}.{other_body}.{signature}", verifier)


@pytest.mark.parametrize("size", [63, 65])
def test_a_signature_not_64_bytes_is_refused(verifier, token, size):
    head, body, _ = token.split(".")
    with pytest.raises(StatusListBadSignature, match="64 bytes"):
        parse(f"{head}.{body}.{b64url_encode(bytes(size))}", verifier)


def test_a_trusted_kid_with_another_keys_signature_is_refused(test_key, verifier):
    impostor = build(SigningKey.generate())
    head = build(test_key).split(".")[0]
    _, body, signature = impostor.split(".")
    with pytest.raises(StatusListBadSignature):
        parse(f"{head}.{body}.{signature}", verifier)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not a JSON object"),
        (b"[1]", "not a JSON object"),
        (b'{"sub":"a","sub":"b"}', "duplicate"),
        (b'{"iat":NaN}', "not a JSON object"),
        (b"\xff", "not a JSON object"),
        (claims(sub=None), "lacks the claims sub"),
        (claims(iat=None), "lacks the claims iat"),
        (claims(exp=None), "lacks the claims exp"),
        (claims(ttl=None), "lacks the claims ttl"),
        (claims(status_list=None), "lacks the claims status_list"),
        (claims(sub=""), "sub must be"),
        (claims(sub=["x"]), "sub must be"),
        (claims(iat="1795305600"), "iat must be an integer"),
        (claims(iat=True), "iat must be an integer"),
        (claims(iat=1.5), "iat must be an integer"),
        (claims(iat=-1), "iat must be between"),
        (claims(exp=IAT), "exp must be between"),
        (claims(exp=IAT - 1), "exp must be between"),
        (claims(exp=2**53), "exp must be between"),
        (claims(ttl=0), "ttl must be between"),
        (claims(ttl=-5), "ttl must be between"),
        (claims(ttl=False), "ttl must be an integer"),
        (claims(status_list=[]), "status_list must be a JSON object"),
        (status_list_claim(bits=1), "bits must be 2"),
        (status_list_claim(bits=4), "bits must be 2"),
        (status_list_claim(bits=8), "bits must be 2"),
        (status_list_claim(bits="2"), "bits must be 2"),
        (status_list_claim(bits=2.0), "bits must be 2"),
        (status_list_claim(bits=None), "bits must be 2"),
        (status_list_claim(lst=""), "lst must be"),
        (status_list_claim(lst=7), "lst must be"),
        (status_list_claim(lst=None), "lst must be"),
    ],
)
def test_claims_missing_or_of_the_wrong_type_are_refused(verifier, forge_list, payload, message):
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k != "status_list" or v is not None}
        if isinstance(payload.get("status_list"), dict):
            payload["status_list"] = {
                k: v for k, v in payload["status_list"].items() if v is not None
            }
    with pytest.raises(InvalidStatusListClaims, match=message):
        parse(forge_list(payload), verifier)


@pytest.mark.parametrize(
    "expected",
    [
        "https://keys.example.com/status/2",
        URI + "/",
        URI.replace("https", "http"),
        URI.upper(),
    ],
)
def test_a_list_for_another_uri_is_refused(verifier, token, expected):
    with pytest.raises(StatusListSubjectMismatch):
        parse(token, verifier, expected_uri=expected)


def test_the_subject_is_checked_before_the_list_is_inflated(verifier, forge_list):
    payload = {**status_list_claim(lst="=="), "sub": "https://elsewhere.example/1"}
    with pytest.raises(StatusListSubjectMismatch):
        parse(forge_list(payload), verifier)


@pytest.mark.parametrize(
    ("lst", "message"),
    [
        ("eNo76fITAAPfAgc=", "base64url"),
        ("eNo76fITAAPfAgc+", "base64url"),
        (b64url_encode(b"not zlib at all"), "not ZLIB"),
        (b64url_encode(zlib.compress(b"\x01\x02")[:-3]), "truncated"),
        (b64url_encode(zlib.compress(b"\x01\x02") + b"\x00"), "after its ZLIB stream"),
        (b64url_encode(zlib.compress(b"\x01") + zlib.compress(b"\x02")), "after its ZLIB stream"),
        (b64url_encode(zlib.compress(b"")), "no bytes"),
        # The draft's early examples used gzip; the JWT form is ZLIB (RFC 1950) only.
        ("H4sIAMo_jGQC_9u5GABc9QE7AgAAAA", "not ZLIB"),
    ],
    ids=[
        "padding",
        "standard_base64",
        "not_zlib",
        "truncated",
        "trailing_byte",
        "two_streams",
        "empty",
        "gzip",
    ],
)
def test_a_list_that_is_not_one_complete_zlib_stream_is_refused(verifier, forge_list, lst, message):
    with pytest.raises(StatusListBadEncoding, match=message):
        parse(forge_list(status_list_claim(lst=lst)), verifier)


def test_raw_deflate_without_the_zlib_wrapper_is_refused(verifier, forge_list):
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflater.compress(pack_statuses(STATUSES)) + deflater.flush()
    with pytest.raises(StatusListBadEncoding):
        parse(forge_list(lst_of(raw)), verifier)


def test_a_list_needing_a_preset_dictionary_is_refused(verifier, forge_list):
    deflater = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=b"\x00" * 64)
    with pytest.raises(StatusListBadEncoding):
        parse(forge_list(lst_of(deflater.compress(bytes(100)) + deflater.flush())), verifier)


def test_a_list_inflating_to_exactly_the_bound_is_accepted(verifier, forge_list):
    status_list = parse(forge_list(lst_of(zlib.compress(bytes(MAX_STATUS_LIST_BYTES)))), verifier)
    assert len(status_list) == MAX_STATUS_LIST_ENTRIES
    assert status_list.value(MAX_STATUS_LIST_ENTRIES - 1) is StatusValue.VALID


def test_a_list_inflating_one_byte_past_the_bound_is_refused(verifier, forge_list):
    with pytest.raises(StatusListInflatesTooLarge):
        parse(forge_list(lst_of(zlib.compress(bytes(MAX_STATUS_LIST_BYTES + 1)))), verifier)


def zip_bomb(size: int) -> bytes:
    """A valid ZLIB stream of ``size`` zero bytes (a multiple of 1 MiB), built without them all.

    A full flush ends each block on a byte boundary with no reference to what came
    before, so one compressed MiB of zeros can be repeated.
    """
    chunk = bytes(1 << 20)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(size >> 20):
        adler = zlib.adler32(chunk, adler)
    final_empty_block = b"\x03\x00"
    return b"\x78\xda" + block * (size >> 20) + final_empty_block + adler.to_bytes(4, "big")


def test_the_zip_bomb_helper_makes_a_real_zlib_stream():
    bomb = zip_bomb(3 << 20)
    assert zlib.decompress(bomb) == bytes(3 << 20)


def test_a_zip_bomb_is_refused_without_inflating_it(verifier, forge_list):
    # 1 GiB of zeros in about 1 MiB of ZLIB: a token within the size bound.
    bomb = zip_bomb(1 << 30)
    text = forge_list(lst_of(bomb))
    assert len(text) <= MAX_STATUS_LIST_TOKEN_BYTES
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(StatusListInflatesTooLarge):
            parse(text, verifier)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Inflating it all would take a GiB and seconds; the token and one list at the bound
    # take a few MiB.
    assert peak < 16 << 20, f"peak {peak} bytes"
    assert elapsed < 2.0


# -- the entries ---------------------------------------------------------------------


def test_the_first_and_last_entries_are_read(test_key, verifier):
    statuses = [3] + [0] * 98 + [2]
    status_list = parse(build(test_key, statuses), verifier)
    assert status_list.value(0) is StatusValue.SUPERSEDED
    assert status_list.value(99) is StatusValue.SUSPENDED
    assert [status_list.value(i) for i in range(1, 99)] == [StatusValue.VALID] * 98


@pytest.mark.parametrize("index", [-1, 12, 13, 2**22, True, 1.0, "1"])
def test_an_index_outside_the_list_is_refused(verifier, token, index):
    with pytest.raises(StatusIndexOutOfRange):
        parse(token, verifier).value(index)


def test_the_padding_entries_are_valid(verifier, token):
    assert parse(token, verifier).value(11) is StatusValue.VALID


def test_a_list_is_stale_from_its_exp_on(verifier, token):
    status_list = parse(token, verifier)
    assert not status_list.is_stale(EXP - 1)
    assert not status_list.is_stale(EXP - 0.001)
    assert status_list.is_stale(EXP)
    assert status_list.is_stale(EXP + 1)


def test_the_values_are_those_of_spec_5a():
    assert [(v.name, v.value) for v in StatusValue] == [
        ("VALID", 0),
        ("INVALID", 1),
        ("SUSPENDED", 2),
        ("SUPERSEDED", 3),
    ]


# -- the offline check -----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(test_key, claims):
    """A verified license pointing at entry ``index`` of URI."""

    def license_for(index, uri=URI):
        keyed_claims = dataclasses.replace(claims, status=StatusReference(index=index, uri=uri))
        return KeyRing(test_key).verifier().verify(KeyRing(test_key).sign_license(keyed_claims))

    return license_for


@pytest.mark.parametrize(
    ("index", "outcome"),
    [
        (0, StatusOutcome.VALID),
        (1, StatusOutcome.INVALID),
        (2, StatusOutcome.SUSPENDED),
        (3, StatusOutcome.SUPERSEDED),
        (10, StatusOutcome.SUPERSEDED),
        (11, StatusOutcome.VALID),
    ],
)
def test_the_entry_decides_the_outcome_while_the_list_is_fresh(
    verifier, token, keyed, index, outcome
):
    assert check_status(keyed(index), parse(token, verifier), now=EXP - 1) is outcome


@pytest.mark.parametrize("index", range(4))
def test_a_list_past_its_exp_is_stale_whatever_it_says(verifier, token, keyed, index):
    assert check_status(keyed(index), parse(token, verifier), now=EXP) is StatusOutcome.STALE


def test_a_key_without_the_claim_has_no_status(verifier, token, license_key):
    unkeyed = verifier.verify(license_key)
    assert check_status(unkeyed, None, now=0) is StatusOutcome.NO_STATUS
    assert check_status(unkeyed, parse(token, verifier), now=0) is StatusOutcome.NO_STATUS


def test_a_list_for_another_uri_is_not_the_keys(verifier, token, keyed):
    with pytest.raises(StatusListNotTheKeys):
        check_status(keyed(0, "https://keys.example.com/status/2"), parse(token, verifier), now=0)


def test_a_key_with_the_claim_needs_its_list(keyed):
    with pytest.raises(StatusListNotTheKeys, match="None"):
        check_status(keyed(0), None, now=0)


def test_an_index_past_the_lists_end_is_an_error(verifier, token, keyed):
    with pytest.raises(StatusIndexOutOfRange):
        check_status(keyed(12), parse(token, verifier), now=EXP - 1)


def test_a_wrong_list_is_an_error_even_when_stale_and_stale_beats_a_short_list(
    verifier, token, keyed
):
    status_list = parse(token, verifier)
    with pytest.raises(StatusListNotTheKeys):
        check_status(keyed(0, "https://keys.example.com/status/2"), status_list, now=EXP)
    assert check_status(keyed(12), status_list, now=EXP) is StatusOutcome.STALE


def test_every_status_list_error_is_a_signing_error():
    assert issubclass(StatusListError, Exception)
    for cls in (StatusListTooLarge, MalformedStatusList, StatusIndexOutOfRange):
        assert issubclass(cls, StatusListError)


def test_a_status_list_hides_its_bytes_in_repr(verifier, token):
    text = repr(parse(token, verifier))
    assert "data" not in text
    assert URI in text


def test_status_list_equality_is_by_content(verifier, token):
    assert isinstance(parse(token, verifier), StatusList)
    assert parse(token, verifier) == parse(token + "\n", verifier)


def test_base64url_of_the_lst_is_what_other_decoders_read(token):
    # A decoder with the standard library's lenient base64 reads the same bytes.
    lst = json.loads(b64url_decode(token.split(".")[1]))["status_list"]["lst"]
    standard = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
    assert zlib.decompress(standard) == pack_statuses(STATUSES)
