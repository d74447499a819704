"""Benchmark the morning after the year-end closure: 100,000 due requests released (B2).

    .venv/bin/python bench/bench_release.py [--requests N] [--runs R]
                                            [--postgres ADMIN_URL] [--json PATH]

A migrated database (SQLite in a data folder, or a scratch PostgreSQL database
``keysvc_bench_<hex>``) gets an active signing key and N contracts, each with a
PENDING key request accepted six days ago, during a closure that lasts until
today (given to the server as its ``KEYSVC_CALENDAR_FILE``), and scheduled as
the server's calendar schedules it: due on the next business day, at its
opening. They are loaded with SQLAlchemy Core in chunks. A real ``keysvc
serve`` is started on it (its first start on the database checks every waiting
request against its calendar, and moves none); the requests are not due yet
by its clock, so its release loop leaves them alone. Then one
``ReleaseDue(as_of=that opening)`` call over gRPC releases them all —
signing, storing, superseding nothing, queueing N e-mails — batch by batch.
The server's mail sender runs meanwhile, as in production.

- Figure: requests released per second by that call (N / its duration), and
  the server process's peak RSS (VmHWM) afterwards. All of it is done
  ``--runs`` times (default 3) on a fresh database, the databases taking turns:
  the figure is the median duration, with every run's printed (on this shared
  machine one run may take a quarter longer than the next), and the largest
  peak RSS.
- Floor: bare Ed25519 signing of a license-sized payload with `cryptography`,
  in this process, in the same run: the one cost a release cannot avoid.

Goals: N = 100,000 within 20 s on SQLite, 40 s on PostgreSQL (5,000/s and
2,500/s); peak RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import grpc
from bench_startup import clean_environment, migrated, scratch_postgres_database
from common import Figure, Goal, machine, write_json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.timestamp_pb2 import Timestamp
from keysvc_process import PASSPHRASE, create_token, keysvc_serve
from sqlalchemy import func, insert, select

from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.schema import contracts, key_requests, support_periods
from keysvc.service.signing_keys import SigningKeys
from keysvc.v1 import admin_service_pb2, admin_service_pb2_grpc
from scheduler.calendar import JST, BusinessCalendar, Closure
from scheduler.clock import SystemClock
from signing import fingerprint_hash

CHUNK: Final = 10_000
RSS_GOAL: Final = Goal("value", "<=", 300.0)
SECONDS_GOAL: Final = {"SQLite": 20.0, "PostgreSQL": 40.0}


def signing_floor(seconds: float = 2.0) -> float:
    """Bare Ed25519 signatures per second over a license-sized signing input."""
    key = Ed25519PrivateKey.generate()
    payload = b"e" * 330  # header.payload of a license key, about this long
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(500):
            key.sign(payload)
        count += 500
    return count / elapsed


def seed(url: str, count: int, accepted: datetime, due: datetime) -> float:
    """Loads `count` contracts with one PENDING request each, due at `due`; returns seconds."""
    engine = create_database_engine(url)
    started = time.perf_counter()
    try:
        SigningKeys(engine, PASSPHRASE.encode(), SystemClock()).ensure_active_key()
        fph = fingerprint_hash("fp1:benchmark-server")
        for first in range(0, count, CHUNK):
            numbers = [f"SS-2026-{index:06d}" for index in range(first, min(first + CHUNK, count))]
            with engine.begin() as connection:
                connection.execute(
                    insert(contracts),
                    [
                        {
                            "contract_number": number,
                            "product_code": "neo-backup",
                            "customer_name": "株式会社ベンチマーク",
                            "contact_email": "it@example.co.jp",
                            "seats": 25,
                            "purchase_date": date(2026, 11, 2),
                            "accept_date": date(2026, 11, 2),
                            "created_at": accepted,
                        }
                        for number in numbers
                    ],
                )
                connection.execute(
                    insert(support_periods),
                    [
                        {
                            "contract_number": number,
                            "start_date": date(2026, 12, 1),
                            "end_date": date(2027, 11, 30),
                            "kind": "INITIAL",
                            "accept_date": date(2026, 11, 2),
                            "created_at": accepted,
                        }
                        for number in numbers
                    ],
                )
                connection.execute(
                    insert(key_requests),
                    [
                        {
                            "id": f"kr_bench{number[-6:]}",
                            "contract_number": number,
                            "kind": "INITIAL",
                            "state": "PENDING",
                            "fingerprint_hash": fph,
                            "contact_email": "it@example.co.jp",
                            "accepted_at": accepted,
                            "due_date": due.astimezone(JST).date(),
                            "release_at": due,
                        }
                        for number in numbers
                    ],
                )
    finally:
        engine.dispose()
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmHWM for process {pid}")


def released_count(url: str) -> int:
    """How many requests are RELEASED."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).where(key_requests.c.state == "RELEASED")
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def closure_until_today(accepted: datetime, now: datetime) -> Closure:
    """A company closure from the acceptance day to today (JST), like the year-end one:
    the requests accepted during it are due on the next business day."""
    return Closure(accepted.astimezone(JST).date(), now.astimezone(JST).date(), "ベンチマーク休業")


