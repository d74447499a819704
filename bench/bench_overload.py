"""Benchmark overload: the calls admitted stay fast, the others are refused at once (#17).

    .venv/bin/python bench/bench_overload.py [--seconds S] [--runs R] [--levels 16,200,2000]
                                             [--limit N] [--json PATH]

A real ``keysvc serve`` on SQLite, with its default settings (the limit of calls
in flight among them, unless ``--limit`` sets KEYSVC_MAX_CALLS_IN_FLIGHT) and its
metrics endpoint on, runs on a clock set to a business morning through the
end-to-end tests' launcher, as in B1: every ``SubmitKeyRequest`` signs its key
and answers RELEASED at once.

Each *client* of a grpc.aio client in this process loops for S seconds (5):
``SubmitKeyRequest`` for a contract of its own, then ``GetKeyRequest`` of the
answer (a read). A refused call (RESOURCE_EXHAUSTED) is retried as
`keysvc.client` does: after the RetryInfo delay plus the default policy's
jittered backoff, the same request_id, four attempts at most, then counted as
given up. One more client asks the health check every 50 ms.

Three clocks tell where an admitted call's time goes, in the same run:

- the client's: from the call to its answer, as a caller sees it;
- the server's: from admission to answer, ``keysvc_grpc_admitted_seconds``,
  read from the server's metrics endpoint before and after each level (its
  p99 interpolated within the histogram's buckets, as Prometheus'
  ``histogram_quantile`` does). What the client's adds to it is spent before
  admission (gRPC's queues, the server's event loop reaching the call), on the
  wire, or in the load generator;
- the load generator's own event-loop lag: a task that sleeps 5 ms over and
  over, and counts how late it wakes. Every answer reaches its client that
  much later.

Beside them, the CPU each process used over the level, in CPUs (CPU seconds
over wall seconds, from /proc): the server's Python runs one thread at a time,
so a server near 1 CPU is about saturated, whatever the machine's CPUs.

- Floor: the same with 1 client — the unloaded p99.
- Figures, at 16, 200 and 2,000 clients: the p99 of the calls admitted
  (SubmitKeyRequest and GetKeyRequest apart), against the floor's, by the
  client's clock and by the server's; the load generator's lag; the CPUs
  used by the server and by the load generator; the share of attempts
  refused; calls given up; any other failure by status code; the health
  check's p99.
- Memory: the server's RSS after each of R runs (5) of all levels, to show it
  reaches a plateau.

The load generator shares the machine's CPUs with the server, and its event
loop's delays are in every latency the clients measure: its lag figure says
how much. Compare the figures of one run with each other.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import grpc
from bench_issuance import CLOCK, p99, seed_contracts
from bench_startup import clean_environment, migrated, rss_mb
from common import Figure, free_port, machine, median, write_json
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from keysvc_process import PASSPHRASE, create_token, keysvc_serve
from prometheus_client.parser import text_string_to_metric_families

from keysvc.client import RetryPolicy
from keysvc.persistence.database import sqlite_url_for
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc, resources_pb2

# What `keysvc.client` does by default (RetryPolicy()), reproduced in the load generator.
CLIENT_POLICY: Final = RetryPolicy()
HEALTH_EVERY: Final = 0.05
# The load generator's lag probe: how late a sleep of this long wakes.
LAG_EVERY: Final = 0.005
ADMITTED: Final = "keysvc_grpc_admitted_seconds"
SERVICE: Final = "keysvc.v1.LicenseService"
# SubmitKeyRequest admitted per second, at most, on the machines measured so far, and room.
CONTRACTS_PER_SECOND: Final = 1_500


@dataclass
class Level:
    """What the clients of one level saw."""

    clients: int
    submit_ms: list[float] = field(default_factory=list)
    # The admitted SubmitKeyRequests that began after the level's first second, when
    # its clients, all started at once, have spread out.
    later_submit_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    # How late the load generator's lag probe woke, each time.
    lag_ms: list[float] = field(default_factory=list)
    # The server's admitted-call histogram over the level: method -> [(le, count)].
    server: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    # CPUs used over the level: the server's, the load generator's.
    server_cpus: float = 0.0
    generator_cpus: float = 0.0
    attempts: int = 0
    refused: int = 0
    gave_up: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def refused_share(self) -> float:
        """Refused attempts over all attempts."""
        return self.refused / self.attempts if self.attempts else 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def admitted_buckets(metrics_url: str) -> dict[str, list[tuple[float, float]]]:
    """The server's cumulative `keysvc_grpc_admitted_seconds` buckets, per method of ours."""
    with urllib.request.urlopen(metrics_url, timeout=30) as answer:  # noqa: S310 - ours
        text = answer.read().decode("utf-8")
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{ADMITTED}_bucket" and sample.labels["grpc_service"] == SERVICE:
                method = sample.labels["grpc_method"]
                buckets.setdefault(method, []).append((float(sample.labels["le"]), sample.value))
    return {method: sorted(counts) for method, counts in buckets.items()}


