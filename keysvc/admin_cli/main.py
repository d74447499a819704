"""The command tree of `keysvc admin`, and running one command to an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from keysvc.admin_cli import (
    audit,
    closures,
    contracts,
    exit_codes,
    key_requests,
    licenses,
    mail,
    signing_keys,
    tokens,
)
from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.exit_codes import CommandError, exit_code_for
from keysvc.admin_cli.output import Output
from keysvc.admin_cli.session import Session
from keysvc.client import ClientConfig, KeysvcClientError

_DESCRIPTION = """\
The support staff's tool: contracts, key requests, licenses, closures, signing
keys, the audit log and tokens, over the keysvc gRPC API with an admin token.
"""

_ENVIRONMENT = """\
environment:
  KEYSVC_ADDRESS          HOST:PORT of the service (default 127.0.0.1:50051)
  KEYSVC_TOKEN            the admin bearer token, or
  KEYSVC_TOKEN_FILE       a file holding it (--token-file wins over both)
  KEYSVC_TLS_CA           CA certificate: connect with TLS
  KEYSVC_TLS_CLIENT_CERT  client certificate and key, for mutual TLS
  KEYSVC_TLS_CLIENT_KEY

Global options may come before the group or after the command. With --json,
stdout is exactly one JSON document (see docs/admin-cli.md); errors are
explained on stderr either way. Times are shown in Tokyo time (JST).
"""

_GROUPS: tuple[tuple[str, Callable[[CommandGroup], None], str], ...] = (
    ("contracts", contracts.register, "support contracts: create, renew, add licenses"),
    ("requests", key_requests.register, "key requests: list, approve, reject, issue, release"),
    ("licenses", licenses.register, "licenses: show, list, revoke, verify a key"),
    ("closures", closures.register, "company closures and the business calendar"),
    ("keys", signing_keys.register, "signing keys: list, rotate, export the JWKS"),
    ("audit", audit.register, "the audit log"),
    ("tokens", tokens.register, "bearer tokens: list, revoke"),
    ("mail", mail.register, "the key e-mails' deliveries: list, failed"),
)


class _UsageError(Exception):
    """The command line is wrong: argparse's message, and the usage of the parser at fault."""

    def __init__(self, message: str, usage: str, prog: str) -> None:
        super().__init__(message)
        self.usage = usage
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """Raises on a usage error instead of printing and exiting, so that --json can answer it."""

    def error(self, message: str) -> NoReturn:
        """Raises `_UsageError` (argparse would print and exit 2 itself)."""
        raise _UsageError(message, self.format_usage(), self.prog)


