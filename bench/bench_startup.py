"""Benchmark `keysvc serve` start-up to SERVING and its idle footprint, against a bare server (B6).

    .venv/bin/python bench/bench_startup.py [--rounds R] [--idle SECONDS] [--json PATH]
                                            [--postgres ADMIN_URL]

A data folder is made once by a first `keysvc serve` (schema, development
signing key), stopped when it answers SERVING. Then, in rounds:

- Floor: a bare `grpc.aio` server with only the health service, started with
  the same Python (``python -c ...``), to SERVING: the interpreter, grpc and
  protobuf imports and a listening port, which keysvc cannot do without.
- Figure: ``keysvc serve --data-dir D --listen 127.0.0.1:<free port>`` (the
  installed console script) to SERVING for ``keysvc.v1.LicenseService``.

Each start is timed from just before the process is spawned until the gRPC
health check answers SERVING (the port is polled every 5 ms, then the check is
called). After ``--idle`` seconds (default 2) the process's VmRSS is read from
/proc/<pid>/status; then SIGTERM, and the time to exit is noted. With
``--postgres`` a third start per round uses a migrated PostgreSQL database
(``KEYSVC_DATABASE_URL``; ``keysvc_bench_<hex>``, created and dropped here).

Goals: start-up ≤ 2 s (median and slowest); idle RSS ≤ 120 MB (MB = 10^6 bytes).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import grpc
from common import Figure, Goal, free_port, machine, median, write_json
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from keysvc.persistence.database import create_database_engine
from keysvc.persistence.schema_migrations import upgrade_database

HOST: Final = "127.0.0.1"
KEYSVC: Final = Path(sys.executable).with_name("keysvc")
LICENSE_SERVICE: Final = "keysvc.v1.LicenseService"
START_TIMEOUT: Final = 60.0
POLL_INTERVAL: Final = 0.005
STARTUP_GOAL: Final = Goal("value", "<=", 2.0)
RSS_GOAL: Final = Goal("value", "<=", 120.0)
PASSPHRASE: Final = "keysvc benchmark passphrase, not a secret"  # noqa: S105

# The floor: the least a Python gRPC server with a health check does to start.
BARE_SERVER: Final = """
import asyncio, signal, sys
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

async def main():
    server = grpc.aio.server()
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    server.add_insecure_port(sys.argv[1])
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(1)

asyncio.run(main())
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One start: seconds to SERVING, idle and peak RSS in MB, seconds to exit after SIGTERM."""

    startup: float
    rss_mb: float
    peak_rss_mb: float
    stop: float


@dataclass(frozen=True, slots=True)
class Subject:
    """Something to start: a name, how to start it, the health service to ask."""

    name: str
    command: Sequence[str]
    service: str
    env: Mapping[str, str]


def clean_environment(**overrides: str) -> dict[str, str]:
    """This environment without any KEYSVC_* variable, plus ``overrides``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("KEYSVC_")}
    return env | overrides


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of the process in MB (10^6 bytes), from /proc/<pid>/status."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024 / 1e6
    return values["VmRSS"], values["VmHWM"]


