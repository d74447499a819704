"""``keysvc-migrate verify --status``: the real command against real Status List Tokens.

The tokens are signed with `signing` and read from files, or served by a real
HTTP server on a free port of 127.0.0.1 (the standard library's, in a thread),
which records what it was asked. Most runs are in-process (``cli.main`` with a
fixed clock); a few run the installed ``keysvc-migrate`` as a customer would.
"""

# The verdicts are Japanese sentences with their own full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from keysvc.migrate.status_check import StatusListUnreachable, fetch_status_list
from signing import MAX_STATUS_LIST_TOKEN_BYTES, KeyRing, StatusValue
from tests.integration.migrate.status_lists import (
    EXPIRES,
    INDEX,
    ISSUED,
    NOW,
    OTHER_SERVER,
    THIS_SERVER,
    Files,
    Ran,
    StatusHost,
    closed_port,
    installed,
    make_files,
    run,
    token,
)

# The fixtures (status_host, ring, forger, files) are in conftest.py.


def verify(files: Files, *extra: str, now: datetime = NOW) -> Ran:
    args = ["verify", "--key-file", str(files.key), "--jwks", str(files.jwks)]
    return run(*args, "--fingerprint", THIS_SERVER, *extra, now=now)


# -- the outcomes -----------------------------------------------------------------------


def test_a_valid_key_fetched_from_its_own_uri_is_valid_and_the_verdict_leads(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    ran = verify(files, "--status")
    assert ran.code == 0, ran.stderr
    assert ran.first_line == "このライセンスキーは有効です（失効リスト確認済み）"
    assert "key:           genuine, and issued for this fingerprint" in ran.stdout
    assert f"status list:   {files.uri}\n" in ran.stdout
    assert f"index:         {INDEX}\n" in ran.stdout
    assert "list issued:   2026-12-07 09:00:00 JST" in ran.stdout
    assert "list expires:  2026-12-14 09:00:00 JST" in ran.stdout
    assert ran.stderr == ""
    [(path, headers)] = status_host.requests
    assert path == "/statuslists/1"
    assert headers["Accept"] == "application/statuslist+jwt"
    english = verify(files, "--status", "--lang", "en")
    assert english.first_line == "the key is valid (status list checked)"


def test_json_gains_the_status_fields(files: Files, ring: KeyRing, status_host: StatusHost) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    document = verify(files, "--status", "--json").json()
    assert document["ok"] is True
    assert document["valid"] is True
    assert document["status"] == {
        "outcome": "VALID",
        "uri": files.uri,
        "index": INDEX,
        "list_issued_at": "2026-12-07T00:00:00+00:00",
        "list_expires_at": "2026-12-14T00:00:00+00:00",
        "source": files.uri,
    }
    assert "status list" in document["offline_limits"]  # what was checked, as people read it


def test_a_saved_list_file_is_read_without_any_network(files: Files, ring: KeyRing) -> None:
    saved = files.list_file(token(ring, files.uri))
    ran = verify(files, "--status-list", str(saved), "--lang", "en")
    assert ran.code == 0, ran.stderr
    assert ran.first_line == "the key is valid (status list checked)"
    assert f"read from:     {saved}" in ran.stdout


@pytest.mark.parametrize(
    ("value", "reason", "ja", "en"),
    [
        (
            StatusValue.SUPERSEDED,
            "KEY_STATUS_SUPERSEDED",
            "このライセンスキーは新しいキーに置き換えられたため、使用できません",
            "the key was replaced by a newer key (a re-issue) and can no longer be used",
        ),
        (
            StatusValue.INVALID,
            "KEY_STATUS_INVALID",
            "このライセンスキーは失効しているため、使用できません"
            "（キーの失効、または署名鍵の廃止によるものです）",
            "the key was revoked, or its signing key withdrawn, and can no longer be used",
        ),
        (
            StatusValue.SUSPENDED,
            "KEY_STATUS_SUSPENDED",
            "このライセンスキーは一時停止されているため、現在は使用できません",
            "the key is suspended and cannot be used for now",
        ),
    ],
)
def test_a_key_its_list_says_is_not_valid_exits_6_with_the_verdict_first(  # noqa: PLR0917
    files: Files, ring: KeyRing, status_host: StatusHost, value, reason, ja, en
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri, value))
    ran = verify(files, "--status")
    assert ran.code == 6
    assert ran.first_line == ja
    assert f"error: {reason}: entry {INDEX} of {files.uri} says {value.name}" in ran.stderr
    assert f"status list:   {files.uri}" in ran.stdout
    assert verify(files, "--status", "--lang", "en").first_line == en
    document = verify(files, "--status", "--json").json()
    assert document["ok"] is False
    assert document["status"]["outcome"] == value.name
    assert document["error"] == {
        "reason": reason,
        "message": f"entry {INDEX} of {files.uri} says {value.name}",
        "hint": document["error"]["hint"],
        "exit_code": 6,
        "metadata": {},
    }
    # The same list from a saved file says the same.
    saved = files.list_file(token(ring, files.uri, value))
    assert verify(files, "--status-list", str(saved)).code == 6


