"""The one place that writes results: rich tables for people, JSON for scripts.

Commands hand over protobuf messages with the fields or columns people should
see; `Output` decides how they appear. With ``--json`` stdout carries exactly
one JSON document per run:

- one resource: the message itself, e.g. ``{"contract_number": "SS-…", …}``;
- a list: ``{"items": [...], "next_page_token": "..."}`` (+ ``total_size`` where
  the API counts);
- a failure: ``{"error": {"code", "reason", "message", "metadata"}}``, with
  ``"code": null`` for a failure on this side (a file, the command line).

Messages become JSON with protobuf's own mapping, keeping the proto field names
and printing every scalar field, defaults included, so scripts see a stable
shape. Diagnostics (errors, hints) always go to stderr as well.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TextIO, TypeVar

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from rich.console import Console, RenderableType
from rich.table import Table

from keysvc.admin_cli.exit_codes import CommandError
from keysvc.client import KeysvcClientError
from keysvc.client.reasons import describe

ItemT = TypeVar("ItemT", bound=Message)

# A pipe has no width, and rich would assume 80 columns and wrap long ids in
# the middle, which breaks `grep` and `cut`; a wide page keeps rows on one line.
_PIPE_WIDTH = 200


@dataclass(frozen=True)
class Column(Generic[ItemT]):
    """A table column: its header and how to show an item's value in it."""

    header: str
    value: Callable[[ItemT], str]


@dataclass(frozen=True)
class Listing(Generic[ItemT]):
    """Items of a list call; `next_page_token` is empty when there are no more."""

    items: list[ItemT]
    next_page_token: str = ""
    total_size: int | None = None


def message_json(message: Message) -> dict[str, Any]:
    """A message as protobuf's JSON mapping, with the proto field names."""
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class Output:
    """Writes results and failures, as tables or as JSON."""

    def __init__(
        self, *, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        piped = not self._stdout.isatty() and "COLUMNS" not in os.environ
        self._console = Console(file=self._stdout, width=_PIPE_WIDTH if piped else None)

    def record(
        self, message: Message, fields: Sequence[tuple[str, str]], *, headline: str = ""
    ) -> None:
        """One resource: for people a headline (what just happened), then a line per field."""
        if self.as_json:
            self.json(message_json(message))
            return
        if headline:
            self.line(headline)
        width = max((len(label) for label, _ in fields), default=0)
        for label, value in fields:
            self.line(f"{label:<{width}}  {value}")

    def listing(
        self,
        listing: Listing[ItemT],
        columns: Sequence[Column[ItemT]],
        *,
        noun: str,
    ) -> None:
        """A list of `noun` (plural) as a table, with how to get the next page."""
        if self.as_json:
            document: dict[str, Any] = {
                "items": [message_json(item) for item in listing.items],
                "next_page_token": listing.next_page_token,
            }
            if listing.total_size is not None:
                document["total_size"] = listing.total_size
            self.json(document)
            return
        if not listing.items:
            self.line(f"No {noun}.")
        else:
            table = Table(*(column.header for column in columns))
            for item in listing.items:
                table.add_row(*(column.value(item) for column in columns))
            self._console.print(table)
        if listing.total_size is not None:
            self.line(f"{len(listing.items)} of {listing.total_size} {noun} shown.")
        if listing.next_page_token:
            self.line(
                f"More {noun}: repeat with --page-token {listing.next_page_token} "
                "(or --all for every page)."
            )

    def document(self, data: Mapping[str, Any], people: RenderableType | str) -> None:
        """A result that is no single message: `data` for scripts, `people` for people."""
        if self.as_json:
            self.json(data)
        elif isinstance(people, str):
            self.line(people)
        else:
            self._console.print(people)

    def line(self, text: str) -> None:
        """A line of text for people (nothing with --json: stdout is the document)."""
        if not self.as_json:
            # soft_wrap: long values (a license key) stay one line to copy, wrapped by
            # the terminal, not broken by rich.
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)

    def json(self, data: Mapping[str, Any]) -> None:
        """Writes one JSON document to stdout."""
        self._stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        self._stdout.flush()

    def failure(self, error: KeysvcClientError) -> None:
        """A refused call: explained on stderr, and as a JSON error object with --json."""
        self.problem(describe(error))
        if self.as_json:
            self.json(
                {
                    "error": {
                        "code": error.code.name,
                        "reason": error.reason,
                        "message": error.message,
                        "metadata": error.metadata,
                    }
                }
            )

    def local_failure(self, error: CommandError) -> None:
        """A failure on this side (no call answered it): on stderr, and as JSON with --json.

        The JSON error object has the shape of `failure`'s, with ``"code": null``:
        there is no gRPC status. A command that printed its result already
        (`CommandError.reported`) gets no second document.
        """
        self.problem(f"error: {error}")
        if self.as_json and not error.reported:
            self.json(
                {
                    "error": {
                        "code": None,
                        "reason": error.reason,
                        "message": str(error),
                        "metadata": {},
                    }
                }
            )

    def problem(self, text: str) -> None:
        """A diagnostic for the person at the terminal, on stderr."""
        print(text, file=self._stderr, flush=True)
