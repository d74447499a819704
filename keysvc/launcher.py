"""The `keysvc` command's entry point.

`keysvc admin ...` is a gRPC client: it goes to `keysvc.admin_cli` without
importing the server (SQLAlchemy, Alembic, the servicers), which would only
make every support command slower to start. Everything else is `keysvc.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keysvc` with `argv` (default: the command line) and returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["admin"]:
        from keysvc.admin_cli import main as admin_main  # noqa: PLC0415 - see the docstring

        return admin_main(arguments[1:])
    from keysvc.cli import main as service_main  # noqa: PLC0415 - see the docstring

    return service_main(arguments)
