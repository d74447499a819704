"""`keysvc` on a clock the test sets: test-only wiring, never a production switch.

    python -m tests.e2e.clocked_keysvc CLOCK_FILE serve --data-dir ...

The clock file holds one ISO 8601 instant with its offset; the process reads it
whenever it asks for the time, so a test moves time for running servers by
rewriting the file (`set_clock`). Time stands still in between, unless the
file says ``ticking``: then it runs on from that instant at the real pace. The installed
`keysvc` command has no such option: this module lives in `tests/` and passes
the clock to `keysvc.cli.main` as an argument.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from keysvc.cli import main
from scheduler.clock import FixedClock


class FileClock:
    """The instant written in a file, read afresh on every call."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        """The instant in the file (plus the time since it was written, when ticking)."""
        text, _, mode = self._path.read_text().strip().partition(" ")
        instant = FixedClock(datetime.fromisoformat(text)).now()
        if mode == "ticking":
            instant += timedelta(seconds=time.time() - self._path.stat().st_mtime)
        return instant


def set_clock(path: Path, instant: datetime, *, ticking: bool = False) -> None:
    """Sets the clock of every process reading `path` (atomically: never half-written);
    a ticking clock runs on from `instant`, a still one stays there."""
    FixedClock(instant)  # refuses a naive instant here, not in the server
    staging = path.with_name(path.name + ".new")
    staging.write_text(instant.isoformat() + (" ticking" if ticking else ""))
    os.replace(staging, path)


if __name__ == "__main__":
    clock_file, *arguments = sys.argv[1:]
    sys.exit(main(arguments, clock=FileClock(Path(clock_file))))
