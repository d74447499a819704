"""``keysvc-migrate``: move a license key to the customer's new server.

    keysvc-migrate [--json] [--lang ja|en] COMMAND [options]

    fingerprint [--explain]                  this server's fingerprint           (offline)
    jwks [--output FILE]                     save the published keys              (keysvc)
    request --contract SS-... --old-key FILE --email ADDR
                                             ask for a re-issue for this server   (keysvc)
    wait [--timeout S] [--install FILE]      follow the request until released    (keysvc)
    install --key-file FILE                  write the released key, mode 0600    (keysvc)
    verify --key-file FILE --jwks FILE       check a key against this server      (offline)
           [--status | --status-list FILE_OR_URL]  ... and its status list       (HTTP GET)
    status --key-file FILE --jwks FILE --output FILE [--from URL]
                                             save the key's status list for an
                                             air-gapped server                    (HTTP GET)

Only ``main`` is public. The commands live in `offline_commands` (never loads
grpc), `request_command` and `follow_commands`; they are imported when run,
so ``fingerprint``, ``verify`` and ``status`` work, and start fast, where the network
libraries are broken or missing. Exit codes are `failures.ExitCode`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Final, NoReturn, cast

from keysvc.launcher import quiet_grpc_core
from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.output import Output
from keysvc.migrate.runtime import Runtime
from keysvc.migrate.state import DEFAULT_STATE_FILE

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, Runtime, Output], None]

# Module and function of each command, imported only when that command runs.
_HANDLERS: Final = {
    "fingerprint": ("keysvc.migrate.offline_commands", "run_fingerprint"),
    "verify": ("keysvc.migrate.offline_commands", "run_verify"),
    "status": ("keysvc.migrate.status_command", "run_status"),
    "request": ("keysvc.migrate.request_command", "run_request"),
    "wait": ("keysvc.migrate.follow_commands", "run_wait"),
    "install": ("keysvc.migrate.follow_commands", "run_install"),
    "jwks": ("keysvc.migrate.follow_commands", "run_jwks"),
}
_STATE_FILE_VARIABLE: Final = "KEYSVC_MIGRATE_STATE_FILE"
_DEFAULT_WAIT_SECONDS: Final = 600.0
_DEFAULT_INTERVAL_SECONDS: Final = 5.0

_DESCRIPTION: Final = """\
Move a keysvc license key to this (new) server: compute its fingerprint, ask
keysvc for a re-issue proving possession of the old key, wait for the new key,
install it, and verify it offline.

Moving servers, on the new server, as root:
  keysvc-migrate jwks --output /etc/neo/keysvc-jwks.json
  keysvc-migrate request --contract SS-2026-000123 --old-key old-license.key \\
      --email it@example.co.jp
  keysvc-migrate wait --install /etc/neo/license.key
  keysvc-migrate verify --key-file /etc/neo/license.key --jwks /etc/neo/keysvc-jwks.json
"""

_EPILOG: Final = """\
connection (jwks, request, wait, install):
  KEYSVC_ADDRESS              host:port of keysvc (or --address)
  KEYSVC_TOKEN                the migration token from support, or
  KEYSVC_TOKEN_FILE           a file holding it (or --token-file)
  KEYSVC_TLS_CA, KEYSVC_TLS_CLIENT_CERT, KEYSVC_TLS_CLIENT_KEY   TLS (or --tls-*)
  KEYSVC_MIGRATE_STATE_FILE   where request notes its key request (or --state-file;
                              default ./keysvc-migrate.json)

exit codes:
  0  done                     3  keysvc (or the status list) unreachable
  1  refused, or key invalid  4  no token, unknown token, or not allowed
  2  usage or local problem   5  wait timed out (the request stays)
verify --status, status:
  6  key superseded, revoked or suspended (its status list says so; status
     saves the list all the same)
  7  status list out of date: fetch it again (status saves nothing)
  8  status list refused (forged, unknown signer, not the key's, too large)
"""


class _UsageError(Exception):
    """The command line is wrong; argparse's message, and the usage to show with it."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of exiting, so that ``--json`` sees the error."""

    def error(self, message: str) -> NoReturn:
        """Raise `_UsageError` (argparse would print and exit 2 itself)."""
        raise _UsageError(message, self.format_usage().strip())


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, got {text!r}")
    return seconds


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # Accepted before the command and after it; after, they must not reset what
    # was given before (hence SUPPRESS as the sub-parsers' default).
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print one JSON object on standard output (for scripts)",
    )
    parser.add_argument(
        "--lang",
        choices=("ja", "en"),
        default=argparse.SUPPRESS if suppress else "ja",
        help="language of the release schedule and of the key's status: ja (今日中, "
        "翌営業日 ...; the default) or en",
    )


