"""What ``keysvc-migrate`` prints: lines for people, one JSON object for scripts.

Results go to standard output; warnings, progress and errors to standard
error, so that ``FP=$(keysvc-migrate fingerprint)`` captures the fingerprint
alone. With ``--json`` standard output holds exactly one JSON object:
``{"ok": true, ...}`` on success, ``{"ok": false, "error": {...}, ...}`` on
failure (with whatever is known anyway); standard error keeps the human text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

from keysvc.migrate.failures import Failure

__all__ = ["Output", "labelled"]

_LABEL_WIDTH = 14


def labelled(pairs: Iterable[tuple[str, object]]) -> list[str]:
    """Format ``(label, value)`` pairs as aligned ``label:  value`` lines.

    Pairs whose value is None or empty are left out.

    >>> labelled([("state", "PENDING"), ("hold", ""), ("due date", "2026-11-24")])
    ['state:         PENDING', 'due date:      2026-11-24']
    """
    return [
        f"{label + ':':<{_LABEL_WIDTH}} {value}"
        for label, value in pairs
        if value is not None and value != ""
    ]


class Output:
    """Prints results and failures as the command line asked (``--json`` or not)."""

    def __init__(self, *, json_mode: bool, stdout: TextIO, stderr: TextIO) -> None:
        """Print to ``stdout`` and ``stderr``; ``json_mode`` is ``--json``."""
        self.json_mode = json_mode
        self._stdout = stdout
        self._stderr = stderr

    def result(self, fields: Mapping[str, object], lines: Sequence[str]) -> None:
        """Print a command's result: ``fields`` as JSON, or ``lines`` for people."""
        if self.json_mode:
            self._json({"ok": True, **fields})
        else:
            self._print(self._stdout, lines)

    def warn(self, text: str) -> None:
        """Print a warning on standard error (also with ``--json``: it is for people)."""
        self._print(self._stderr, [f"warning: {text}"])

    def note(self, text: str) -> None:
        """Print a progress note on standard error, unless ``--json``."""
        if not self.json_mode:
            self._print(self._stderr, [text])

    def failure(self, failure: Failure) -> int:
        """Print ``failure`` (standard error; and JSON on standard output) and return its code."""
        lines = [f"error: {failure.reason}: {failure.message}"]
        if "field" in failure.metadata:
            lines.append(f"  field: {failure.metadata['field']}")
        if failure.hint:
            lines.extend(f"  {line}" for line in failure.hint.splitlines())
        if self.json_mode:
            error = {
                "reason": failure.reason,
                "message": failure.message,
                "hint": failure.hint,
                "exit_code": int(failure.exit_code),
                "metadata": failure.metadata,
            }
            self._json({"ok": False, **failure.result, "error": error})
        else:
            self._print(self._stdout, failure.lines)
        self._print(self._stderr, lines)
        return int(failure.exit_code)

    def _json(self, document: Mapping[str, object]) -> None:
        # Not ASCII-escaped: the schedule is in Japanese words, and JSON is UTF-8.
        self._stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        self._stdout.flush()

    @staticmethod
    def _print(stream: TextIO, lines: Iterable[str]) -> None:
        for line in lines:
            stream.write(line + "\n")
        stream.flush()
