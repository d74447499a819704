"""Benchmark B9: the status listener of `keysvc serve`, ``GET /statuslists/1``.

    .venv/bin/python bench/bench_status_http.py [--seconds N] [--rounds N]
                                                [--connections N] [--json PATH]

A real `keysvc serve --status-listen` (SQLite) serves a list of realistic size:
2**20 entries (the size `keysvc/domain/status_positions.py` gives a list), 5,000
of them not VALID at random positions (mostly SUPERSEDED, some INVALID), signed
by the service's key and stored as the publisher stores it. An aiohttp client
with ``--connections`` keep-alive connections asks for it as fast as it answers,
for ``--seconds`` per round; requests/s and the p99 latency are compared with
the floor, measured in the same run in alternating rounds (which goes first
alternates): a bare aiohttp application in a process of its own answering a
constant body of the same size with the same content type. Both are also asked
with a matching ``If-None-Match`` (the product that polls with its ETag): the
listener answers 304, the floor a constant 304.

No goal: the figure says what the listener costs over aiohttp itself, and what
one process answers (docs/benchmarks.md, B9).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from common import Figure, free_port, machine, write_json
from keysvc_process import KEYSVC, PASSPHRASE, keysvc_serve
from sqlalchemy import insert

from keysvc.domain.status_entries import EXPIRY, TTL
from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.schema import status_lists
from keysvc.persistence.status_list_repository import store_token
from keysvc.service.signing_keys import SigningKeys
from scheduler.clock import SystemClock
from signing import StatusValue, passphrase_from_text

ENTRIES = 2**20
NOT_VALID = 5_000
INVALID_SHARE = 0.1
PATH = "/statuslists/1"
FLOOR_NOT_MODIFIED = "/not-modified"
CONTENT_TYPE = "application/statuslist+jwt"
START_TIMEOUT = 30.0


def statuses(seed: int = 9) -> bytearray:
    """One status byte per entry: NOT_VALID of them SUPERSEDED or (a tenth) INVALID."""
    generator = random.Random(seed)
    values = bytearray(ENTRIES)
    for index in generator.sample(range(ENTRIES), NOT_VALID):
        invalid = generator.random() < INVALID_SHARE
        values[index] = StatusValue.INVALID if invalid else StatusValue.SUPERSEDED
    return values


def publish(data_dir: Path, base: str) -> str:
    """Makes the data folder's database, its signing key and list 1 with its token, as
    the publisher stores it; returns the token."""
    env = {**os.environ, "KEYSVC_SIGNING_KEY_PASSPHRASE": PASSPHRASE}
    subprocess.run(  # noqa: S603 - our own console script
        [str(KEYSVC), "db", "upgrade", "--data-dir", str(data_dir)],
        env=env,
        check=True,
        capture_output=True,
    )
    engine = create_database_engine(sqlite_url_for(data_dir))
    try:
        clock = SystemClock()
        signing_keys = SigningKeys(engine, passphrase_from_text(PASSPHRASE), clock)
        signing_keys.ensure_active_key()
        now = clock.now().replace(microsecond=0)
        issued_at = int(now.timestamp())
        uri = f"{base}{PATH}"
        with engine.begin() as connection:
            token = signing_keys.key_ring(connection).sign_status_list(
                statuses(),
                uri=uri,
                issued_at=issued_at,
                expires_at=issued_at + int(EXPIRY.total_seconds()),
                ttl=int(TTL.total_seconds()),
            )
            connection.execute(
                insert(status_lists).values(
                    number=1,
                    base_url=base,
                    uri=uri,
                    size=ENTRIES,
                    permutation_key=bytes(32),
                    allocated=ENTRIES,
                    revision=0,
                    created_at=now,
                )
            )
            assert store_token(
                connection,
                1,
                token=token,
                revision=0,
                as_of=now,
                issued_at=now,
                expires_at=now + EXPIRY,
            )
    finally:
        engine.dispose()
    return token


FLOOR_SERVER = """
import sys
from aiohttp import web
body = open(sys.argv[2], "rb").read()
async def constant(request):
    return web.Response(body=body, content_type=sys.argv[3])
async def not_modified(request):
    return web.Response(status=304, headers={"ETag": '"floor"'})
app = web.Application()
app.router.add_get("/statuslists/1", constant)
app.router.add_get("/not-modified", not_modified)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