def _connection_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("connection to keysvc")
    group.add_argument("--address", help="host:port of keysvc (default: KEYSVC_ADDRESS)")
    group.add_argument(
        "--token-file",
        type=Path,
        help="file holding the migration token (default: KEYSVC_TOKEN, KEYSVC_TOKEN_FILE)",
    )
    group.add_argument("--tls-ca", type=Path, help="CA certificate: use TLS (KEYSVC_TLS_CA)")
    group.add_argument("--tls-cert", type=Path, help="client certificate, for mutual TLS")
    group.add_argument("--tls-key", type=Path, help="the client certificate's private key")
    group.add_argument(
        "--call-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="deadline of each call (default 10); failed calls are retried",
    )
    return parent


def _state_options() -> _Parser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--state-file",
        type=Path,
        help=f"where request notes its key request (default: {_STATE_FILE_VARIABLE}, "
        f"else ./{DEFAULT_STATE_FILE})",
    )
    return parent


def _check_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("checking the key before it is installed")
    group.add_argument(
        "--jwks", type=Path, help="check with this JWKS file (default: keysvc's published keys)"
    )
    group.add_argument(
        "--fingerprint",
        help="check for this fingerprint (default: the request's, else this machine's)",
    )
    group.add_argument("--no-verify", action="store_true", help="install without checking")
    return parent


def _add_command(
    commands: argparse._SubParsersAction[_Parser],
    name: str,
    summary: str,
    description: str,
    parents: Sequence[_Parser] = (),
) -> _Parser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=description,
        parents=list(parents),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(parser, suppress=True)
    return parser


def _parser() -> _Parser:
    parser = _Parser(
        prog="keysvc-migrate",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection, state, check = _connection_options(), _state_options(), _check_options()
    _add_fingerprint(commands)
    _add_jwks(commands, connection)
    _add_request(commands, connection, state)
    _add_wait(commands, connection, state, check)
    _add_install(commands, connection, state, check)
    _add_verify(commands)
    _add_status(commands)
    return parser


def _add_fingerprint(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = _add_command(
        commands,
        "fingerprint",
        "print this server's fingerprint (offline)",
        "Print this server's fingerprint: fp1: + SHA-256 of its machine-id, DMI product "
        "UUID, physical MAC addresses and host name; each is optional. Run as root: the "
        "product UUID is readable by root only, and leaving it out changes the fingerprint.",
    )
    parser.add_argument(
        "--explain", action="store_true", help="show every source: where it was read, or why not"
    )


def _add_jwks(commands: argparse._SubParsersAction[_Parser], connection: _Parser) -> None:
    parser = _add_command(
        commands,
        "jwks",
        "save keysvc's published keys, for verifying offline",
        "Fetch the published verification keys (a JWKS) from keysvc, for `verify --jwks` "
        "later, when keysvc may be out of reach.",
        [connection],
    )
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write here (atomically); default: print"
    )


def _add_request(
    commands: argparse._SubParsersAction[_Parser],
    connection: _Parser,
    state: _Parser,
) -> None:
    parser = _add_command(
        commands,
        "request",
        "ask keysvc for a re-issue for this server",
        "Ask for a new key for this server (a REISSUE), proving possession of the old key "
        "with the old key file. Prints the key request, its due date and when the key "
        "comes. Running it again with the same details returns the same request "
        "(its request_id is kept in the state file), never a second one.",
        [connection, state],
    )
    parser.add_argument("--contract", required=True, help="support service number, SS-...")
    parser.add_argument(
        "--old-key", required=True, type=Path, metavar="FILE", help="the old server's key file"
    )
    parser.add_argument("--email", required=True, help="where keysvc e-mails the new key")
    parser.add_argument(
        "--fingerprint", help="the new server's fingerprint (default: this machine's)"
    )
    parser.add_argument(
        "--request-id", help="idempotency key to send (default: the state file's, else new)"
    )
    parser.add_argument(
        "--new", action="store_true", help="start a new request, forgetting the state file's"
    )


def _add_wait(
    commands: argparse._SubParsersAction[_Parser],
    connection: _Parser,
    state: _Parser,
    check: _Parser,
) -> None:
    parser = _add_command(
        commands,
        "wait",
        "follow the key request until its key is released",
        "Follow the key request (the state file's, or --request) until it is released or "
        "rejected, or --timeout passes (exit 5; the request stays: run wait again). "
        "--timeout 0 looks once.",
        [connection, state, check],
    )
    parser.add_argument("--request", metavar="ID", help="key request id (default: state file's)")
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=_DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"give up after this long (default {_DEFAULT_WAIT_SECONDS:g})",
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=_DEFAULT_INTERVAL_SECONDS,
        metavar="SECONDS",
        help=f"between looks (default {_DEFAULT_INTERVAL_SECONDS:g})",
    )
    parser.add_argument(
        "--install", type=Path, metavar="KEY_FILE", help="once released, install the key here"
    )


def _add_install(
    commands: argparse._SubParsersAction[_Parser],
    connection: _Parser,
    state: _Parser,
    check: _Parser,
) -> None:
    parser = _add_command(
        commands,
        "install",
        "write the released key to the key file (atomically, mode 0600)",
        "Fetch the released key, check it against the published keys and the fingerprint "
        "it is for, and replace the key file atomically (mode 0600, keeping its owner). "
        "Refused while the request is not released; a key that fails the check is not "
        "written.",
        [connection, state, check],
    )
    parser.add_argument("--key-file", required=True, type=Path, help="the product's key file")
    parser.add_argument("--request", metavar="ID", help="key request id (default: state file's)")


