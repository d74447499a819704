"""The command tree, its usage errors and its exit codes, without a server."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import grpc
import pytest

from keysvc.admin_cli import build_parser, exit_codes, main
from keysvc.client import (
    AuthenticationError,
    FailedPreconditionError,
    KeysvcClientError,
    PermissionDeniedError,
    UnavailableError,
)

COMMANDS = {
    "contracts": {
        "create",
        "show",
        "list",
        "status",
        "renew",
        "recontinue",
        "add-licenses",
        "update",
    },
    "requests": {
        "list",
        "show",
        "submit",
        "approve",
        "reject",
        "issue-now",
        "resend-mail",
        "release-due",
    },
    "licenses": {"show", "list", "revoke", "end-overlap", "verify"},
    "closures": {"add", "list", "remove", "calendar"},
    "keys": {"list", "rotate", "withdraw", "export-jwks"},
    "audit": {"list"},
    "tokens": {"list", "revoke"},
    "mail": {"list", "failed"},
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    choices: dict[str, argparse.ArgumentParser] = action.choices
    return choices


def test_every_group_has_its_commands() -> None:
    groups = _subcommands(build_parser())
    assert set(groups) == set(COMMANDS)
    for name, commands in COMMANDS.items():
        assert set(_subcommands(groups[name])) == commands


def test_global_options_may_follow_the_command_without_losing_earlier_ones() -> None:
    parser = build_parser()
    args = parser.parse_args(["--address", "h:1", "contracts", "list", "--json"])
    assert (args.address, args.json) == ("h:1", True)
    args = parser.parse_args(["--json", "contracts", "list"])
    assert args.json is True
    assert args.address is None  # the environment decides


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["contracts"],
        ["contracts", "fly"],
        ["contracts", "create", "--product", "neo-backup"],
        ["contracts", "renew", "SS-2026-000001", "--accept-date", "2026/11/22"],
        ["contracts", "list", "--page-size", "0"],
        ["contracts", "list", "--all", "--page-token", "x"],
        ["requests", "list", "--pending", "--held"],
        ["requests", "release-due", "--as-of", "2026-11-24T09:00"],
        ["closures", "calendar", "2026-13"],
        ["licenses", "revoke", "L-2026-X"],
    ],
)
def test_bad_usage_exits_2_before_calling_anything(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == exit_codes.USAGE
    assert "usage:" in capsys.readouterr().err


def test_help_exits_0_and_documents_exit_codes_and_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == exit_codes.OK
    text = capsys.readouterr().out
    assert "exit codes:" in text
    assert "KEYSVC_TOKEN_FILE" in text
    assert main(["requests", "list", "--help"]) == exit_codes.OK
    assert "--at-risk" in capsys.readouterr().out


def test_an_unreadable_token_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-token"
    assert main(["--token-file", str(missing), "contracts", "list"]) == exit_codes.USAGE
    assert "cannot read the token file" in capsys.readouterr().err


def _json_error(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], str]:
    """The one JSON error object on stdout, and stderr."""
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert list(document) == ["error"]
    error: dict[str, object] = document["error"]
    return error, captured.err


@pytest.fixture
def no_token_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEYSVC_TOKEN", "KEYSVC_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_token_settings")
def test_a_local_failure_with_json_is_one_json_error_with_no_status_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "key.txt"
    assert main(["licenses", "verify", str(missing), "--json"]) == exit_codes.REFUSED
    error, stderr = _json_error(capsys)
    assert error["code"] is None
    assert error["reason"] == "KEY_FILE"
    assert str(missing) in str(error["message"])
    assert error["metadata"] == {}
    assert stderr.startswith("error: cannot read the key: ")


def test_a_usage_error_with_json_is_a_json_error_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "fly", "--json"]) == exit_codes.USAGE
    error, stderr = _json_error(capsys)
    assert (error["code"], error["reason"]) == (None, "USAGE")
    assert "invalid choice: 'fly'" in str(error["message"])
    assert stderr.startswith("usage: keysvc admin contracts")


@pytest.mark.usefixtures("no_token_settings")
def test_a_token_file_that_is_not_utf8_is_a_usage_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "token.bin"
    binary.write_bytes(b"ksv1.\xff\xfe\x00secret")
    assert main(["--token-file", str(binary), "contracts", "list", "--json"]) == exit_codes.USAGE
    error, stderr = _json_error(capsys)
    assert error["reason"] == "TOKEN_FILE"
    assert f"the token file {binary} is not text" in stderr
    monkeypatch.setenv("KEYSVC_TOKEN_FILE", str(binary))
    assert main(["contracts", "list"]) == exit_codes.USAGE
    captured = capsys.readouterr()
    assert (captured.out, "Traceback" in captured.err) == ("", False)
    assert f"the token file {binary} is not text" in captured.err


@pytest.mark.usefixtures("no_token_settings")
def test_a_token_that_is_no_token_is_refused_before_calling_and_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # UTF-8, but gRPC would refuse it as metadata, as an INTERNAL error of the call.
    accented = tmp_path / "token.txt"
    accented.write_text("ksv1.0123456789abcdef.sécret\n", encoding="utf-8")
    assert main(["--token-file", str(accented), "contracts", "list", "--json"]) == exit_codes.USAGE
    error, stderr = _json_error(capsys)
    assert error["reason"] == "TOKEN_FILE"
    assert "printable ASCII" in stderr
    assert "sécret" not in stderr + str(error)
    monkeypatch.setenv("KEYSVC_TOKEN", "ksv1.0123456789abcdef.two words")
    assert main(["contracts", "list", "--json"]) == exit_codes.USAGE
    error, stderr = _json_error(capsys)
    assert error["reason"] == "INVALID_TOKEN"
    assert "two words" not in stderr + str(error)


def test_a_client_certificate_without_its_key_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    argv = ["--tls-ca", str(cert), "--tls-cert", str(cert), "contracts", "list"]
    assert main(argv) == exit_codes.USAGE
    assert "needs its key" in capsys.readouterr().err


def test_the_token_is_never_a_command_line_argument() -> None:
    options = {o for action in build_parser()._actions for o in action.option_strings}
    assert "--token-file" in options
    assert "--token" not in options


@pytest.mark.parametrize(
    ("error_type", "code", "expected"),
    [
        (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION, exit_codes.REFUSED),
        (KeysvcClientError, grpc.StatusCode.INTERNAL, exit_codes.REFUSED),
        (UnavailableError, grpc.StatusCode.UNAVAILABLE, exit_codes.UNAVAILABLE),
        (UnavailableError, grpc.StatusCode.DEADLINE_EXCEEDED, exit_codes.UNAVAILABLE),
        (AuthenticationError, grpc.StatusCode.UNAUTHENTICATED, exit_codes.DENIED),
        (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED, exit_codes.DENIED),
    ],
)
def test_exit_codes_by_kind_of_failure(
    error_type: type[KeysvcClientError], code: grpc.StatusCode, expected: int
) -> None:
    assert exit_codes.exit_code_for(error_type(code, code.name, "", {})) == expected


def test_a_kid_that_starts_with_a_dash_is_given_after_the_double_dash():
    # Kids are base64url: one in 64 starts with '-'.
    args = build_parser().parse_args(["keys", "withdraw", "--reason", "r", "--", "-AbC_x"])
    assert (args.kid, args.reason) == ("-AbC_x", "r")