def test_a_superseded_key_is_told_to_install_the_new_one(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri, StatusValue.SUPERSEDED))
    assert "install the new key" in verify(files, "--status").stderr


def test_a_list_past_its_expiry_is_stale_exit_7_whatever_its_entry_says(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    # Valid in the list, but the list expired a second before now: no verdict on the key.
    expired = int(NOW.timestamp()) - 1
    old = token(ring, files.uri, issued_at=expired - 86400, expires_at=expired)
    status_host.serve("/statuslists/1", old)
    ran = verify(files, "--status")
    assert ran.code == 7
    assert ran.first_line == (
        "失効リストの有効期限（2026年12月7日 09:59）が過ぎているため、キーの状態を確認できません。"
        "失効リストを取得し直してください"
    )
    assert (
        f"error: STATUS_LIST_STALE: the status list {files.uri} expired at "
        "2026-12-07 09:59:59 JST" in ran.stderr
    )
    assert "Fetch the list again" in ran.stderr
    assert "list expires:  2026-12-07 09:59:59 JST" in ran.stdout
    english = verify(files, "--status", "--lang", "en")
    assert english.first_line.startswith("the status list is out of date (it expired 2026-12-07")
    document = verify(files, "--status", "--json").json()
    assert document["status"]["outcome"] == "STALE"
    assert document["error"]["exit_code"] == 7
    # A second before its exp the same list still answers; at its exp it does not.
    assert verify(files, "--status", now=NOW - timedelta(seconds=2)).code == 0
    assert verify(files, "--status", now=NOW - timedelta(seconds=1)).code == 7


def test_a_key_issued_before_status_lists_cannot_be_checked_and_says_so(
    tmp_path: Path, ring: KeyRing, status_host: StatusHost
) -> None:
    old_key = make_files(tmp_path, ring, None, name="old")
    ran = verify(old_key, "--status")
    assert ran.code == 0, ran.stderr
    assert ran.first_line == (
        "このライセンスキーは失効リストの導入前に発行されたため、オフラインでは状態を確認できません"
    )
    assert "status list:   none: the key was issued before status lists" in ran.stdout
    assert "only keysvc knows" in ran.stdout  # the offline limits hold for it, as before
    assert status_host.requests == []
    document = verify(old_key, "--status", "--json").json()
    assert document["status"]["outcome"] == "NO_STATUS"
    assert document["status"]["uri"] is None
    # A list given for it is not read, and the customer hears so.
    saved = old_key.list_file("not even a token")
    given = verify(old_key, "--status-list", str(saved), "--lang", "en")
    assert given.code == 0
    assert given.first_line.startswith("the key was issued before status lists")
    assert "was not read: the key names no status list" in given.stderr


# -- lists refused ------------------------------------------------------------------------


def test_a_list_signed_by_a_key_not_published_is_refused_exit_8(
    files: Files, forger: KeyRing, status_host: StatusHost
) -> None:
    # The forger says VALID for a superseded key; the tool must not believe it.
    status_host.serve("/statuslists/1", token(forger, files.uri))
    ran = verify(files, "--status")
    assert ran.code == 8
    assert "error: STATUS_LIST_UNKNOWN_KID" in ran.stderr
    assert "JWKS file does not hold" in ran.stderr
    assert "有効です" not in ran.stdout
    assert verify(files, "--status", "--json").json()["error"]["exit_code"] == 8


def test_a_list_whose_signature_was_altered_is_refused(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    header, payload, signature = token(ring, files.uri).split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    saved = files.list_file(f"{header}.{payload}.{flipped}")
    ran = verify(files, "--status-list", str(saved))
    assert ran.code == 8
    assert "error: STATUS_LIST_BAD_SIGNATURE" in ran.stderr


def test_a_list_for_another_uri_is_refused_though_genuine(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    # A genuine list of keysvc's, served where the customer pointed, but not the key's.
    other_uri = status_host.base + "/statuslists/2"
    url = status_host.serve("/statuslists/2", token(ring, other_uri))
    ran = verify(files, "--status-list", url)
    assert ran.code == 8
    assert "error: STATUS_LIST_WRONG_SUBJECT" in ran.stderr
    assert "not the one the key names" in ran.stderr
    saved = files.list_file(token(ring, other_uri))
    assert verify(files, "--status-list", str(saved)).code == 8
    # The key's own list served at another address is the key's list all the same.
    mirror = status_host.serve("/mirror/1", token(ring, files.uri))
    assert verify(files, "--status-list", mirror).code == 0


def test_a_list_too_short_for_the_keys_entry_is_refused(files: Files, ring: KeyRing) -> None:
    short = ring.sign_status_list(
        [0] * 100, uri=files.uri, issued_at=ISSUED, expires_at=EXPIRES, ttl=3600
    )
    ran = verify(files, "--status-list", str(files.list_file(short)))
    assert ran.code == 8
    assert "error: STATUS_INDEX_OUT_OF_RANGE" in ran.stderr


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "unannounced"])
def test_a_response_larger_than_any_list_is_refused_without_reading_it_all(
    files: Files, status_host: StatusHost, announced: bool
) -> None:
    huge = b"A" * (MAX_STATUS_LIST_TOKEN_BYTES + 4096)
    status_host.serve("/statuslists/1", huge, content_length=announced)
    ran = verify(files, "--status")
    assert ran.code == 8
    assert "error: STATUS_LIST_TOO_LARGE" in ran.stderr


def test_a_list_file_larger_than_any_list_is_refused(files: Files) -> None:
    big = files.directory / "big.jwt"
    big.write_bytes(b"A" * (MAX_STATUS_LIST_TOKEN_BYTES + 1))
    ran = verify(files, "--status-list", str(big))
    assert ran.code == 8
    assert "error: STATUS_LIST_TOO_LARGE" in ran.stderr


def test_something_else_than_a_list_is_refused(files: Files, ring: KeyRing) -> None:
    # The license key itself is a signed token of another type.
    ran = verify(files, "--status-list", str(files.key))
    assert ran.code == 8
    assert "error: STATUS_LIST_BAD_HEADER" in ran.stderr


# -- fetching -------------------------------------------------------------------------------


def test_a_host_refusing_connections_is_a_network_error_with_a_hint(
    tmp_path: Path, ring: KeyRing
) -> None:
    nowhere = make_files(tmp_path, ring, f"http://127.0.0.1:{closed_port()}/statuslists/1")
    ran = verify(nowhere, "--status")
    assert ran.code == 3
    assert f"error: STATUS_LIST_UNREACHABLE: cannot reach {nowhere.uri}" in ran.stderr
    assert "--status-list FILE" in ran.stderr  # what to do on a server without access
    assert verify(nowhere, "--status", "--json").json()["error"]["exit_code"] == 3


def test_an_http_error_is_a_failed_fetch(files: Files) -> None:
    ran = verify(files, "--status")  # nothing served there: 404
    assert ran.code == 3
    assert "error: STATUS_LIST_FETCH_FAILED" in ran.stderr
    assert "HTTP 404" in ran.stderr


def test_redirects_are_followed_within_the_scheme_only(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    status_host.serve("/current/1", token(ring, files.uri))
    status_host.serve(
        "/statuslists/1", b"", status=301, headers={"Location": status_host.base + "/current/1"}
    )
    assert verify(files, "--status").code == 0
    status_host.serve(
        "/statuslists/1", b"", status=302, headers={"Location": "ftp://127.0.0.1/current/1"}
    )
    ran = verify(files, "--status")
    assert ran.code == 3
    assert "redirect to another scheme is refused" in ran.stderr
    status_host.serve(
        "/statuslists/1", b"", status=302, headers={"Location": "https://127.0.0.1:1/x"}
    )
    assert "redirect to another scheme is refused" in verify(files, "--status").stderr


def test_an_unreadable_list_file_is_a_usage_error(files: Files) -> None:
    ran = verify(files, "--status-list", str(files.directory / "missing.jwt"))
    assert ran.code == 2
    assert "error: STATUS_LIST_FILE: cannot read status list file" in ran.stderr


# -- verify as before ---------------------------------------------------------------------


def test_without_status_options_verify_reads_nothing_and_hints_how_to_check(
    tmp_path: Path, files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri, StatusValue.SUPERSEDED))
    ran = verify(files)
    assert ran.code == 0
    assert ran.stdout.startswith("valid: genuine, and issued for this fingerprint\n")
    assert ran.stdout.splitlines()[-1] == (
        "hint: the key's status (superseded, revoked) was not checked: add --status "
        "(fetches it from the key's status list URI) or --status-list FILE"
    )
    assert status_host.requests == []
    assert "status" not in verify(files, "--json").json()
    (tmp_path / "old").mkdir()
    old_key = make_files(tmp_path / "old", ring, None)
    assert "hint:" not in verify(old_key).stdout


def test_status_options_exclude_each_other(files: Files) -> None:
    ran = verify(files, "--status", "--status-list", "list.jwt")
    assert ran.code == 2
    assert "not allowed with" in ran.stderr


def test_a_key_refused_is_refused_before_its_list_is_fetched(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    args = ["verify", "--key-file", str(files.key), "--jwks", str(files.jwks)]
    ran = run(*args, "--fingerprint", OTHER_SERVER, "--status")
    assert ran.code == 1
    assert "error: FINGERPRINT_MISMATCH" in ran.stderr
    assert status_host.requests == []


# -- the installed command ------------------------------------------------------------------


def test_the_installed_command_checks_the_status_on_the_real_clock(
    files: Files, ring: KeyRing, status_host: StatusHost
) -> None:
    now = int(time.time())
    fresh = {"issued_at": now - 60, "expires_at": now + 3600}
    args = ["verify", "--key-file", str(files.key), "--jwks", str(files.jwks)]
    args += ["--fingerprint", THIS_SERVER, "--status"]
    status_host.serve("/statuslists/1", token(ring, files.uri, **fresh))
    valid = installed(*args)
    assert valid.code == 0, valid.stderr
    assert valid.first_line == "このライセンスキーは有効です（失効リスト確認済み）"
    status_host.serve("/statuslists/1", token(ring, files.uri, StatusValue.SUPERSEDED, **fresh))
    superseded = installed("--lang", "en", *args)
    assert superseded.code == 6
    assert superseded.first_line.startswith("the key was replaced by a newer key")
    stale = {"issued_at": now - 7200, "expires_at": now - 3600}
    status_host.serve("/statuslists/1", token(ring, files.uri, **stale))
    assert installed(*args).code == 7
    status_host.serve("/statuslists/1", token(ring, files.uri, StatusValue.INVALID, **fresh))
    refused = installed("--json", *args)
    assert refused.code == 6
    assert refused.json()["status"]["outcome"] == "INVALID"


# -- the time bound -------------------------------------------------------------------------


@pytest.fixture
def dripping_host() -> Iterator[str]:
    """A host that accepts, then sends its headers a byte every 0.1 s: never done in time."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            for byte in b"HTTP/1.0 200 OK\r\n" + b"X-Slow: " + b"a" * 1000:
                if stop.wait(0.1):
                    return
                connection.sendall(bytes([byte]))

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/statuslists/1"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_a_host_answering_too_slowly_is_given_up_at_the_deadline(dripping_host: str) -> None:
    # Every byte comes well within the per-read timeout; the whole never does.
    started = time.monotonic()
    with pytest.raises(StatusListUnreachable, match=r"did not answer within 0\.5 s"):
        fetch_status_list(dripping_host, timeout=0.5)
    assert time.monotonic() - started < 2
