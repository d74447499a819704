"""``keysvc-migrate status``: saving a key's status list for an air-gapped server.

The real command, in-process on a fixed clock and installed on the real one,
against tokens served by a real HTTP server on 127.0.0.1 (conftest.py). What
it saves is then given to ``verify --status-list``, as the air-gapped server
would: the two must agree.
"""

# The sentences are Japanese, with their own full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import os
import stat
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from signing import KeyRing, StatusValue
from tests.integration.migrate.status_lists import (
    INDEX,
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

SAVED_JA = (
    "失効リストを {path} に保存しました（発行 2026年12月7日 09:00、有効期限 2026年12月14日 09:00）"
)
SAVED_EN = (
    "the status list was saved to {path} (issued 2026-12-07 09:00 JST, "
    "expires 2026-12-14 09:00 JST)"
)


def save(files: Files, output: Path, *extra: str, now: datetime = NOW) -> Ran:
    args = ["status", "--key-file", str(files.key), "--jwks", str(files.jwks)]
    return run(*args, "--output", str(output), *extra, now=now)


def verify_saved(files: Files, saved: Path, *extra: str) -> Ran:
    """``verify`` on the air-gapped server: the key, the JWKS, the saved list; no network."""
    args = ["verify", "--key-file", str(files.key), "--jwks", str(files.jwks)]
    return run(*args, "--fingerprint", THIS_SERVER, "--status-list", str(saved), *extra)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where the list is saved: a folder apart from the key's, as a USB stick would be."""
    folder = tmp_path / "transfer"
    folder.mkdir()
    return folder / "statuslist-1.jwt"


# -- saved ----------------------------------------------------------------------------------


def test_a_valid_keys_list_is_saved_as_served_public_and_whole(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    served = token(ring, files.uri)
    status_host.serve("/statuslists/1", served)
    old_umask = os.umask(0o077)  # a strict umask must not hide a public list from the product
    try:
        ran = save(files, out)
    finally:
        os.umask(old_umask)
    assert ran.code == 0, ran.stderr
    assert out.read_bytes() == served.encode("ascii")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert leftovers(out.parent) == []
    assert ran.stderr == ""
    lines = ran.stdout.splitlines()
    assert lines[0] == SAVED_JA.format(path=out)
    assert lines[1] == "このライセンスキーは有効です（失効リスト確認済み）"
    assert f"status list:   {files.uri}" in lines
    assert f"index:         {INDEX}" in lines
    assert "list issued:   2026-12-07 09:00:00 JST" in lines
    assert "list expires:  2026-12-14 09:00:00 JST" in lines
    assert f"saved to:      {out} (mode 0644)" in lines
    assert lines[-2] == (
        "このファイルをオフラインのサーバーに移し、有効期限（2026年12月14日 09:00）までに"
        "次のコマンドでキーを確認してください（パスはそのサーバー上の場所に合わせてください）"
    )
    assert lines[-1] == (
        f"  keysvc-migrate verify --key-file {files.key} --jwks {files.jwks} --status-list {out}"
    )
    [(path, headers)] = status_host.requests
    assert (path, headers["Accept"]) == ("/statuslists/1", "application/statuslist+jwt")
    # The air-gapped server, with the saved file and no network, learns the same.
    offline = verify_saved(files, out)
    assert offline.code == 0, offline.stderr
    assert offline.first_line == "このライセンスキーは有効です（失効リスト確認済み）"
    assert len(status_host.requests) == 1


def test_in_english_the_same_is_said(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    ran = save(files, out, "--lang", "en")
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == SAVED_EN.format(path=out)
    assert lines[1] == "the key is valid (status list checked)"
    assert lines[-2] == (
        "move the file to the air-gapped server and, before the list expires "
        "(2026-12-14 09:00 JST), check the key there with this command (its paths as "
        "they are on that server)"
    )
    assert lines[-1].startswith("  keysvc-migrate verify --key-file ")


def test_json_says_where_it_was_saved_and_what_the_list_says(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    ran = save(files, out, "--json")
    assert ran.code == 0, ran.stderr
    assert ran.json() == {
        "ok": True,
        "saved_to": str(out),
        "uri": files.uri,
        "index": INDEX,
        "outcome": "VALID",
        "list_issued_at": "2026-12-07T00:00:00+00:00",
        "list_expires_at": "2026-12-14T00:00:00+00:00",
    }


def test_a_list_saved_before_is_replaced_whole(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    out.write_text("last week's list, longer than this week's" * 100)
    out.chmod(0o600)
    served = token(ring, files.uri)
    status_host.serve("/statuslists/1", served)
    assert save(files, out).code == 0
    assert out.read_bytes() == served.encode("ascii")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert leftovers(out.parent) == []


@pytest.mark.parametrize(
    ("value", "reason", "ja"),
    [
        (
            StatusValue.SUPERSEDED,
            "KEY_STATUS_SUPERSEDED",
            "このライセンスキーは新しいキーに置き換えられたため、使用できません",
        ),
        (
            StatusValue.INVALID,
            "KEY_STATUS_INVALID",
            "このライセンスキーは失効しているため、使用できません"
            "（キーの失効、または署名鍵の廃止によるものです）",
        ),
        (
            StatusValue.SUSPENDED,
            "KEY_STATUS_SUSPENDED",
            "このライセンスキーは一時停止されているため、現在は使用できません",
        ),
    ],
)
def test_a_list_saying_the_key_is_not_valid_is_saved_and_exits_as_verify_does(  # noqa: PLR0917
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path, value, reason, ja
) -> None:
    served = token(ring, files.uri, value)
    status_host.serve("/statuslists/1", served)
    ran = save(files, out)
    assert ran.code == 6
    assert out.read_bytes() == served.encode("ascii")
    lines = ran.stdout.splitlines()
    assert lines[0] == SAVED_JA.format(path=out)
    assert lines[1] == ja
    assert lines[2] == (
        "オフラインのサーバーにもこのキーの状態を伝えるため、失効リストはそのまま保存しました"
    )
    assert f"error: {reason}: entry {INDEX} of {files.uri} says {value.name}" in ran.stderr
    assert f"the list was saved to {out} all the same" in ran.stderr
    english = save(files, out, "--lang", "en")
    assert "the list was saved all the same" in english.stdout
    document = save(files, out, "--json").json()
    assert document["ok"] is False
    assert (document["saved_to"], document["outcome"]) == (str(out), value.name)
    assert (document["error"]["reason"], document["error"]["exit_code"]) == (reason, 6)
    # The air-gapped server hears the same verdict, with the same exit code.
    offline = verify_saved(files, out)
    assert offline.code == 6
    assert offline.first_line == ja
    assert f"error: {reason}:" in offline.stderr


# -- not saved ---------------------------------------------------------------------------------


def test_a_stale_list_is_not_saved_and_exits_7(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    expired = int(NOW.timestamp()) - 1
    status_host.serve(
        "/statuslists/1", token(ring, files.uri, issued_at=expired - 86400, expires_at=expired)
    )
    out.write_text("the list saved last time")
    ran = save(files, out)
    assert ran.code == 7
    assert out.read_text() == "the list saved last time"  # left as it was
    assert leftovers(out.parent) == []
    assert ran.first_line.startswith("失効リストの有効期限（2026年12月7日 09:59）が過ぎているため")
    assert ran.stdout.splitlines()[-1] == "失効リストは保存していません"
    assert "error: STATUS_LIST_STALE:" in ran.stderr
    assert "not saved" in ran.stderr
    assert save(files, out, "--lang", "en").stdout.splitlines()[-1] == (
        "the status list was not saved"
    )
    document = save(files, out, "--json").json()
    assert (document["saved_to"], document["outcome"]) == (None, "STALE")
    assert document["error"]["exit_code"] == 7


def test_a_list_signed_by_another_key_is_not_saved(
    files: Files, forger: KeyRing, status_host: StatusHost, out: Path
) -> None:
    status_host.serve("/statuslists/1", token(forger, files.uri))
    ran = save(files, out)
    assert ran.code == 8
    assert "error: STATUS_LIST_UNKNOWN_KID" in ran.stderr
    assert not out.exists()
    assert leftovers(out.parent) == []


def test_a_key_without_a_status_claim_has_nothing_to_save(
    tmp_path: Path, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    old_key = make_files(tmp_path, ring, None, name="old")
    ran = save(old_key, out)
    assert ran.code == 2
    assert ran.stdout.splitlines() == [
        "このライセンスキーには失効リストがないため、保存するものはありません"
    ]
    assert f"error: NO_STATUS_LIST: {old_key.key} has no status claim" in ran.stderr
    assert "nothing was saved" in ran.stderr
    assert save(old_key, out, "--lang", "en").stdout == (
        "the key names no status list: there is nothing to save\n"
    )
    document = save(old_key, out, "--json").json()
    assert (document["outcome"], document["saved_to"], document["uri"]) == (
        "NO_STATUS",
        None,
        None,
    )
    assert document["error"]["reason"] == "NO_STATUS_LIST"
    assert not out.exists()
    assert status_host.requests == []


def test_a_host_that_cannot_be_reached_saves_nothing_and_suggests_a_mirror(
    tmp_path: Path, ring: KeyRing, out: Path
) -> None:
    nowhere = make_files(tmp_path, ring, f"http://127.0.0.1:{closed_port()}/statuslists/1")
    ran = save(nowhere, out)
    assert ran.code == 3
    assert f"error: STATUS_LIST_UNREACHABLE: cannot reach {nowhere.uri}" in ran.stderr
    assert "--from URL" in ran.stderr
    assert "Nothing was saved." in ran.stderr
    assert not out.exists()
    http_error = save(nowhere, out, "--from", f"http://127.0.0.1:{closed_port()}/x")
    assert http_error.code == 3


def test_an_http_error_saves_nothing(files: Files, out: Path) -> None:
    ran = save(files, out)  # nothing served: 404
    assert ran.code == 3
    assert "error: STATUS_LIST_FETCH_FAILED" in ran.stderr
    assert not out.exists()


def test_an_output_folder_that_does_not_exist_is_refused_before_fetching(
    files: Files, ring: KeyRing, status_host: StatusHost, tmp_path: Path
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    missing = tmp_path / "no-such-folder" / "statuslist-1.jwt"
    ran = save(files, missing)
    assert ran.code == 2
    assert (
        f"error: OUTPUT_FILE: cannot write {missing}: the folder {missing.parent} does not exist"
        in ran.stderr
    )
    assert "Create the folder first" in ran.stderr
    assert status_host.requests == []
    assert not missing.parent.exists()
    folder = save(files, tmp_path)  # a folder where the file should be
    assert folder.code == 2
    assert "it is a folder" in folder.stderr


def test_a_refused_key_is_refused_as_verify_refuses_it_and_nothing_is_fetched(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    header, payload, signature = files.key.read_text().strip().split(".")
    files.key.write_text(f"{header}.{payload}x.{signature}\n")
    ran = save(files, out)
    args = ["verify", "--key-file", str(files.key), "--jwks", str(files.jwks), "--no-fingerprint"]
    verified = run(*args)
    assert ran.code == verified.code == 1
    assert ran.stderr == verified.stderr
    assert status_host.requests == []
    assert not out.exists()


def test_the_fingerprint_is_checked_only_when_given(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    # Saved on another machine than the key's: its own fingerprint is no concern.
    status_host.serve("/statuslists/1", token(ring, files.uri))
    assert save(files, out, "--fingerprint", THIS_SERVER).code == 0
    other = save(files, out, "--fingerprint", OTHER_SERVER)
    assert other.code == 1
    assert "error: FINGERPRINT_MISMATCH" in other.stderr


# -- a mirror -----------------------------------------------------------------------------------


def test_a_mirror_given_with_from_is_fetched_and_must_still_be_the_keys_list(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    served = token(ring, files.uri)
    mirror = status_host.serve("/mirror/statuslists/1", served)
    ran = save(files, out, "--from", mirror, "--lang", "en")
    assert ran.code == 0, ran.stderr
    assert out.read_bytes() == served.encode("ascii")
    assert f"read from:     {mirror}" in ran.stdout
    assert [path for path, _ in status_host.requests] == ["/mirror/statuslists/1"]
    assert verify_saved(files, out).code == 0
    # A genuine list, but another one: refused, and what was saved before stays.
    other = status_host.serve("/mirror/statuslists/2", token(ring, status_host.base + "/x/2"))
    refused = save(files, out, "--from", other)
    assert refused.code == 8
    assert "error: STATUS_LIST_WRONG_SUBJECT" in refused.stderr
    assert out.read_bytes() == served.encode("ascii")


def test_from_must_be_a_url(files: Files, out: Path, tmp_path: Path) -> None:
    ran = save(files, out, "--from", str(tmp_path / "list.jwt"))
    assert ran.code == 2
    assert "error: INVALID_ARGUMENT: --from" in ran.stderr
    assert "field: from" in ran.stderr


def test_output_key_and_jwks_are_required(files: Files) -> None:
    ran = run("status", "--key-file", str(files.key), "--jwks", str(files.jwks))
    assert ran.code == 2
    assert "--output" in ran.stderr


# -- the installed command ------------------------------------------------------------------


def test_the_installed_command_saves_and_the_installed_verify_reads_it(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    now = int(time.time())
    served = token(ring, files.uri, StatusValue.VALID, issued_at=now - 60, expires_at=now + 3600)
    status_host.serve("/statuslists/1", served)
    keys = ["--key-file", str(files.key), "--jwks", str(files.jwks)]
    saved = installed("status", *keys, "--output", str(out))
    assert saved.code == 0, saved.stderr
    assert saved.first_line.startswith(f"失効リストを {out} に保存しました")
    assert out.read_bytes() == served.encode("ascii")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    checked = installed("verify", *keys, "--fingerprint", THIS_SERVER, "--status-list", str(out))
    assert checked.code == 0, checked.stderr
    assert checked.first_line == "このライセンスキーは有効です（失効リスト確認済み）"
    stale = token(ring, files.uri, issued_at=now - 7200, expires_at=now - 3600)
    status_host.serve("/statuslists/1", stale)
    refused = installed("--json", "status", *keys, "--output", str(out))
    assert refused.code == 7
    assert refused.json()["saved_to"] is None
    assert out.read_bytes() == served.encode("ascii")
    assert leftovers(out.parent) == []


def test_a_saved_list_goes_stale_on_the_air_gapped_server_too(
    files: Files, ring: KeyRing, status_host: StatusHost, out: Path
) -> None:
    status_host.serve("/statuslists/1", token(ring, files.uri))
    assert save(files, out).code == 0
    args = ["verify", "--key-file", str(files.key), "--jwks", str(files.jwks)]
    later = run(*args, "--no-fingerprint", "--status-list", str(out), now=NOW + timedelta(days=7))
    assert later.code == 7