@dataclass(frozen=True)
class Run:
    """One ReleaseDue of the requests on a fresh database."""

    seconds: float
    signing_floor: float
    peak_rss_mb: float


def measure(name: str, url: str, data_dir: Path, env: dict[str, str], count: int) -> Run:
    """Seeds, starts the server, times one ReleaseDue."""
    now = datetime.now(UTC)
    accepted = now - timedelta(days=6)
    # The requests' schedule is the server's own (its calendar file closes every day
    # since they were accepted), so its start has nothing to reschedule and its loop
    # finds nothing due before the next business day's opening.
    closure = closure_until_today(accepted, now)
    calendar_file = data_dir.parent / f"{name}-calendar.toml"
    calendar_file.write_text(
        f'[[closures]]\nstart = {closure.start}\nend = {closure.end}\nlabel = "{closure.label}"\n',
        encoding="utf-8",
    )
    env = env | {"KEYSVC_CALENDAR_FILE": str(calendar_file)}
    schedule = BusinessCalendar([closure]).schedule(accepted)
    due = schedule.release_time
    seconds_to_seed = seed(url, count, accepted, due)
    print(
        f"{name}: loaded {count:,} requests due {due.astimezone(JST):%Y-%m-%d %H:%M} JST "
        f"in {seconds_to_seed:.1f} s",
        flush=True,
    )
    floor = signing_floor()
    with keysvc_serve(data_dir, env, data_dir.parent / f"{name}.log") as (pid, address):
        token = create_token(data_dir, env, "admin")
        as_of = Timestamp()
        as_of.FromDatetime(due)
        sampling = True
        samples: list[float] = []

        def sample_rss() -> None:
            while sampling:
                samples.append(peak_rss_mb(pid))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        with grpc.insecure_channel(address) as channel:
            stub = admin_service_pb2_grpc.AdminServiceStub(channel)
            started = time.perf_counter()
            answer = stub.ReleaseDue(
                admin_service_pb2.ReleaseDueRequest(as_of=as_of),
                timeout=600,
                metadata=(("authorization", f"Bearer {token}"),),
            )
            elapsed = time.perf_counter() - started
        sampling = False
        sampler.join()
        peak = peak_rss_mb(pid)
    released = released_count(url)
    if released != count:
        raise RuntimeError(f"{name}: {released:,} of {count:,} released")
    print(
        f"{name}: ReleaseDue released {answer.released_count:,} in {elapsed:.1f} s "
        f"(the loop took the rest: {count - answer.released_count:,})",
        flush=True,
    )
    return Run(elapsed, floor, peak)


def figures_of(name: str, count: int, runs: list[Run]) -> list[Figure]:
    """B2's figures from the runs on one database: the median duration, with the
    median signing floor, and the largest peak RSS."""
    seconds = statistics.median(run.seconds for run in runs)
    spread = ", ".join(f"{run.seconds:.1f}" for run in runs)
    return [
        Figure(
            f"B2 {name}: {count:,} due requests released by ReleaseDue in {seconds:.1f} s "
            f"(median of {len(runs)} runs: {spread} s)",
            count / seconds,
            "requests/s",
            floor="bare Ed25519 signing (cryptography), this process",
            floor_value=statistics.median(run.signing_floor for run in runs),
            # 100,000 within the goal's seconds, whatever N this run used.
            goal=Goal("value", ">=", 100_000 / SECONDS_GOAL[name]),
        ),
        Figure(
            f"B2 {name}: keysvc serve peak RSS",
            max(run.peak_rss_mb for run in runs),
            "MB",
            goal=RSS_GOAL,
            higher_is_better=False,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Runs B2 on SQLite (and PostgreSQL); prints the figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="due requests (100,000)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also on PostgreSQL")
    parser.add_argument("--runs", type=int, default=3, help="runs on each database (3)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = clean_environment(KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE)
    sqlite_runs: list[Run] = []
    postgres_runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="keysvc-bench-release-") as folder:
        # Alternating the databases run by run, so a spell of load from elsewhere
        # falls on both.
        for index in range(args.runs):
            data = Path(folder) / f"data-sqlite-{index}"
            data.mkdir(mode=0o700)
            url = migrated(sqlite_url_for(data))
            sqlite_runs.append(measure("SQLite", url, data, env, args.requests))
            if args.postgres:
                with scratch_postgres_database(args.postgres) as scratch:
                    url = migrated(scratch)
                    data = Path(folder) / f"data-postgres-{index}"
                    data.mkdir()
                    postgres_env = env | {"KEYSVC_DATABASE_URL": url}
                    postgres_runs.append(
                        measure("PostgreSQL", url, data, postgres_env, args.requests)
                    )
    figures = figures_of("SQLite", args.requests, sqlite_runs)
    if postgres_runs:
        figures += figures_of("PostgreSQL", args.requests, postgres_runs)
    for figure in figures:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "B2 release after the closure",
            machine(["sqlalchemy", "grpcio", "cryptography", "psycopg"]),
            [figure.as_dict() for figure in figures],
            requests=args.requests,
            runs={
                name: [asdict(run) for run in runs]
                for name, runs in (("SQLite", sqlite_runs), ("PostgreSQL", postgres_runs))
                if runs
            },
        )
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
