"""Building the command tree, and the option types commands share."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from keysvc.admin_cli import exit_codes
from keysvc.admin_cli.session import Session

Handler = Callable[[argparse.Namespace, Session], None]
"""A command: reads its arguments, calls the service, writes through `session.out`."""

_HELP_WIDTH = 79
_Subparsers = argparse._SubParsersAction  # argparse's own type for add_subparsers


class CommandGroup:
    """The commands of one group (``contracts``, ``requests``, ...).

    Every command also accepts the global options (`parents`), so that they may
    follow the command as well as precede it.
    """

    def __init__(
        self,
        # Any: the parsers are of `main`'s ArgumentParser subclass (invariant here).
        commands: _Subparsers[Any],
        parents: Sequence[argparse.ArgumentParser],
    ) -> None:
        self._commands = commands
        self._parents = list(parents)

    def add(
        self, name: str, handler: Handler, *, summary: str, description: str = ""
    ) -> argparse.ArgumentParser:
        """A command `name` that runs `handler`; `summary` is its line in the group's help."""
        text = description or summary[0].upper() + summary[1:] + "."
        parser: argparse.ArgumentParser = self._commands.add_parser(
            name,
            help=summary,
            # Wrapped here: the raw formatter keeps the exit-code table of the epilog as is.
            description=textwrap.fill(text, _HELP_WIDTH),
            epilog=exit_codes.HELP,
            parents=self._parents,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(handler=handler)
        return parser


def iso_date(value: str) -> str:
    """An argparse type: a calendar date ``YYYY-MM-DD``, passed on as text."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {value!r}") from None


def iso_instant(value: str) -> datetime:
    """An argparse type: an instant with its offset, e.g. ``2026-11-24T09:00+09:00``."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {value!r}") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the offset too, e.g. {value}+09:00")
    return instant


def positive(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def add_request_id(parser: argparse.ArgumentParser) -> None:
    """``--request-id``, for commands that would do their work twice if run twice."""
    parser.add_argument(
        "--request-id",
        default="",
        metavar="ID",
        help="idempotency key: running the command again with the same ID returns the first "
        "result instead of doing it again (default: a new one per run)",
    )