@contextmanager
def floor_server(body: Path) -> Iterator[tuple[int, str]]:
    """The bare aiohttp application on a free port: yields its pid and HOST:PORT; stops it."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", FLOOR_SERVER, str(port), str(body), CONTENT_TYPE],
        stdin=subprocess.DEVNULL,
    )
    try:
        asyncio.run(_wait_listening(f"127.0.0.1:{port}"))
        yield process.pid, f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


async def _wait_listening(address: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://{address}{PATH}") as answer:
                    await answer.read()
                    return
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


async def load(
    url: str, connections: int, seconds: float, headers: dict[str, str], expect: int
) -> tuple[float, list[float], int]:
    """Asks for `url` over `connections` keep-alive connections for `seconds` (after a
    warm-up of a second); returns requests/s, every latency in seconds, and the number
    of requests made, the warm-up's included."""
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    latencies: list[float] = []
    warm_up = [0]
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one() -> float:
            start = time.perf_counter()
            async with session.get(url) as answer:
                await answer.read()
                if answer.status != expect:
                    raise RuntimeError(f"{url}: {answer.status}, expected {expect}")
            return time.perf_counter() - start

        async def worker(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                took = await one()
                if record:
                    latencies.append(took)
                else:
                    warm_up[0] += 1

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(connections)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies, len(latencies) + warm_up[0]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process `pid` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime and stime are the 14th and 15th fields; the 3rd is the first after ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(latencies: list[float]) -> float:
    """The 99th percentile, in milliseconds."""
    return statistics.quantiles(latencies, n=100)[98] * 1000


def measure(
    listener: tuple[int, str], floor: tuple[int, str], etag: str, args: argparse.Namespace
) -> tuple[list[Figure], dict[str, object]]:
    """Alternating rounds of the listener and the floor, plain and conditional."""
    figures: list[Figure] = []
    spread: dict[str, object] = {}
    cases = [
        ("GET /statuslists/1, 200", PATH, PATH, {}, {}, 200),
        (
            "the same with a matching If-None-Match, 304",
            PATH,
            FLOOR_NOT_MODIFIED,
            {"If-None-Match": etag},
            {},
            304,
        ),
    ]
    for name, path, floor_path, headers, floor_headers, expect in cases:
        rates: dict[str, list[float]] = {"listener": [], "floor": []}
        latencies: dict[str, list[float]] = {"listener": [], "floor": []}
        # The server's CPU per request: what it costs, even when the client is the limit.
        cpu: dict[str, list[float]] = {"listener": [], "floor": []}
        targets = {
            "listener": (listener[0], f"http://{listener[1]}{path}", headers),
            "floor": (floor[0], f"http://{floor[1]}{floor_path}", floor_headers),
        }
        for round_ in range(args.rounds):
            order = ("listener", "floor") if round_ % 2 else ("floor", "listener")
            for which in order:
                pid, url, sent = targets[which]
                before = cpu_seconds(pid)
                rate, taken, requests = asyncio.run(
                    load(url, args.connections, args.seconds, sent, expect)
                )
                rates[which].append(rate)
                latencies[which].extend(taken)
                cpu[which].append((cpu_seconds(pid) - before) / requests * 1e6)
        rate, floor_rate = statistics.median(rates["listener"]), statistics.median(rates["floor"])
        figures.append(
            Figure(
                f"B9 {name}, {args.connections} connections",
                rate,
                "req/s",
                floor="bare aiohttp, constant answer",
                floor_value=floor_rate,
            )
        )
        figures.append(
            Figure(
                f"B9 {name}, p99 latency",
                p99(latencies["listener"]),
                "ms",
                floor="bare aiohttp, constant answer",
                floor_value=p99(latencies["floor"]),
                higher_is_better=False,
            )
        )
        figures.append(
            Figure(
                f"B9 {name}, server CPU per request",
                statistics.median(cpu["listener"]),
                "µs",
                floor="bare aiohttp, constant answer",
                floor_value=statistics.median(cpu["floor"]),
                higher_is_better=False,
            )
        )
        spread[name] = {
            "listener_rates": [round(r) for r in rates["listener"]],
            "floor_rates": [round(r) for r in rates["floor"]],
            "listener_cpu_us": [round(c, 1) for c in cpu["listener"]],
            "floor_cpu_us": [round(c, 1) for c in cpu["floor"]],
        }
    return figures, spread


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures and optionally write JSON (no goal: always 0)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per case")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.connections < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 2, --connections at least 1, --seconds > 0")

    with tempfile.TemporaryDirectory(prefix="keysvc-bench-status-http-") as scratch:
        folder = Path(scratch)
        status_address = f"127.0.0.1:{free_port()}"
        token = publish(folder / "data", f"http://{status_address}")
        body = folder / "body"
        body.write_bytes(token.encode("ascii"))
        env = {
            **os.environ,
            "KEYSVC_SIGNING_KEY_PASSPHRASE": PASSPHRASE,
            "KEYSVC_STATUS_LISTEN": status_address,
        }
        with (
            keysvc_serve(folder / "data", env, folder / "serve.log") as (serve_pid, _),
            floor_server(body) as floor,
        ):
            asyncio.run(_wait_listening(status_address))
            etag = asyncio.run(_etag(status_address))
            figures, spread = measure((serve_pid, status_address), floor, etag, args)
    for figure in figures:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "status_http",
            machine(["aiohttp", "SQLAlchemy"]),
            [figure.as_dict() for figure in figures],
            settings={
                "entries": ENTRIES,
                "not_valid": NOT_VALID,
                "token_bytes": len(token),
                "connections": args.connections,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "spread": spread,
            },
        )
    return 0


async def _etag(address: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{address}{PATH}") as answer,
    ):
        await answer.read()
        return answer.headers["ETag"]


if __name__ == "__main__":
    sys.exit(main())
