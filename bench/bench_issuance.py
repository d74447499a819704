"""Benchmark same-day issuance over gRPC against an empty RPC on the same server (B1).

    .venv/bin/python bench/bench_issuance.py [--calls N] [--rounds R] [--in-flight C]
                                             [--postgres ADMIN_URL] [--json PATH]

A real ``keysvc serve`` runs on a migrated database holding enough contracts,
on a clock set to Friday 2026-11-20 10:00 JST and ticking on, through the
end-to-end tests' test-only launcher (``python -m tests.e2e.clocked_keysvc``):
every request is accepted before the cutoff on a business day, so
SubmitKeyRequest signs the key, stores the license and queues the e-mail in
its own transaction and answers RELEASED. The server's mail sender runs as in
production.

A grpc.aio client in this process keeps C calls in flight (16) and, in
alternating rounds of N calls:

- Floor: ``grpc.health.v1.Health/Check`` on the same server — the same
  process, port, interceptor and event loop, and no work.
- Figure: ``SubmitKeyRequest`` (INITIAL, a contract of its own each, a site
  token, a fresh ``request_id`` as `keysvc.client` sends), every answer checked
  to be RELEASED with a key.

Goals: throughput ≥ 50 % of the floor's; p99 latency ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import grpc
from bench_startup import clean_environment, migrated, scratch_postgres_database
from common import Figure, Goal, machine, median, write_json
from grpc_health.v1 import health_pb2, health_pb2_grpc
from keysvc_process import PASSPHRASE, create_token, keysvc_serve
from sqlalchemy import insert

from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.schema import contracts, support_periods
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc, resources_pb2

# Friday, 10:00 in Tokyo: a business day, seven hours before the cutoff.
CLOCK: Final = "2026-11-20T10:00:00+09:00 ticking"
THROUGHPUT_GOAL: Final = Goal("ratio", ">=", 0.50)
LATENCY_GOAL: Final = Goal("value", "<=", 20.0)
CHUNK: Final = 10_000


def seed_contracts(url: str, count: int) -> list[str]:
    """`count` neo-backup contracts without a key yet; returns their numbers."""
    engine = create_database_engine(url)
    created = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    numbers = [f"SS-2026-{index:06d}" for index in range(1, count + 1)]
    try:
        for first in range(0, count, CHUNK):
            chunk = numbers[first : first + CHUNK]
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
                            "created_at": created,
                        }
                        for number in chunk
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
                            "created_at": created,
                        }
                        for number in chunk
                    ],
                )
    finally:
        engine.dispose()
    return numbers


@contextmanager
def clocked_server(data_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """`keysvc serve` on the set clock, on a free port; yields its address; stops it."""
    clock_file = data_dir.parent / "clock"
    clock_file.write_text(CLOCK)
    launcher = (sys.executable, "-m", "tests.e2e.clocked_keysvc", str(clock_file))
    with keysvc_serve(data_dir, env, data_dir.parent / "server.log", launcher) as (_, address):
        yield address


async def run_round(
    call: Callable[[int], Awaitable[None]], calls: int, in_flight: int
) -> tuple[float, list[float]]:
    """`calls` calls with `in_flight` at a time; returns calls/s and each latency (ms)."""
    latencies: list[float] = []
    next_index = iter(range(calls))

    async def worker() -> None:
        for index in next_index:
            started = time.perf_counter()
            await call(index)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return calls / (time.perf_counter() - started), latencies


def p99(latencies: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(latencies)
    return ordered[max(0, round(0.99 * len(ordered)) - 1)]


async def measure_backend(
    address: str, token: str, numbers: list[str], *, calls: int, rounds: int, in_flight: int
) -> tuple[list[float], list[float], list[float]]:
    """Alternates floor and figure rounds; returns floor rates, figure rates, latencies."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        license_stub = license_service_pb2_grpc.LicenseServiceStub(channel)
        contracts_left = iter(numbers)

        async def empty(index: int) -> None:
            await health.Check(health_pb2.HealthCheckRequest(), timeout=10)  # type: ignore[attr-defined]

        async def issue(index: int) -> None:
            number = next(contracts_left)
            answer = await license_stub.SubmitKeyRequest(
                license_service_pb2.SubmitKeyRequestRequest(
                    # As keysvc.client sends it: one per call, reused by its retries.
                    request_id=uuid.uuid4().hex,
                    contract_number=number,
                    kind=resources_pb2.KEY_REQUEST_KIND_INITIAL,
                    fingerprint=f"fp1:bench-server-{number}",
                ),
                timeout=10,
                metadata=metadata,
            )
            if answer.state != resources_pb2.KEY_REQUEST_STATE_RELEASED or not answer.license_key:
                raise RuntimeError(f"{number}: not released at once: {answer}")

        await run_round(empty, min(calls, 500), in_flight)  # warm-up
        await run_round(issue, min(calls, 200), in_flight)
        floors, figures, latencies = [], [], []
        for _ in range(rounds):
            rate, _ = await run_round(empty, calls, in_flight)
            floors.append(rate)
            rate, seen = await run_round(issue, calls, in_flight)
            figures.append(rate)
            latencies += seen
    return floors, figures, latencies


def measure(
    name: str, url: str, data_dir: Path, env: dict[str, str], args: argparse.Namespace
) -> list[Figure]:
    """Seeds contracts, starts the clocked server, runs the rounds; returns the figures."""
    numbers = seed_contracts(url, args.calls * args.rounds + min(args.calls, 200))
    with clocked_server(data_dir, env) as address:
        token = create_token(data_dir, env, "site")
        floors, rates, latencies = asyncio.run(
            measure_backend(
                address,
                token,
                numbers,
                calls=args.calls,
                rounds=args.rounds,
                in_flight=args.in_flight,
            )
        )
    ratios = [rate / floor for rate, floor in zip(rates, floors, strict=True)]
    return [
        Figure(
            f"B1 {name}: same-day SubmitKeyRequest, released at once, {args.in_flight} in flight",
            median(rates),
            "calls/s",
            floor="Health/Check on the same server, same client",
            floor_value=median(floors),
            ratio=median(ratios),
            goal=THROUGHPUT_GOAL,
        ),
        Figure(
            f"B1 {name}: SubmitKeyRequest p99 latency",
            p99(latencies),
            "ms",
            goal=LATENCY_GOAL,
            higher_is_better=False,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Runs B1 on SQLite (and PostgreSQL); prints the figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (3)")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent calls (16)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also on PostgreSQL")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="keysvc-bench-issuance-") as folder:
        data = Path(folder) / "sqlite" / "data"
        data.mkdir(parents=True)
        os.chmod(data, 0o700)
        env = clean_environment(KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE)
        figures += measure("SQLite", migrated(sqlite_url_for(data)), data, env, args)
        if args.postgres:
            with scratch_postgres_database(args.postgres) as scratch:
                url = migrated(scratch)
                data = Path(folder) / "postgres" / "data"
                data.mkdir(parents=True)
                env = clean_environment(
                    KEYSVC_DATABASE_URL=url, KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE
                )
                figures += measure("PostgreSQL", url, data, env, args)
    for figure in figures:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "B1 same-day issuance",
            machine(["grpcio", "sqlalchemy", "cryptography", "psycopg"]),
            [figure.as_dict() for figure in figures],
            calls=args.calls,
            rounds=args.rounds,
            in_flight=args.in_flight,
        )
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