def _global_options(*, defaults: bool) -> argparse.ArgumentParser:
    """The connection and output options, with defaults on the top-level parser only.

    The copy every command carries has no defaults (SUPPRESS), so an option
    given before the group is not reset by the command's parser.
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("global options")
    group.add_argument(
        "--address", default=default(None), metavar="HOST:PORT", help="default $KEYSVC_ADDRESS"
    )
    group.add_argument(
        "--token-file",
        type=Path,
        default=default(None),
        metavar="FILE",
        help="file holding the admin token (else $KEYSVC_TOKEN or $KEYSVC_TOKEN_FILE); the "
        "token itself is never an argument, where ps and shell history would show it",
    )
    group.add_argument(
        "--tls-ca",
        type=Path,
        default=default(None),
        metavar="PEM",
        help="CA certificate: connect with TLS (default $KEYSVC_TLS_CA, else plaintext)",
    )
    group.add_argument(
        "--tls-cert",
        type=Path,
        default=default(None),
        metavar="PEM",
        help="client certificate, for mutual TLS",
    )
    group.add_argument(
        "--tls-key", type=Path, default=default(None), metavar="PEM", help="its private key"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=default(None),
        metavar="SECONDS",
        help="deadline of each attempt (default 10)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print one JSON document for scripts instead of tables",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    """The whole `keysvc admin` command tree."""
    parser = _Parser(
        prog="keysvc admin",
        description=_DESCRIPTION,
        epilog=exit_codes.HELP + "\n" + _ENVIRONMENT,
        parents=[_global_options(defaults=True)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = parser.add_subparsers(required=True, metavar="GROUP", title="groups")
    leaf_options = [_global_options(defaults=False)]
    for name, register, summary in _GROUPS:
        group_parser = groups.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=exit_codes.HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        commands = group_parser.add_subparsers(required=True, metavar="COMMAND", title="commands")
        register(CommandGroup(commands, leaf_options))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one `keysvc admin` command and returns its exit code (see `exit_codes`)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
    except _UsageError as error:
        # Before parsing succeeds --json is known only as a word of the command line.
        out = Output(as_json="--json" in arguments)
        out.problem(error.usage.rstrip())
        out.local_failure(CommandError(str(error), exit_codes.USAGE, reason="USAGE"))
        return exit_codes.USAGE
    except SystemExit as stop:  # --help, after printing it
        return stop.code if isinstance(stop.code, int) else exit_codes.OK
    out = Output(as_json=args.json)
    try:
        config = _client_config(args)
        with Session(config, out) as session:
            args.handler(args, session)
    except KeysvcClientError as error:
        out.failure(error)
        return exit_code_for(error)
    except CommandError as error:
        out.local_failure(error)
        return error.exit_code
    except KeyboardInterrupt:
        out.problem("interrupted")
        return exit_codes.INTERRUPTED
    return exit_codes.OK


def _client_config(args: argparse.Namespace) -> ClientConfig:
    """The client configuration: command-line options over the environment.

    Checked here rather than left to the channel, so that a mistake in it is a
    usage error (exit 2) before anything is sent.
    """
    if args.timeout is not None and args.timeout <= 0:
        raise CommandError("--timeout must be positive", exit_codes.USAGE, reason="USAGE")
    token, token_file = _token(args)
    try:
        config = ClientConfig.from_environment(
            os.environ,
            address=args.address,
            token=token,
            tls_ca=args.tls_ca,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            timeout=args.timeout,
        )
    except ValueError as error:  # the token is no token (ClientConfig checks it)
        where = f"the token file {token_file}" if token_file else "KEYSVC_TOKEN"
        reason = "TOKEN_FILE" if token_file else "INVALID_TOKEN"
        raise CommandError(f"{where}: {error}", exit_codes.USAGE, reason=reason) from None
    if (config.tls_cert is None) != (config.tls_key is None):
        raise CommandError(
            "a client certificate needs its key, and the other way round",
            exit_codes.USAGE,
            reason="USAGE",
        )
    if config.tls_cert is not None and config.tls_ca is None:
        raise CommandError(
            "mutual TLS (a client certificate) needs --tls-ca as well",
            exit_codes.USAGE,
            reason="USAGE",
        )
    for path in (config.tls_ca, config.tls_cert, config.tls_key):
        if path is not None and not path.is_file():
            raise CommandError(f"no such file: {path}", exit_codes.USAGE, reason="TLS_FILES")
    return config


def _token(args: argparse.Namespace) -> tuple[str | None, Path | None]:
    """The token of --token-file, else of $KEYSVC_TOKEN_FILE when $KEYSVC_TOKEN is unset,
    and the file it came from; (None, None) leaves the token to the environment."""
    path = args.token_file
    if path is None and not os.environ.get("KEYSVC_TOKEN"):
        path = (
            Path(os.environ["KEYSVC_TOKEN_FILE"]) if os.environ.get("KEYSVC_TOKEN_FILE") else None
        )
    if path is None:
        return None, None
    try:
        return path.read_text(encoding="utf-8").strip(), path
    except OSError as error:
        why = error.strerror or str(error)
        raise CommandError(
            f"cannot read the token file {path}: {why}", exit_codes.USAGE, reason="TOKEN_FILE"
        ) from None
    except UnicodeDecodeError:
        raise CommandError(
            f"the token file {path} is not text: a keysvc token is printable ASCII",
            exit_codes.USAGE,
            reason="TOKEN_FILE",
        ) from None
