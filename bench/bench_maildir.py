"""Benchmark `MaildirTransport` deliveries against the bare Maildir protocol, in the same run.

    .venv/bin/python bench/bench_maildir.py [--messages N] [--rounds R] [--cur-files N ...]
                                            [--dir PATH] [--json PATH]

- Floor: the delivery protocol with plain `os` calls in a loop, per message:
  open ``tmp/<name>``, write, fsync, close, link into ``new/``, fsync ``new/``
  (its descriptor opened once), unlink the temporary file. No existence
  check, no hashing of the Message-ID: the least any Maildir delivery does.
- Figure: `MaildirTransport` delivering N pre-composed license e-mails
  (`compose_license_mail`, fresh Message-IDs each round), in sessions of
  ``DEFAULT_BATCH_SIZE`` (50) messages as `OutboxSender` opens them, into a
  Maildir whose ``cur/`` already holds ``--cur-files`` messages (what a mail
  client leaves behind: ``keysvc.<hash>:2,S``), untouched by anyone else
  during the measurement and for a few seconds before.

Both write into a temporary directory under ``--dir`` (default: the system's
temporary directory; it must be a real disk file system, as fsync is what
the protocol costs). Rounds alternate floor and figure. Reported per ``cur/``
size, each as the median of the rounds: deliveries per second of figure and
floor with the median per-round ratio; CPU time per message (user + system,
`resource.getrusage`); and its user-mode part. User-mode CPU is the Python
work, which holds the GIL the server's other threads need; system time
includes the file system's work in fsync (GIL released), and the wall time is
mostly waiting for fsync. On a machine shared with other jobs the system time
and the wall time vary several-fold from round to round (the journal is
shared); the user time varies least.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench_mail import compose, license_key
from common import Figure, machine, median, write_json

from scheduler.mail import ComposedMail, MaildirTransport, maildir_file_name
from scheduler.mail.outbox import DEFAULT_BATCH_SIZE

WARM_UP_MESSAGES: Final = 100
# cur/ is left alone this long after it was filled, as a mail client leaves it
# between its visits: MaildirTransport keeps its listing of cur/ only once cur/
# has not changed for 3 s.
SETTLE_SECONDS: Final = 3.5


def fill_cur(maildir: Path, count: int, data: bytes) -> None:
    """Puts ``count`` messages into ``maildir/cur/`` as a mail client leaves them (``:2,S``)."""
    cur = maildir / "cur"
    cur.mkdir(mode=0o700, parents=True, exist_ok=True)
    for index in range(count):
        name = maildir_file_name(f"<keysvc.read{index:06d}@keysvc.example.jp>")
        (cur / f"{name}:2,S").write_bytes(data)


@dataclass(frozen=True, slots=True)
class Cost:
    """Seconds of wall time, and of this process's CPU time in user and in system mode."""

    wall: float
    user: float
    system: float

    @classmethod
    def now(cls) -> Cost:
        """The clocks now (getrusage: microseconds, where os.times has clock ticks)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(time.perf_counter(), usage.ru_utime, usage.ru_stime)

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.wall - other.wall, self.user - other.user, self.system - other.system)

    @property
    def cpu(self) -> float:
        """User plus system time."""
        return self.user + self.system

    def per_message(self, messages: int) -> dict[str, float]:
        """Deliveries per second, and microseconds of CPU, user and system time per message."""
        return {
            "msg_per_s": round(messages / self.wall),
            "cpu_us": round(self.cpu / messages * 1e6, 1),
            "user_us": round(self.user / messages * 1e6, 1),
            "system_us": round(self.system / messages * 1e6, 1),
        }

    def line(self, messages: int) -> str:
        """``1,502 msg/s, 385 µs CPU (120 user) per message``."""
        return (
            f"{messages / self.wall:,.0f} msg/s, {self.cpu / messages * 1e6:.0f} µs CPU "
            f"({self.user / messages * 1e6:.0f} user) per message"
        )


# --- the floor ------------------------------------------------------------------------


def deliver_bare(root: Path, messages: Sequence[tuple[str, bytes]]) -> Cost:
    """Delivers ``(name, data)`` pairs with plain os calls; returns what that took."""
    tmp, new = os.path.join(root, "tmp"), os.path.join(root, "new")
    new_descriptor = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    try:
        start = Cost.now()
        for name, data in messages:
            temporary = os.path.join(tmp, name)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(descriptor, data)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.link(temporary, os.path.join(new, name))
            os.fsync(new_descriptor)
            os.unlink(temporary)
        return Cost.now() - start
    finally:
        os.close(new_descriptor)


# --- the figure -----------------------------------------------------------------------


def deliver_with_transport(transport: MaildirTransport, messages: Sequence[ComposedMail]) -> Cost:
    """Delivers ``messages`` in sessions of a batch each, as the sender does; returns the cost."""
    start = Cost.now()
    for first in range(0, len(messages), DEFAULT_BATCH_SIZE):
        with transport.session() as session:
            for mail in messages[first : first + DEFAULT_BATCH_SIZE]:
                session.deliver(mail)
    return Cost.now() - start


# --- the figures ----------------------------------------------------------------------

FLOOR: Final = "bare protocol with os calls (write tmp, fsync, link, fsync new/, unlink)"


def summarise(
    cur_size: int, messages: int, costs: Sequence[Cost], floor_costs: Sequence[Cost]
) -> list[Figure]:
    """Rate, CPU and user-mode CPU per message: medians of the rounds, against the floor's."""
    rates = [messages / cost.wall for cost in costs]
    floor_rates = [messages / cost.wall for cost in floor_costs]
    where = f"cur/ with {cur_size:,} files"
    return [
        Figure(
            name=f"MaildirTransport deliveries, {where}",
            value=median(rates),
            unit="msg/s",
            floor=FLOOR,
            floor_value=median(floor_rates),
            ratio=median(rate / floor for rate, floor in zip(rates, floor_rates, strict=True)),
        ),
        Figure(
            name=f"MaildirTransport CPU per message, {where}",
            value=median(cost.cpu / messages * 1e6 for cost in costs),
            unit="µs",
            floor=FLOOR,
            floor_value=median(cost.cpu / messages * 1e6 for cost in floor_costs),
            higher_is_better=False,
        ),
        Figure(
            name=f"MaildirTransport user-mode CPU per message (Python, GIL held), {where}",
            value=median(cost.user / messages * 1e6 for cost in costs),
            unit="µs",
            floor=FLOOR,
            floor_value=median(cost.user / messages * 1e6 for cost in floor_costs),
            higher_is_better=False,
        ),
    ]


