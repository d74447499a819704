"""tests/vectors/status-lists.json agrees with `signing`, and with the script that writes it."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from signing import (
    LicenseVerifier,
    SigningError,
    StatusListError,
    b64url_decode,
    check_status,
    pack_statuses,
    parse_status_list_token,
)

from .test_license_key_vectors import KEYPAIR, load_generator

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
STATUS = json.loads((VECTORS / "status-lists.json").read_text(encoding="utf-8"))
LISTS = {entry["name"]: entry for entry in STATUS["lists"]}


@pytest.fixture(scope="module")
def vector_verifier():
    return LicenseVerifier.from_jwks(KEYPAIR["jwks"])


def statuses_of(entry):
    statuses = [0] * entry["entries"]
    for index, value in entry["not_valid"].items():
        statuses[int(index)] = value
    return statuses


def test_the_file_is_what_the_generator_writes():
    if STATUS["zlib_version"] != zlib.ZLIB_RUNTIME_VERSION:
        pytest.skip(
            f"generated with zlib {STATUS['zlib_version']}, this Python has "
            f"{zlib.ZLIB_RUNTIME_VERSION}: compressed bytes may differ (the other tests still run)"
        )
    generator = load_generator()
    text = (VECTORS / "status-lists.json").read_text(encoding="utf-8")
    assert text == generator.render(generator.status_lists())


@pytest.mark.parametrize("entry", STATUS["lists"], ids=lambda e: e["name"])
def test_each_list_parses_to_its_entries(entry, vector_verifier):
    status_list = parse_status_list_token(
        entry["token"], vector_verifier, expected_uri=entry["uri"]
    )
    statuses = statuses_of(entry)
    assert [int(status_list.value(i)) for i in range(len(statuses))] == statuses
    assert status_list.data == bytes.fromhex(entry["byte_array_hex"])
    assert pack_statuses(statuses).hex() == entry["byte_array_hex"]
    assert (status_list.issued_at, status_list.expires_at, status_list.ttl) == (
        entry["iat"],
        entry["exp"],
        entry["ttl"],
    )
    assert status_list.alg == entry["alg"]
    assert json.loads(b64url_decode(entry["token"].split(".", 1)[0]))["alg"] == entry["alg"]


def test_the_draft_example_list_holds_the_drafts_byte_array():
    assert LISTS["draft_example_ed25519"]["byte_array_hex"] == "c944f9"


@pytest.mark.parametrize("vector", STATUS["checks"], ids=lambda v: v["name"])
def test_each_key_has_its_outcome_against_its_list(vector, vector_verifier):
    entry = LISTS[vector["list"]]
    status_list = parse_status_list_token(
        entry["token"], vector_verifier, expected_uri=entry["uri"]
    )
    license = vector_verifier.verify(vector["key"])
    if "outcome" in vector:
        assert check_status(license, status_list, now=vector["now"]) == vector["outcome"]
    else:
        with pytest.raises(StatusListError) as caught:
            check_status(license, status_list, now=vector["now"])
        assert caught.value.reason == vector["reason"]


def test_the_checks_cover_every_outcome_and_both_errors():
    assert {v.get("outcome", v.get("reason")) for v in STATUS["checks"]} == {
        "VALID",
        "INVALID",
        "SUSPENDED",
        "SUPERSEDED",
        "STALE",
        "NO_STATUS",
        "STATUS_LIST_NOT_THE_KEYS",
        "STATUS_INDEX_OUT_OF_RANGE",
    }


@pytest.mark.parametrize("vector", STATUS["rejected"], ids=lambda v: v["name"])
def test_each_refused_list_raises_its_reason(vector, vector_verifier):
    for token in (vector["token"], vector["token"].encode()):
        with pytest.raises(SigningError) as caught:
            parse_status_list_token(token, vector_verifier, expected_uri=vector["expected_uri"])
        assert caught.value.reason == vector["reason"], vector["what"]


def test_every_refusal_reason_but_the_token_size_has_a_vector():
    # A token over the 2 MiB bound has no place in a repository; it is a unit test.
    assert {v["reason"] for v in STATUS["rejected"]} == {
        "STATUS_LIST_MALFORMED",
        "STATUS_LIST_BAD_HEADER",
        "STATUS_LIST_UNKNOWN_KID",
        "STATUS_LIST_BAD_SIGNATURE",
        "STATUS_LIST_BAD_CLAIMS",
        "STATUS_LIST_WRONG_SUBJECT",
        "STATUS_LIST_BAD_ENCODING",
        "STATUS_LIST_DECOMPRESSED_TOO_LARGE",
    }


def test_the_values_are_named_as_in_spec_5a():
    assert STATUS["values"] == {
        "0": "VALID",
        "1": "INVALID",
        "2": "SUSPENDED",
        "3": "SUPERSEDED",
    }
