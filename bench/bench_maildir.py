"""Benchmark `MaildirTransport` deliveries against the bare Maildir protocol, in the same run.

    .venv/bin/python bench/bench_maildir.py [--messages N] [--rounds R] [--cur-files N ...]
                                            [--dir PATH] [--json PATH]

- Floor: the delivery protocol with plain `os` calls, in groups of 10 messages
  (``DEFAULT_SENT_MARKS_PER_COMMIT``, as the sender flushes): open
  ``tmp/<name>``, write, close for each; ``syncfs`` (where the system has it,
  else an fsync per file); link each into ``new/``; ``syncfs`` (else fsync
  ``new/``, its descriptor opened once); unlink the temporary files. No
  existence check, no hashing of the Message-ID: the least any Maildir
  delivery that is durable by groups does.
- Figure: `MaildirTransport` delivering N pre-composed license e-mails
  (`compose_license_mail`, fresh Message-IDs each round), in sessions of
  ``DEFAULT_BATCH_SIZE`` (50) messages as `OutboxSender` opens them, flushed
  every 10, into a Maildir whose ``cur/`` already holds ``--cur-files``
  messages (what a mail client leaves behind: ``keysvc.<hash>:2,S``),
  untouched by anyone else during the measurement and for a few seconds before.
- For comparison: the bare protocol made durable per message (fsync each file,
  fsync ``new/`` after each link), as the transport did before it grouped.

Both write into a temporary directory under ``--dir`` (default: the system's
temporary directory; it must be a real disk file system, as syncing is what
the protocol costs). Rounds alternate floor, figure and comparison. Reported per ``cur/``
size, each as the median of the rounds: deliveries per second of figure and
floor with the median per-round ratio; CPU time per message (user + system,
`resource.getrusage`); and its user-mode part. User-mode CPU is the Python
work, which holds the GIL the server's other threads need; system time
includes the file system's work in syncing (GIL released), and the wall time is
mostly waiting for it. On a machine shared with other jobs the system time
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench_mail import compose, license_key
from common import Figure, machine, median, write_json

from keysvc.mail import ComposedMail, MaildirTransport, maildir_file_name
from keysvc.mail.file_system_sync import sync_file_system
from keysvc.mail.outbox import DEFAULT_BATCH_SIZE, DEFAULT_SENT_MARKS_PER_COMMIT

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


def deliver_bare(
    root: Path, messages: Sequence[tuple[str, bytes]], syncfs: Callable[[int], None] | None
) -> Cost:
    """Delivers ``(name, data)`` pairs with plain os calls, in groups as the sender flushes
    them: each group written to tmp/, made durable (``syncfs``, else an fsync per file),
    linked into new/, new/ made durable; returns what that took."""
    tmp, new = os.path.join(root, "tmp"), os.path.join(root, "new")
    new_descriptor = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    try:
        start = Cost.now()
        for first in range(0, len(messages), DEFAULT_SENT_MARKS_PER_COMMIT):
            group = messages[first : first + DEFAULT_SENT_MARKS_PER_COMMIT]
            for name, data in group:
                descriptor = os.open(
                    os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
                )
                try:
                    os.write(descriptor, data)
                    if syncfs is None:
                        os.fsync(descriptor)
                finally:
                    os.close(descriptor)
            if syncfs is not None:
                syncfs(new_descriptor)
            for name, _ in group:
                os.link(os.path.join(tmp, name), os.path.join(new, name))
            if syncfs is not None:
                syncfs(new_descriptor)
            else:
                os.fsync(new_descriptor)
            for name, _ in group:
                os.unlink(os.path.join(tmp, name))
        return Cost.now() - start
    finally:
        os.close(new_descriptor)


def deliver_one_by_one(root: Path, messages: Sequence[tuple[str, bytes]]) -> Cost:
    """The protocol made durable per message (what MaildirTransport did until 2026-12-06):
    write to tmp/, fsync, link into new/, fsync new/, unlink; returns what that took."""
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
    """Delivers ``messages`` in sessions of a batch each, flushed every group of SENT
    marks, as the sender does; returns the cost."""
    start = Cost.now()
    for first in range(0, len(messages), DEFAULT_BATCH_SIZE):
        with transport.session() as session:
            batch = messages[first : first + DEFAULT_BATCH_SIZE]
            for index, mail in enumerate(batch, start=1):
                session.deliver(mail)
                if index % DEFAULT_SENT_MARKS_PER_COMMIT == 0 or index == len(batch):
                    session.flush()
    return Cost.now() - start


# --- the figures ----------------------------------------------------------------------

FLOOR: Final = (
    "bare protocol with os calls, groups of 10 (write tmp, sync, link, sync new/, unlink)"
)


def summarise(
    cur_size: int, messages: int, costs: Sequence[Cost], floor_costs: Sequence[Cost]
) -> list[Figure]:
    """Rate, CPU and user-mode CPU per message: medians of the rounds, against the floor's."""
    where = f"cur/ with {cur_size:,} files"
    return [
        rate_figure(f"MaildirTransport deliveries, {where}", messages, costs, floor_costs),
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


def one_by_one_figure(
    cur_size: int, messages: int, costs: Sequence[Cost], floor_costs: Sequence[Cost]
) -> Figure:
    """For comparison: the bare protocol made durable per message, against the floor."""
    name = f"bare protocol durable per message (fsync file, fsync new/), cur/ {cur_size:,}"
    return rate_figure(name, messages, costs, floor_costs)


def rate_figure(
    name: str, messages: int, costs: Sequence[Cost], floor_costs: Sequence[Cost]
) -> Figure:
    """Messages a second: the median of the rounds, and of each round's ratio to the floor's."""
    rates = [messages / cost.wall for cost in costs]
    floor_rates = [messages / cost.wall for cost in floor_costs]
    return Figure(
        name=name,
        value=median(rates),
        unit="msg/s",
        floor=FLOOR,
        floor_value=median(floor_rates),
        ratio=median(rate / floor for rate, floor in zip(rates, floor_rates, strict=True)),
    )


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
                sync_file_system,
            )
            floor_costs: list[Cost] = []
            costs: list[Cost] = []
            one_by_one_costs: list[Cost] = []
            for round_number in range(rounds):
                # Composed before the clock starts: the figure times delivery only.
                mails = batch(f"c{cur_size}r{round_number:02d}n", messages)
                bare = [
                    (maildir_file_name(mail.message_id), mail.message.replace(b"\r\n", b"\n"))
                    for mail in mails
                ]
                floor_costs.append(deliver_bare(floor_root, bare, sync_file_system))
                costs.append(deliver_with_transport(transport, mails))
                one_by_one_costs.append(
                    deliver_one_by_one(floor_root, [(f"1by1.{name}", data) for name, data in bare])
                )
                print(
                    f"  cur/ {cur_size:,} files, round {round_number + 1}/{rounds}: "
                    f"floor {floor_costs[-1].line(messages)}; "
                    f"MaildirTransport {costs[-1].line(messages)}; "
                    f"one by one {one_by_one_costs[-1].line(messages)}",
                    file=sys.stderr,
                )
            figures.extend(summarise(cur_size, messages, costs, floor_costs))
            figures.append(one_by_one_figure(cur_size, messages, one_by_one_costs, floor_costs))
            per_round[f"cur_{cur_size}"] = {
                "floor": [cost.per_message(messages) for cost in floor_costs],
                "figure": [cost.per_message(messages) for cost in costs],
                "one_by_one": [cost.per_message(messages) for cost in one_by_one_costs],
            }
    settings: dict[str, object] = {
        "messages_per_round": messages,
        "rounds": rounds,
        "cur_files": list(cur_sizes),
        "message_bytes": message_bytes,
        "session_size": DEFAULT_BATCH_SIZE,
        "flush_every": DEFAULT_SENT_MARKS_PER_COMMIT,
        "syncfs": sync_file_system is not None,
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