# --- the run --------------------------------------------------------------------------


def measure(
    messages: int, rounds: int, cur_sizes: Sequence[int], directory: Path | None
) -> tuple[list[Figure], dict[str, object]]:
    """Alternates floor and figure rounds per ``cur/`` size; returns figures and settings."""
    key = license_key()
    message_bytes = len(compose("size", key).message)
    figures: list[Figure] = []
    per_round: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="keysvc-bench-maildir-", dir=directory) as scratch:
        for cur_size in cur_sizes:
            maildir = Path(scratch) / f"cur{cur_size}"
            floor_root = Path(scratch) / f"floor{cur_size}"
            for folder in ("tmp", "new", "cur"):
                (floor_root / folder).mkdir(mode=0o700, parents=True)
            fill_cur(maildir, cur_size, compose("read", key).message.replace(b"\r\n", b"\n"))
            time.sleep(SETTLE_SECONDS)
            transport = MaildirTransport(maildir)

            def batch(prefix: str, count: int) -> list[ComposedMail]:
                return [compose(f"{prefix}{index:05d}", key) for index in range(count)]

            deliver_with_transport(transport, batch(f"c{cur_size}warm", WARM_UP_MESSAGES))
            deliver_bare(
                floor_root,
                [(f"warm{index}", mail.message) for index, mail in enumerate(batch("fw", 10))],
            )
            floor_costs: list[Cost] = []
            costs: list[Cost] = []
            for round_number in range(rounds):
                # Composed before the clock starts: the figure times delivery only.
                mails = batch(f"c{cur_size}r{round_number:02d}n", messages)
                bare = [
                    (maildir_file_name(mail.message_id), mail.message.replace(b"\r\n", b"\n"))
                    for mail in mails
                ]
                floor_costs.append(deliver_bare(floor_root, bare))
                costs.append(deliver_with_transport(transport, mails))
                print(
                    f"  cur/ {cur_size:,} files, round {round_number + 1}/{rounds}: "
                    f"floor {floor_costs[-1].line(messages)}; "
                    f"MaildirTransport {costs[-1].line(messages)}",
                    file=sys.stderr,
                )
            figures.extend(summarise(cur_size, messages, costs, floor_costs))
            per_round[f"cur_{cur_size}"] = {
                "floor": [cost.per_message(messages) for cost in floor_costs],
                "figure": [cost.per_message(messages) for cost in costs],
            }
    settings: dict[str, object] = {
        "messages_per_round": messages,
        "rounds": rounds,
        "cur_files": list(cur_sizes),
        "message_bytes": message_bytes,
        "session_size": DEFAULT_BATCH_SIZE,
        "per_round": per_round,
    }
    return figures, settings


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures and optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="floor/figure rounds")
    parser.add_argument(
        "--cur-files",
        type=int,
        nargs="+",
        default=[0, 10_000],
        metavar="N",
        help="messages already in cur/, one measurement per value (default: 0 10000)",
    )
    parser.add_argument(
        "--dir", type=Path, help="where to create the Maildirs (default: the temporary directory)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.rounds < 1 or min(args.cur_files) < 0:
        parser.error("--messages and --rounds must be at least 1, --cur-files at least 0")

    figures, settings = measure(args.messages, args.rounds, args.cur_files, args.dir)
    for figure in figures:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "maildir",
            machine(),
            [figure.as_dict() for figure in figures],
            settings=settings,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
