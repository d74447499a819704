"""The `keysvc` command's entry point.

`keysvc admin ...` is a gRPC client: it goes to `keysvc.admin_cli` without
importing the server (SQLAlchemy, Alembic, the servicers), which would only
make every support command slower to start, and which a client-only install
(`pip install keysvc`, without the `server` extra) does not have. Everything
else is `keysvc.cli`, and needs the extra: without it, the command says so in
one line instead of a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Final

SERVER_EXTRA_MODULES: Final = frozenset(
    {
        "sqlalchemy",
        "alembic",
        "psycopg",
        "dateutil",
        "holidays",
        "grpc_health",
        "grpc_reflection",
        "prometheus_client",
        "email_validator",
        "aiohttp",
    }
)
"""The top-level modules of the `server` extra's distributions (pyproject.toml)."""

EXIT_NO_SERVER = 2
"""Exit code when the server's libraries are missing (as for other setup errors)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keysvc` with `argv` (default: the command line) and returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["admin"]:
        quiet_grpc_core()
        from keysvc.admin_cli import main as admin_main  # noqa: PLC0415 - see the docstring

        return admin_main(arguments[1:])
    try:
        from keysvc.cli import main as service_main  # noqa: PLC0415 - see the docstring
    except ModuleNotFoundError as missing:
        module = missing.name or ""
        if module.partition(".")[0] not in SERVER_EXTRA_MODULES:
            raise
        named = arguments[:1] if arguments and not arguments[0].startswith("-") else []
        command = " ".join(["keysvc", *named])
        print(
            f"{command}: needs the server's libraries, not installed here (no module "
            f"{module!r}): pip install 'keysvc[server]'",
            file=sys.stderr,
        )
        return EXIT_NO_SERVER
    return service_main(arguments)


def quiet_grpc_core() -> None:
    """Keeps gRPC's own INFO lines (a failed TLS handshake, ...) off a command-line tool's stderr.

    grpc core logs them whatever the application does; the tool explains the
    failure itself. `GRPC_VERBOSITY` set by the user wins. Call before grpc is
    imported.
    """
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
