"""The command tree of `keysvc admin`, and running one command to an exit code."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from keysvc.admin_cli import (
    audit,
    closures,
    contracts,
    exit_codes,
    key_requests,
    licenses,
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
)


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
    parser = argparse.ArgumentParser(
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
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else exit_codes.USAGE
    out = Output(as_json=args.json)
    try:
        config = _client_config(args)
    except CommandError as error:
        out.problem(f"error: {error}")
        return error.exit_code
    try:
        with Session(config, out) as session:
            args.handler(args, session)
    except KeysvcClientError as error:
        out.failure(error)
        return exit_code_for(error)
    except CommandError as error:
        out.problem(f"error: {error}")
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
        raise CommandError("--timeout must be positive", exit_codes.USAGE)
    try:
        token = args.token_file.read_text().strip() if args.token_file else None
        config = ClientConfig.from_environment(
            os.environ,
            address=args.address,
            token=token,
            tls_ca=args.tls_ca,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            timeout=args.timeout,
        )
    except OSError as error:
        raise CommandError(f"cannot read the token file: {error}", exit_codes.USAGE) from error
    if (config.tls_cert is None) != (config.tls_key is None):
        raise CommandError(
            "a client certificate needs its key, and the other way round", exit_codes.USAGE
        )
    if config.tls_cert is not None and config.tls_ca is None:
        raise CommandError(
            "mutual TLS (a client certificate) needs --tls-ca as well", exit_codes.USAGE
        )
    for path in (config.tls_ca, config.tls_cert, config.tls_key):
        if path is not None and not path.is_file():
            raise CommandError(f"no such file: {path}", exit_codes.USAGE)
    return config