def difference(
    after: dict[str, list[tuple[float, float]]], before: dict[str, list[tuple[float, float]]]
) -> dict[str, list[tuple[float, float]]]:
    """The buckets of the calls answered between two scrapes."""
    return {
        method: [(le, count - dict(before.get(method, [])).get(le, 0.0)) for le, count in counts]
        for method, counts in after.items()
    }


def bucket_quantile(buckets: list[tuple[float, float]], share: float) -> float:
    """The `share` quantile of cumulative buckets, in ms, interpolated within its bucket as
    Prometheus' histogram_quantile does (nan without calls)."""
    if not buckets or buckets[-1][1] <= 0:
        return float("nan")
    rank = share * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower * 1000  # beyond the last bound: its lower edge, as Prometheus
            return (lower + (le - lower) * (rank - below) / max(count - below, 1e-9)) * 1000
        lower, below = le, count
    return lower * 1000


def server_p99(level: Level, method: str) -> float:
    """The p99 of the level's admitted calls of `method`, by the server's clock (ms)."""
    return bucket_quantile(level.server.get(method, []), 0.99)


def retry_delay(error: grpc.aio.AioRpcError) -> float:
    """The RetryInfo delay of a refusal, in seconds (0 without one)."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            for detail in status_pb2.Status.FromString(value).details:
                delay = error_details_pb2.RetryInfo()
                if detail.Unpack(delay):  # False for the ErrorInfo
                    return float(delay.retry_delay.ToNanoseconds()) / 1e9
    return 0.0


@dataclass(frozen=True)
class Target:
    """The server under load: its gRPC address, a site token, its metrics endpoint."""

    address: str
    token: str
    metrics_url: str
    pid: int


async def prober(health: health_pb2_grpc.HealthStub, level: Level, deadline: float) -> None:
    """Asks the health check every HEALTH_EVERY until `deadline`; records how long each took."""
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=10)  # type: ignore[attr-defined]
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            level.failures["HEALTH_NOT_SERVING"] += 1
        level.health_ms.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(HEALTH_EVERY)


async def lag_probe(level: Level, deadline: float) -> None:
    """Sleeps LAG_EVERY over and over until `deadline`; records how late each sleep woke."""
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        await asyncio.sleep(LAG_EVERY)
        level.lag_ms.append((time.perf_counter() - started - LAG_EVERY) * 1000)


async def run_level(
    target: Target, contracts: Iterator[str], clients: int, seconds: float
) -> Level:
    """`clients` clients for `seconds`, plus the health prober and the lag probe; returns
    what they saw, and the server's histogram of the calls it admitted meanwhile."""
    level = Level(clients)
    before = await asyncio.to_thread(admitted_buckets, target.metrics_url)
    cpu_before = (cpu_seconds(target.pid), time.process_time(), time.perf_counter())
    metadata = (("authorization", f"Bearer {target.token}"),)
    begun = time.perf_counter()
    deadline = begun + seconds
    rng = random.Random(clients)
    async with grpc.aio.insecure_channel(target.address) as channel:
        stub = license_service_pb2_grpc.LicenseServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)

        async def attempt(call: object, request: object, latencies: list[float]) -> object:
            """One call with keysvc.client's retries of refusals; None when given up or failed."""
            pauses = CLIENT_POLICY.pauses(rng)
            while True:
                level.attempts += 1
                started = time.perf_counter()
                try:
                    answer = await call(request, timeout=10, metadata=metadata)  # type: ignore[operator]
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or not retry_delay(error):
                        method = type(request).__name__.removesuffix("Request")
                        level.failures[f"{method} {error.code().name}"] += 1
                        return None
                    level.refused += 1
                    pause = next(pauses, None)
                    if pause is None:
                        level.gave_up += 1
                        return None
                    await asyncio.sleep(pause + retry_delay(error))
                    continue
                latency = (time.perf_counter() - started) * 1000
                latencies.append(latency)
                if latencies is level.submit_ms and started - begun >= 1:
                    level.later_submit_ms.append(latency)
                return answer

        async def client() -> None:
            while time.perf_counter() < deadline:
                number = next(contracts)
                submit = license_service_pb2.SubmitKeyRequestRequest(
                    request_id=uuid.uuid4().hex,
                    contract_number=number,
                    kind=resources_pb2.KEY_REQUEST_KIND_INITIAL,
                    fingerprint=f"fp1:bench-overload-{number}",
                )
                answer = await attempt(stub.SubmitKeyRequest, submit, level.submit_ms)
                if answer is None:
                    continue
                read = license_service_pb2.GetKeyRequestRequest(id=answer.id)  # type: ignore[attr-defined]
                await attempt(stub.GetKeyRequest, read, level.read_ms)

        await asyncio.gather(
            prober(health, level, deadline),
            lag_probe(level, deadline),
            *(client() for _ in range(clients)),
        )
    wall = time.perf_counter() - cpu_before[2]
    level.server_cpus = (cpu_seconds(target.pid) - cpu_before[0]) / wall
    level.generator_cpus = (time.process_time() - cpu_before[1]) / wall
    # Every call has been answered: the server has observed them all.
    after = await asyncio.to_thread(admitted_buckets, target.metrics_url)
    level.server = difference(after, before)
    return level


