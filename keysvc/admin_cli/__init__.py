"""`keysvc admin`: the support staff's command-line tool, over gRPC only.

    keysvc admin [global options] GROUP COMMAND [options]

Groups: ``contracts``, ``requests``, ``licenses``, ``closures``, ``keys``,
``audit``, ``tokens``; ``keysvc admin GROUP --help`` lists their commands.
Tables for people, ``--json`` for scripts, exit codes in `exit_codes`; see
docs/admin-cli.md.

Dependency rule: this is a client of the API like any other. It imports
`keysvc.client` and the generated messages, never the database, the service
layer or the server (a unit test checks), so it runs on any support
workstation.

Modules: `main` (the command tree and the run), `output` (tables or JSON),
`paging`, `arguments`, `session` (the clients), `formatting`, and one module
per group: `contracts`, `key_requests`, `licenses`, `closures` with
`month_calendar`, `signing_keys`, `audit`, `tokens`.
"""

from __future__ import annotations

from keysvc.admin_cli.main import build_parser, main

__all__ = ["build_parser", "main"]