def wait_until_serving(
    process: subprocess.Popen[bytes], port: int, service: str, log: Path
) -> None:
    """Polls the port, then the health check, until SERVING; raises if the process dies."""
    deadline = time.monotonic() + START_TIMEOUT
    request = health_pb2.HealthCheckRequest(service=service)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not SERVING after {START_TIMEOUT} s:\n{tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                pass
        except OSError:
            time.sleep(POLL_INTERVAL)
            continue
        with grpc.insecure_channel(f"{HOST}:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = stub.Check(request, timeout=2)  # type: ignore[attr-defined]
            except grpc.RpcError:
                reply = None
        if reply is not None and reply.status == health_pb2.HealthCheckResponse.SERVING:
            return
        time.sleep(POLL_INTERVAL)


def tail(log: Path, lines: int = 20) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_once(subject: Subject, idle: float, log: Path) -> Run:
    """Starts ``subject``, times it to SERVING, reads its idle RSS, stops it."""
    port = free_port(HOST)
    command = [arg.replace("{address}", f"{HOST}:{port}") for arg in subject.command]
    with log.open("wb") as log_file:
        start = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and console script
            command,
            env=dict(subject.env),
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            wait_until_serving(process, port, subject.service, log)
            startup = time.perf_counter() - start
            time.sleep(idle)
            rss, peak = rss_mb(process.pid)
            stopping = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            stop = time.perf_counter() - stopping
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"{subject.name} exited with {process.returncode}:\n{tail(log)}")
    return Run(startup, rss, peak, stop)


@contextlib.contextmanager
def scratch_postgres_database(admin_url: str) -> Iterator[str]:
    """Creates database ``keysvc_bench_<hex>`` through ``admin_url``; yields its URL; drops it."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"keysvc_bench_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def migrated(url: str) -> str:
    """Migrates the database at ``url`` (as ``keysvc db upgrade`` would); returns the URL."""
    engine = create_database_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return url


def keysvc_subject(name: str, data_dir: Path, env: Mapping[str, str]) -> Subject:
    """`keysvc serve` on a data folder, listening on the port the run picks."""
    command = [str(KEYSVC), "serve", "--data-dir", str(data_dir), "--listen", "{address}"]
    # No load balancer to drain for: the stop is timed without the shutdown's drain.
    return Subject(name, command, LICENSE_SERVICE, {**env, "KEYSVC_SHUTDOWN_DRAIN_SECONDS": "0"})


def measure(
    rounds: int, idle: float, postgres_admin_url: str | None, directory: Path
) -> tuple[list[Figure], dict[str, object]]:
    """Makes the data folders, then alternates floor and keysvc starts; returns the figures."""
    floor = Subject(
        "bare grpc.aio server with the health service",
        [sys.executable, "-c", BARE_SERVER, "{address}"],
        "",
        clean_environment(),
    )
    with contextlib.ExitStack() as stack:
        subjects = [keysvc_subject("SQLite", directory / "data-sqlite", clean_environment())]
        if postgres_admin_url is not None:
            url = migrated(stack.enter_context(scratch_postgres_database(postgres_admin_url)))
            env = clean_environment(
                KEYSVC_DATABASE_URL=url, KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE
            )
            subjects.append(keysvc_subject("PostgreSQL", directory / "data-postgres", env))
        # The first start makes the data folder (and the signing key): not one of the rounds.
        first_starts = {}
        for index, subject in enumerate(subjects):
            run = start_once(subject, 0.0, directory / f"first-{index}.log")
            first_starts[subject.name] = run.startup
            print(f"  first start, {subject.name}: {run.startup:.2f} s", file=sys.stderr)
        # Warm the page cache and this process's grpc before anything is timed.
        start_once(floor, 0.0, directory / "warm.log")

        runs: dict[str, list[Run]] = {subject.name: [] for subject in [floor, *subjects]}
        for number in range(rounds):
            for index, subject in enumerate([floor, *subjects]):
                runs[subject.name].append(
                    start_once(subject, idle, directory / f"round{number}-{index}.log")
                )
            print(
                f"  round {number + 1}/{rounds}: "
                + "; ".join(
                    f"{name} {values[-1].startup:.3f} s, {values[-1].rss_mb:.1f} MB"
                    for name, values in runs.items()
                ),
                file=sys.stderr,
            )
    floor_runs = runs[floor.name]
    figures: list[Figure] = []
    for subject in subjects:
        subject_runs = runs[subject.name]
        label = f"keysvc serve, {subject.name}"
        for statistic, pick in (("median", median), ("slowest", max)):
            figures.append(
                Figure(
                    name=f"{label}: start-up to SERVING, {statistic}",
                    value=pick(run.startup for run in subject_runs),
                    unit="s",
                    floor=floor.name,
                    floor_value=pick(run.startup for run in floor_runs),
                    goal=STARTUP_GOAL,
                    higher_is_better=False,
                )
            )
        for statistic, pick in (("median", median), ("largest", max)):
            figures.append(
                Figure(
                    name=f"{label}: idle RSS after {idle:g} s, {statistic}",
                    value=pick(run.rss_mb for run in subject_runs),
                    unit="MB",
                    floor=floor.name,
                    floor_value=pick(run.rss_mb for run in floor_runs),
                    goal=RSS_GOAL,
                    higher_is_better=False,
                )
            )
    settings: dict[str, object] = {
        "rounds": rounds,
        "idle_seconds": idle,
        "first_start_s": {name: round(value, 3) for name, value in first_starts.items()},
        "per_round": {
            name: [
                {
                    "startup_s": round(run.startup, 3),
                    "rss_mb": round(run.rss_mb, 1),
                    "peak_rss_mb": round(run.peak_rss_mb, 1),
                    "stop_s": round(run.stop, 3),
                }
                for run in values
            ]
            for name, values in runs.items()
        },
    }
    return figures, settings


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures and optionally write JSON; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="floor/keysvc rounds")
    parser.add_argument(
        "--idle", type=float, default=2.0, help="seconds after SERVING before reading RSS"
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="also with PostgreSQL: creates and drops a database keysvc_bench_<hex> through "
        "this URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.idle < 0:
        parser.error("--rounds must be at least 1 and --idle not negative")
    if not KEYSVC.exists():
        parser.error(f"{KEYSVC} not found: run `make setup` first")

    # Warm this process's grpc (its first channel) so that it does not count in the first start.
    grpc.insecure_channel(f"{HOST}:9").close()
    with tempfile.TemporaryDirectory(prefix="keysvc-bench-startup-") as directory:
        figures, settings = measure(args.rounds, args.idle, args.postgres, Path(directory))
    for figure in figures:
        print(figure.line())
    if args.json:
        packages = ("grpcio", "protobuf", "sqlalchemy", "alembic", "cryptography", "psycopg")
        write_json(
            args.json,
            "startup",
            machine(packages),
            [figure.as_dict() for figure in figures],
            settings=settings,
        )
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