def _add_verify(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = _add_command(
        commands,
        "verify",
        "check a key file against this server, offline (and its status list)",
        "Check a key file with a JWKS file (from `jwks --output`) and this server's "
        "fingerprint; without --status or --status-list, with no network access at all. "
        "Exit 0 when valid, 1 when not, with the reason. With --status (or "
        "--status-list), check the key's status too: its entry in the Status List "
        "Token its status claim names, signed by the same published keys. Exit 6 when "
        "the list says superseded, revoked or suspended, 7 when the list is out of "
        "date, 8 when the list is refused, 3 when it cannot be fetched.",
    )
    parser.add_argument("--key-file", required=True, type=Path, help="the key file to check")
    parser.add_argument("--jwks", required=True, type=Path, help="the published keys (JWKS file)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--fingerprint", help="check for this fingerprint, not this machine's")
    which.add_argument(
        "--no-fingerprint", action="store_true", help="check the signature and format only"
    )
    status = parser.add_argument_group(
        "the key's status (status lists)"
    ).add_mutually_exclusive_group()
    status.add_argument(
        "--status",
        action="store_true",
        help="fetch the key's status list from the URI in its status claim (HTTP GET, 10 s)",
    )
    status.add_argument(
        "--status-list",
        metavar="FILE_OR_URL",
        help="check against this Status List Token: a saved file, or an http(s) URL to fetch",
    )


def _add_status(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = _add_command(
        commands,
        "status",
        "save the key's status list, for a server that cannot fetch it (HTTP GET)",
        "On a machine with network access: check the key with the JWKS file, fetch the "
        "Status List Token its status claim names (or a mirror's copy, --from), check "
        "it (signed by the same published keys, the key's own list, not out of date) "
        "and save it to --output (atomically, mode 0644). On the air-gapped server, "
        "`verify --key-file KEY --jwks FILE --status-list SAVED` then checks the key. "
        "Exit 0 when saved and the key is valid; 6 when saved but the list says the "
        "key is superseded, revoked or suspended; nothing saved: 7 when the list is out "
        "of date, 8 when it is refused, 3 when it cannot be fetched, 2 when the key "
        "names no status list or --output cannot be written, 1 when the key is refused.",
    )
    parser.add_argument("--key-file", required=True, type=Path, help="the key file")
    parser.add_argument("--jwks", required=True, type=Path, help="the published keys (JWKS file)")
    parser.add_argument(
        "--output",
        required=True,
        type=Path,
        metavar="FILE",
        help="save the list here (atomically, mode 0644); its folder must exist",
    )
    parser.add_argument(
        "--from",
        dest="from_url",
        metavar="URL",
        help="fetch the list from this http(s) URL (a mirror) rather than the key's own URI; "
        "it must still be the key's list",
    )
    parser.add_argument(
        "--fingerprint",
        help="also check that the key is for this fingerprint (the air-gapped server's); "
        "by default the fingerprint is not checked: this is not the key's server",
    )


def _version() -> str:
    try:
        return metadata.version("keysvc")
    except metadata.PackageNotFoundError:
        return "unknown"


def _handler(command: str) -> Handler:
    module, function = _HANDLERS[command]
    return cast("Handler", getattr(importlib.import_module(module), function))


def main(argv: Sequence[str] | None = None, *, runtime: Runtime | None = None) -> int:
    """Run one ``keysvc-migrate`` command and return its exit code (`failures.ExitCode`).

    ``runtime`` replaces the real world (`Runtime.system()`) for tests and
    programs that embed the tool.
    """
    runtime = runtime or Runtime.system()
    quiet_grpc_core()
    arguments = list(sys.argv[1:] if argv is None else argv)
    output = Output(json_mode="--json" in arguments, stdout=runtime.stdout, stderr=runtime.stderr)
    try:
        args = _parser().parse_args(arguments)
    except _UsageError as error:
        return output.failure(Failure(ExitCode.USAGE, "USAGE", error.message, hint=error.usage))
    except SystemExit as exit_:  # --help and --version print, then exit
        return exit_.code if isinstance(exit_.code, int) else ExitCode.OK
    output = Output(json_mode=args.json, stdout=runtime.stdout, stderr=runtime.stderr)
    if "state_file" in args and args.state_file is None:
        args.state_file = Path(runtime.environ.get(_STATE_FILE_VARIABLE) or DEFAULT_STATE_FILE)
    try:
        _handler(args.command)(args, runtime, output)
    except Failure as failure:
        return output.failure(failure)
    except KeyboardInterrupt:
        return output.failure(
            Failure(
                ExitCode.INTERRUPTED,
                "INTERRUPTED",
                "stopped",
                hint="A key request already made stays; `keysvc-migrate wait` follows it.",
            )
        )
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