async def run_all(
    target: Target, contracts: Iterator[str], pid: int, args: argparse.Namespace
) -> tuple[list[list[Level]], list[float]]:
    """R runs of the floor and every level; returns the levels of each run and the RSS after it."""
    runs: list[list[Level]] = []
    rss: list[float] = []
    await run_level(target, contracts, 16, 2)  # warm-up
    for run in range(1, args.runs + 1):
        levels = [
            await run_level(target, contracts, clients, args.seconds)
            for clients in (1, *args.levels)
        ]
        runs.append(levels)
        rss.append(rss_mb(pid)[0])
        print(f"run {run}: server RSS {rss[-1]:.0f} MB", flush=True)
        for level in levels:
            print("  " + describe(level), flush=True)
    return runs, rss


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


def describe(level: Level) -> str:
    """One line on a level."""
    failures = ", ".join(f"{code} {count}" for code, count in sorted(level.failures.items()))
    return (
        f"{level.clients:>5} clients: Submit p50 {percentile(level.submit_ms, 0.5):.1f} ms, "
        f"p99 {p99(level.submit_ms):.1f} ms (after the first second "
        f"{p99(level.later_submit_ms):.1f} ms) "
        f"({len(level.submit_ms)} admitted), server's p99 "
        f"{server_p99(level, 'SubmitKeyRequest'):.1f} ms, "
        f"Get p99 {p99(level.read_ms):.1f} ms (server's {server_p99(level, 'GetKeyRequest'):.1f}), "
        f"load generator's lag p99 {p99(level.lag_ms):.1f} ms, "
        f"CPUs used: server {level.server_cpus:.2f}, load generator {level.generator_cpus:.2f}, "
        f"refused {level.refused_share:.1%} of {level.attempts} attempts, "
        f"gave up {level.gave_up}, health p99 {p99(level.health_ms):.1f} ms"
        + (f", other failures: {failures}" if failures else "")
    )


def figures(runs: list[list[Level]], rss: list[float]) -> list[Figure]:
    """The medians over the runs, each level against the 1-client floor of its run."""
    result = []
    floors = [levels[0] for levels in runs]
    for index, clients in enumerate(level.clients for level in runs[0]):
        if clients == 1:
            continue
        levels = [run[index] for run in runs]
        result.append(
            Figure(
                f"overload: {clients:,} clients, SubmitKeyRequest p50 of the calls admitted",
                median(percentile(level.submit_ms, 0.5) for level in levels),
                "ms",
                floor="the same with 1 client",
                floor_value=median(percentile(floor.submit_ms, 0.5) for floor in floors),
                higher_is_better=False,
            )
        )
        for name, key in (
            ("SubmitKeyRequest", "submit_ms"),
            ("SubmitKeyRequest (begun after the first second)", "later_submit_ms"),
            ("GetKeyRequest", "read_ms"),
        ):
            ratios = [
                p99(getattr(level, key)) / p99(getattr(floor, key))
                for level, floor in zip(levels, floors, strict=True)
            ]
            result.append(
                Figure(
                    f"overload: {clients:,} clients, {name} p99 of the calls admitted",
                    median(p99(getattr(level, key)) for level in levels),
                    "ms",
                    floor="the same with 1 client",
                    floor_value=median(p99(getattr(floor, key)) for floor in floors),
                    ratio=median(ratios),
                    higher_is_better=False,
                )
            )
        for method in ("SubmitKeyRequest", "GetKeyRequest"):
            ratios = [
                server_p99(level, method) / server_p99(floor, method)
                for level, floor in zip(levels, floors, strict=True)
            ]
            result.append(
                Figure(
                    f"overload: {clients:,} clients, {method} p99 of the calls admitted, "
                    "by the server's clock (admission to answer)",
                    median(server_p99(level, method) for level in levels),
                    "ms",
                    floor="the same with 1 client",
                    floor_value=median(server_p99(floor, method) for floor in floors),
                    ratio=median(ratios),
                    higher_is_better=False,
                )
            )
        result.append(
            Figure(
                f"overload: {clients:,} clients, the load generator's event-loop lag p99",
                median(p99(level.lag_ms) for level in levels),
                "ms",
                floor="the same with 1 client",
                floor_value=median(p99(floor.lag_ms) for floor in floors),
                higher_is_better=False,
            )
        )
        for process, key in (
            ("the server", "server_cpus"),
            ("the load generator", "generator_cpus"),
        ):
            result.append(
                Figure(
                    f"overload: {clients:,} clients, CPUs used by {process}",
                    median(getattr(level, key) for level in levels),
                    "CPUs",
                    floor="the same with 1 client",
                    floor_value=median(getattr(floor, key) for floor in floors),
                )
            )
        result.append(
            Figure(
                f"overload: {clients:,} clients, share of attempts refused",
                median(level.refused_share * 100 for level in levels),
                "%",
            )
        )
        result.append(
            Figure(
                f"overload: {clients:,} clients, health check p99",
                median(p99(level.health_ms) for level in levels),
                "ms",
                higher_is_better=False,
            )
        )
    for run, value in enumerate(rss, start=1):
        result.append(
            Figure(f"overload: server RSS after run {run}", value, "MB", higher_is_better=False)
        )
    return result


def main(argv: list[str] | None = None) -> int:
    """Runs the overload benchmark on SQLite and prints its figures (no goal: exit 0)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per level (5)")
    parser.add_argument("--runs", type=int, default=5, help="runs of all levels (5)")
    parser.add_argument(
        "--levels",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[16, 200, 2000],
        help="clients of each level (16,200,2000)",
    )
    parser.add_argument(
        "--limit", type=int, help="the server's KEYSVC_MAX_CALLS_IN_FLIGHT (default: its default)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    # Admitted calls take one contract each, and so does each call given up after its retries.
    per_run = (CONTRACTS_PER_SECOND * (1 + len(args.levels)) + max(args.levels)) * args.seconds
    needed = int(per_run * (args.runs + 1))
    with tempfile.TemporaryDirectory(prefix="keysvc-bench-overload-") as folder:
        data = Path(folder) / "data"
        data.mkdir(parents=True)
        os.chmod(data, 0o700)
        metrics_port = free_port()
        env = clean_environment(
            KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE,
            KEYSVC_METRICS_LISTEN=f"127.0.0.1:{metrics_port}",
        )
        if args.limit:
            env["KEYSVC_MAX_CALLS_IN_FLIGHT"] = str(args.limit)
        contracts = iter(seed_contracts(migrated(sqlite_url_for(data)), needed))
        clock_file = data.parent / "clock"
        clock_file.write_text(CLOCK)
        launcher = (sys.executable, "-m", "tests.e2e.clocked_keysvc", str(clock_file))
        log = data.parent / "server.log"
        with keysvc_serve(data, env, log, launcher) as (pid, address):
            token = create_token(data, env, "site")
            target = Target(address, token, f"http://127.0.0.1:{metrics_port}/metrics", pid)
            runs, rss = asyncio.run(run_all(target, contracts, pid, args))
    results = figures(runs, rss)
    for figure in results:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "overload",
            machine(["grpcio", "sqlalchemy", "cryptography"]),
            [figure.as_dict() for figure in results],
            seconds=args.seconds,
            runs=args.runs,
            levels=args.levels,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
