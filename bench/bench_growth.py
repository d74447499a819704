"""Benchmark the cost of reads as data grows: p99 at 1,000,000 licenses against 10,000 (B5).

    .venv/bin/python bench/bench_growth.py [--small N] [--large N] [--rounds R] [--calls C]
                                           [--concurrency K] [--real-keys K]
                                           [--postgres ADMIN_URL [--no-sqlite]]
                                           [--verbose] [--json PATH]

For each backend (SQLite, and PostgreSQL with ``--postgres``) two databases
are made, one with ``--small`` licenses (default 10,000) and one with
``--large`` (default 1,000,000): migrated (`upgrade_database`), an active
signing key made with `SigningKeys.ensure_active_key` (passphrase
``KEYSVC_SIGNING_KEY_PASSPHRASE``), then bulk-loaded with SQLAlchemy Core
executemany, ``--chunk`` rows (default 10,000) per table and statement batch,
one transaction per chunk. Per license: a contract (``SS-<year>-<seq>``), its
INITIAL key request in state RELEASED (an id from `new_key_request_id`), the
ACTIVE license (a serial from `new_license_serial`) and its e-mail in the
outbox, SENT (a short placeholder message; the lookups read only its state).
``--real-keys`` licenses (default 2,000), spread evenly over the load order,
carry keys really signed with the active key for their claims; the others a
placeholder of the same length (``bench-placeholder.<serial>.xxx…``), which
nothing verifies. Serials and ids are random, as the service makes them, so
the index pages a lookup touches are as scattered as in production.

SQLite files go under a temporary folder in /tmp (deleted at the end); with
``--postgres`` the databases are ``keysvc_bench_<hex>``, created through
ADMIN_URL and dropped at the end (VACUUM ANALYZE after the load, as
autovacuum would; on SQLite nothing, as the service runs no ANALYZE). Key
requests and licenses name each other, so in each chunk the requests are
stored PENDING and marked RELEASED once their licenses are in, as the service
itself does (one UPDATE per request on SQLite, one per chunk on PostgreSQL).

The plans of the queries the two RPCs run (captured from the service's own
repository functions: the interceptor's token lookup on a cache miss, `require_key_request`,
`get_license`, `delivery_state`, `list_signing_keys`) are checked with
``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN`` (PostgreSQL) on both databases;
a scan of a table that grows with the licenses is reported. ``--verbose``
prints the plans.

Then a real ``keysvc serve`` runs on each database (``--listen 127.0.0.1:0``;
the address from its "serving" log line), with a ``site`` token from
``keysvc tokens create``. A `grpc.aio` client keeps ``--concurrency`` calls in
flight (default 4) and times each call: first one warm-up call per real
license per RPC and database, then ``--rounds`` rounds (default 5), each
timing ``--calls`` calls (default 1,000) of ``VerifyLicenseKey`` (a real key,
with its fingerprint) and of ``GetKeyRequest`` (the request of a real key) on
the small and the large database, one after the other (which goes first
alternates), on randomly drawn real licenses. Every answer is checked.

Figure: the p99 latency at ``--large``; floor: the p99 at ``--small``, in the
same rounds; ratio: the median of the per-round ratios. Goal: ratio ≤ 1.5.
The p50s are printed too, without a goal; so are the load times and sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import math
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import grpc
from bench_startup import clean_environment, scratch_postgres_database
from common import Figure, Goal, machine, median, write_json
from keysvc_process import KEYSVC, PASSPHRASE, create_token, keysvc_serve
from sqlalchemy import Connection, Engine, bindparam, event, insert, text, update
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

from keysvc.domain.tokens import parse_bearer
from keysvc.mail.compose import message_id_for
from keysvc.persistence.database import create_database_engine, sqlite_url_for
from keysvc.persistence.key_request_repository import get_license
from keysvc.persistence.outbox_repository import delivery_state
from keysvc.persistence.schema import contracts, key_requests, licenses, mail_outbox
from keysvc.persistence.schema_migrations import upgrade_database
from keysvc.persistence.signing_key_repository import list_signing_keys
from keysvc.persistence.token_repository import find_token
from keysvc.service.identifiers import new_key_request_id, new_license_serial
from keysvc.service.key_requests import require_key_request
from keysvc.service.signing_keys import SigningKeys
from keysvc.v1 import license_service_pb2, license_service_pb2_grpc
from scheduler.clock import SystemClock
from signing import KeyRing, LicenseClaims, fingerprint_hash, passphrase_from_text

GOAL: Final = Goal("ratio", "<=", 1.5)
CALL_TIMEOUT: Final = 30.0
MAIL_DOMAIN: Final = "keysvc.invalid"
PRODUCTS: Final = ("neo-webconf", "neo-backup")
# Contracts are spread over these years, in load order: created_at grows with the row.
FIRST_YEAR: Final = 2020
YEARS: Final = 7
# Tables whose size grows with the licenses: a scan of one of them is a finding.
GROWING_TABLES: Final = frozenset({"contracts", "key_requests", "licenses", "mail_outbox"})
PLACEHOLDER_MESSAGE: Final = b"(bench placeholder: the e-mail was sent)"
RPCS: Final = ("VerifyLicenseKey", "GetKeyRequest")


# --- the data -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RealLicense:
    """A license with a really signed key: what the client asks about."""

    key_request_id: str
    serial: str
    license_key: str
    fingerprint: str


@dataclass
class Database:
    """One loaded database of one backend and size."""

    backend: str
    size: int
    url: str
    data_dir: Path
    env: dict[str, str]
    load_seconds: float = 0.0
    disk_bytes: int = 0
    real: list[RealLicense] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Row:
    """What one license's four rows are built from."""

    index: int
    contract_number: str
    product_code: str
    seats: int
    created_at: datetime
    key_request_id: str
    serial: str
    fingerprint: str
    fingerprint_hash: str


def _years_boundaries(total: int) -> list[int]:
    """Load index at which each year's contracts start (equal shares of `total`)."""
    return [total * year // YEARS for year in range(YEARS + 1)]


def _rows(start: int, stop: int, total: int, rng: random.Random, serials: set[str]) -> list[_Row]:
    """The licenses with load index start..stop-1 of `total`, oldest first."""
    boundaries = _years_boundaries(total)
    span = timedelta(days=365 * YEARS)
    origin = datetime(FIRST_YEAR, 1, 1, 1, 0, tzinfo=UTC)
    rows = []
    for index in range(start, stop):
        year_offset = next(y for y in range(YEARS) if index < boundaries[y + 1])
        year = FIRST_YEAR + year_offset
        created_at = origin + span * (index / total)
        serial = new_license_serial(created_at.year)
        while serial in serials:  # 50 random bits: a repeat in 10^6 is rare, not impossible
            serial = new_license_serial(created_at.year)
        serials.add(serial)
        fingerprint = f"fp1:{rng.getrandbits(128):032x}"
        rows.append(
            _Row(
                index=index,
                contract_number=f"SS-{year}-{index - boundaries[year_offset] + 1:06d}",
                product_code=PRODUCTS[index % 2],
                seats=rng.randint(1, 100),
                created_at=created_at,
                key_request_id=new_key_request_id(),
                serial=serial,
                fingerprint=fingerprint,
                fingerprint_hash=_fph(fingerprint),
            )
        )
    return rows


def _fph(fingerprint: str) -> str:
    # fingerprint_hash() without re-validating what we made valid: 10^6 of them.
    digest = hashlib.sha256(("keysvc-fp1:" + fingerprint).encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _claims(row: _Row) -> LicenseClaims:
    released = row.created_at + timedelta(days=1)
    return LicenseClaims(
        serial=row.serial,
        issued_at=int(released.timestamp()),
        product_code=row.product_code,
        contract_number=row.contract_number,
        seats=row.seats,
        generation=1,
        fingerprint_hash=row.fingerprint_hash,
        support_end=_support_end(row),
    )


def _support_end(row: _Row) -> date:
    return row.created_at.date() + timedelta(days=364)


def _placeholder(serial: str, length: int) -> str:
    text_ = f"bench-placeholder.{serial}."
    return text_ + "x" * max(0, length - len(text_))


def load(
    engine: Engine,
    total: int,
    *,
    kid: str,
    key_ring: KeyRing,
    real_count: int,
    chunk: int,
    rng: random.Random,
) -> tuple[list[RealLicense], float]:
    """Bulk-loads `total` licenses (with contract, key request, e-mail); returns the real
    ones and the seconds the load took."""
    postgres = engine.dialect.name == "postgresql"
    real_count = min(real_count, total)
    stride = total / real_count
    real_indices = {int(k * stride) + rng.randrange(max(1, int(stride))) for k in range(real_count)}
    # A real key's length, for the placeholders.
    first = _rows(0, 1, total, rng, set())[0]
    assert first.fingerprint_hash == fingerprint_hash(first.fingerprint), "the claim's fph"
    key_length = len(key_ring.sign_license(_claims(first)))
    serials: set[str] = set()
    real: list[RealLicense] = []
    started = time.perf_counter()
    with engine.connect() as connection:
        if not postgres:
            connection.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB, this load only
            connection.commit()
        for start in range(0, total, chunk):
            rows = _rows(start, min(total, start + chunk), total, rng, serials)
            keys = {}
            for row in rows:
                if row.index in real_indices:
                    key = key_ring.sign_license(_claims(row))
                    keys[row.serial] = key
                    real.append(RealLicense(row.key_request_id, row.serial, key, row.fingerprint))
            with connection.begin():
                _insert_chunk(
                    connection, rows, keys=keys, kid=kid, key_length=key_length, postgres=postgres
                )
            done = start + len(rows)
            if done % (chunk * 20) == 0 or done == total:
                print(
                    f"    loaded {done:,}/{total:,} ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        # Outside any transaction (which SQLAlchemy would begin): the raw connection.
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    return real, time.perf_counter() - started


def _insert_chunk(
    connection: Connection,
    rows: list[_Row],
    *,
    keys: dict[str, str],
    kid: str,
    key_length: int,
    postgres: bool,
) -> None:
    connection.execute(
        insert(contracts),
        [
            {
                "contract_number": row.contract_number,
                "product_code": row.product_code,
                "customer_name": f"株式会社ベンチ {row.index}",
                "contact_email": f"it{row.index}@example.co.jp",
                "seats": row.seats,
                "purchase_date": row.created_at.date(),
                "accept_date": row.created_at.date(),
                "created_at": row.created_at,
            }
            for row in rows
        ],
    )
    connection.execute(
        insert(key_requests),
        [
            {
                "id": row.key_request_id,
                "contract_number": row.contract_number,
                "kind": "INITIAL",
                "state": "PENDING",
                "fingerprint": row.fingerprint,
                "fingerprint_hash": row.fingerprint_hash,
                "contact_email": f"it{row.index}@example.co.jp",
                "previous_license_serial": None,
                "accepted_at": row.created_at + timedelta(hours=1),
                "due_date": row.created_at.date() + timedelta(days=1),
                "release_at": row.created_at + timedelta(days=1),
                "released_at": None,
                "license_serial": None,
                "hold_reason": None,
                "reject_reason": None,
                "at_risk": False,
                "created_by_token_id": "bench",
                "released_late": False,
            }
            for row in rows
        ],
    )
    connection.execute(
        insert(licenses),
        [
            {
                "serial": row.serial,
                "contract_number": row.contract_number,
                "key_request_id": row.key_request_id,
                "status": "ACTIVE",
                "seats": row.seats,
                "generation": 1,
                "fingerprint_hash": row.fingerprint_hash,
                "kid": kid,
                "issued_at": row.created_at + timedelta(days=1),
                "support_end": _support_end(row),
                "license_key": keys.get(row.serial) or _placeholder(row.serial, key_length),
                "superseded_by": None,
                "revoked_at": None,
                "revoke_reason": None,
            }
            for row in rows
        ],
    )
    # key_requests.license_serial and licenses.key_request_id name each other: the
    # requests are stored PENDING and released once their licenses exist, as the
    # service does. (Deferring SQLite's foreign keys instead makes each license
    # insert scan key_requests and licenses for orphans while any are outstanding:
    # previous_license_serial and superseded_by have no index. PostgreSQL's keys
    # cannot be deferred at all.)
    released = [row.created_at + timedelta(days=1) for row in rows]
    if postgres:
        connection.execute(
            text(
                "UPDATE key_requests AS k SET state = 'RELEASED', license_serial = u.serial, "
                "released_at = u.released_at "
                "FROM unnest(CAST(:ids AS text[]), CAST(:serials AS text[]), "
                "CAST(:released AS timestamptz[])) AS u(id, serial, released_at) "
                "WHERE k.id = u.id"
            ),
            {
                "ids": [row.key_request_id for row in rows],
                "serials": [row.serial for row in rows],
                "released": released,
            },
        )
    else:
        connection.execute(
            update(key_requests)
            .where(key_requests.c.id == bindparam("request_id"))
            .values(
                state="RELEASED",
                license_serial=bindparam("serial"),
                released_at=bindparam("released"),
            ),
            [
                {"request_id": row.key_request_id, "serial": row.serial, "released": moment}
                for row, moment in zip(rows, released, strict=True)
            ],
        )
    connection.execute(
        insert(mail_outbox),
        [
            {
                "key_request_id": row.key_request_id,
                "message_id": message_id_for(row.key_request_id, MAIL_DOMAIN),
                "recipient": f"it{row.index}@example.co.jp",
                "message": PLACEHOLDER_MESSAGE,
                "state": "SENT",
                "attempts": 1,
                "next_attempt_at": row.created_at + timedelta(days=1),
                "created_at": row.created_at + timedelta(days=1),
                "sent_at": row.created_at + timedelta(days=1, seconds=5),
            }
            for row in rows
        ],
    )


def prepare(database: Database, real_count: int, chunk: int, seed: int) -> None:
    """Migrates, makes the signing key, loads; records the real licenses, time and size."""
    engine = create_database_engine(database.url)
    try:
        upgrade_database(engine)
        keys = SigningKeys(engine, passphrase_from_text(PASSPHRASE), SystemClock())
        kid = keys.ensure_active_key()
        with engine.begin() as connection:
            key_ring = keys.key_ring(connection)
        database.real, database.load_seconds = load(
            engine,
            database.size,
            kid=kid,
            key_ring=key_ring,
            real_count=real_count,
            chunk=chunk,
            rng=random.Random(seed),
        )
        database.disk_bytes = _disk_bytes(engine, database)
    finally:
        engine.dispose()


def _disk_bytes(engine: Engine, database: Database) -> int:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            size = connection.exec_driver_sql("SELECT pg_database_size(current_database())")
            return int(size.scalar_one())
    return sum(path.stat().st_size for path in database.data_dir.glob("keysvc.db*"))


# --- the query plans ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """One query an RPC runs, and the plan the database chose for it."""

    rpc: str
    step: str
    sql: str
    lines: list[str]
    growing_scans: list[str]
    small_scans: list[str]


def _captured(engine: Engine, work: Callable[[Connection], object]) -> list[tuple[str, Any]]:
    """The (statement, parameters) `work` sends to the database, in order."""
    statements: list[tuple[str, Any]] = []

    def record(
        _conn: Connection,
        _cursor: DBAPICursor,
        statement: str,
        parameters: Any,  # noqa: ANN401 - whatever the DBAPI takes
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        statements.append((statement, parameters))

    with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        event.listen(connection, "before_cursor_execute", record)
        try:
            with connection.begin():
                work(connection)
        finally:
            event.remove(connection, "before_cursor_execute", record)
    return statements


def query_plans(database: Database, token: str) -> list[Plan]:
    """The plans of every query VerifyLicenseKey and GetKeyRequest run on `database`."""
    token_id, _ = parse_bearer(f"Bearer {token}")
    sample = database.real[len(database.real) // 2]
    steps: list[tuple[str, str, Callable[[Connection], object]]] = [
        ("both", "interceptor: find_token (token cache miss)", lambda c: find_token(c, token_id)),
        ("VerifyLicenseKey", "list_signing_keys", list_signing_keys),
        ("VerifyLicenseKey", "get_license", lambda c: get_license(c, sample.serial)),
        (
            "GetKeyRequest",
            "require_key_request",
            lambda c: require_key_request(c, sample.key_request_id),
        ),
        ("GetKeyRequest", "get_license", lambda c: get_license(c, sample.serial)),
        ("GetKeyRequest", "delivery_state", lambda c: delivery_state(c, sample.key_request_id)),
    ]
    engine = create_database_engine(database.url)
    plans = []
    try:
        for rpc, step, work in steps:
            for statement, parameters in _captured(engine, work):
                if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SELECT 1")):
                    continue
                plans.append(_explain(engine, rpc, step, statement, parameters))
    finally:
        engine.dispose()
    return plans


def _explain(
    engine: Engine,
    rpc: str,
    step: str,
    statement: str,
    parameters: Any,  # noqa: ANN401 - whatever the DBAPI takes
) -> Plan:
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    if postgres:
        lines = [str(row[0]) for row in rows]
        scanned = [line.split(" on ", 1)[1].split()[0] for line in lines if "Seq Scan on " in line]
    else:
        lines = [str(row[3]) for row in rows]
        scanned = [
            line.split()[1] for line in lines if line.startswith("SCAN ") and len(line.split()) > 1
        ]
    return Plan(
        rpc=rpc,
        step=step,
        sql=" ".join(statement.split()),
        lines=lines,
        growing_scans=[table for table in scanned if table in GROWING_TABLES],
        small_scans=[table for table in scanned if table not in GROWING_TABLES],
    )


# --- the server -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Server:
    """A running `keysvc serve`: its address and the token to call it with."""

    address: str
    token: str


@contextlib.contextmanager
def keysvc_server(database: Database, token: str, log: Path) -> Iterator[Server]:
    """`keysvc serve` on 127.0.0.1:0 on the database (`keysvc_process`); stopped on exit."""
    with keysvc_serve(database.data_dir, database.env, log) as (_pid, address):
        yield Server(address, token)


# --- the measurement ------------------------------------------------------------------


class Client:
    """Calls one server's two RPCs and checks every answer."""

    def __init__(self, server: Server) -> None:
        self._channel = grpc.aio.insecure_channel(server.address)
        self._stub = license_service_pb2_grpc.LicenseServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {server.token}"),)

    async def close(self) -> None:
        """Closes the channel."""
        await self._channel.close()

    async def call(self, rpc: str, license_: RealLicense) -> None:
        """One call of `rpc` about `license_`; raises when the answer is not the expected one."""
        if rpc == "VerifyLicenseKey":
            verify = license_service_pb2.VerifyLicenseKeyRequest(
                license_key=license_.license_key, fingerprint=license_.fingerprint
            )
            answer = await self._stub.VerifyLicenseKey(
                verify, metadata=self._metadata, timeout=CALL_TIMEOUT
            )
            if not answer.valid or answer.license_serial != license_.serial:
                raise RuntimeError(f"VerifyLicenseKey({license_.serial}): {answer}")
        else:
            get = license_service_pb2.GetKeyRequestRequest(id=license_.key_request_id)
            reply = await self._stub.GetKeyRequest(
                get, metadata=self._metadata, timeout=CALL_TIMEOUT
            )
            if reply.license_key != license_.license_key:
                raise RuntimeError(f"GetKeyRequest({license_.key_request_id}): no key")


async def timed_calls(
    client: Client, rpc: str, licenses_: Sequence[RealLicense], concurrency: int
) -> list[float]:
    """Calls `rpc` once per license, `concurrency` in flight; each call's seconds."""
    latencies: list[float] = []
    pending = iter(licenses_)

    async def worker() -> None:
        for license_ in pending:
            start = time.perf_counter()
            await client.call(rpc, license_)
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Series:
    """Per-round latencies of one RPC on one database."""

    rounds: list[list[float]] = field(default_factory=list)

    def per_round(self, fraction: float) -> list[float]:
        """The percentile of each round, in ms."""
        return [percentile(values, fraction) * 1000 for values in self.rounds]

    def pooled(self, fraction: float) -> float:
        """The percentile over every round's calls, in ms."""
        return percentile([v for values in self.rounds for v in values], fraction) * 1000


async def measure(
    small: Server,
    large: Server,
    small_db: Database,
    large_db: Database,
    *,
    rounds: int,
    calls: int,
    concurrency: int,
    seed: int,
) -> dict[tuple[str, str], Series]:
    """Warms up, then times the rounds; {(rpc, "small"|"large"): series}."""
    clients = {"small": Client(small), "large": Client(large)}
    real = {"small": small_db.real, "large": large_db.real}
    rng = random.Random(seed)
    series = {(rpc, size): Series() for rpc in RPCS for size in ("small", "large")}
    try:
        for size, client in clients.items():
            for rpc in RPCS:
                warm = list(real[size])
                rng.shuffle(warm)
                await timed_calls(client, rpc, warm, concurrency)
        print("    warmed up", file=sys.stderr)
        for number in range(rounds):
            order = ("small", "large") if number % 2 == 0 else ("large", "small")
            for rpc in RPCS:
                for size in order:
                    drawn = [rng.choice(real[size]) for _ in range(calls)]
                    latencies = await timed_calls(clients[size], rpc, drawn, concurrency)
                    series[rpc, size].rounds.append(latencies)
            print(
                f"    round {number + 1}/{rounds}: "
                + "; ".join(
                    f"{rpc} p99 {series[rpc, 'small'].per_round(0.99)[-1]:.2f} → "
                    f"{series[rpc, 'large'].per_round(0.99)[-1]:.2f} ms"
                    for rpc in RPCS
                ),
                file=sys.stderr,
            )
    finally:
        for client in clients.values():
            await client.close()
    return series


# --- putting it together --------------------------------------------------------------


@dataclass
class BackendResult:
    """What one backend gave: figures, databases, plans, the raw series."""

    backend: str
    figures: list[Figure]
    databases: list[Database]
    plans: dict[int, list[Plan]]
    series: dict[tuple[str, str], Series]


def run_backend(
    backend: str,
    databases: list[Database],
    args: argparse.Namespace,
    scratch: Path,
) -> BackendResult:
    """Loads both databases, checks the plans, serves them and measures."""
    small_db, large_db = databases
    for database in databases:
        print(f"  {backend}: loading {database.size:,} licenses", file=sys.stderr)
        prepare(database, args.real_keys, args.chunk, args.seed + database.size)
        print(
            f"  {backend}: {database.size:,} licenses loaded in {database.load_seconds:.1f} s, "
            f"{database.disk_bytes / 1e6:,.0f} MB",
            file=sys.stderr,
        )
    tokens = [create_token(database.data_dir, database.env, "site") for database in databases]
    plans = {
        database.size: query_plans(database, token)
        for database, token in zip(databases, tokens, strict=True)
    }
    with contextlib.ExitStack() as stack:
        small, large = (
            stack.enter_context(
                keysvc_server(database, token, scratch / f"{backend}-{database.size}.log")
            )
            for database, token in zip(databases, tokens, strict=True)
        )
        series = asyncio.run(
            measure(
                small,
                large,
                small_db,
                large_db,
                rounds=args.rounds,
                calls=args.calls,
                concurrency=args.concurrency,
                seed=args.seed,
            )
        )
    figures = []
    for rpc in RPCS:
        small_series, large_series = series[rpc, "small"], series[rpc, "large"]
        for label, fraction, goal in (("p99", 0.99, GOAL), ("p50", 0.50, None)):
            large_values = large_series.per_round(fraction)
            small_values = small_series.per_round(fraction)
            figures.append(
                Figure(
                    name=f"{rpc} {label} at {large_db.size:,} licenses, {backend}",
                    value=median(large_values),
                    unit="ms",
                    floor=f"{label} at {small_db.size:,} licenses",
                    floor_value=median(small_values),
                    ratio=median(
                        big / little for big, little in zip(large_values, small_values, strict=True)
                    ),
                    goal=goal,
                    higher_is_better=False,
                )
            )
    return BackendResult(backend, figures, databases, plans, series)


def sqlite_databases(sizes: Sequence[int], scratch: Path) -> list[Database]:
    """A data folder under `scratch` per size; the server finds keysvc.db there."""
    env = clean_environment(KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE)
    databases = []
    for size in sizes:
        data_dir = scratch / f"sqlite-{size}"
        data_dir.mkdir()
        databases.append(Database("SQLite", size, sqlite_url_for(data_dir), data_dir, env))
    return databases


def postgres_databases(
    sizes: Sequence[int], admin_url: str, scratch: Path, stack: contextlib.ExitStack
) -> list[Database]:
    """A scratch database per size (dropped when `stack` closes)."""
    databases = []
    for size in sizes:
        url = stack.enter_context(scratch_postgres_database(admin_url))
        env = clean_environment(KEYSVC_DATABASE_URL=url, KEYSVC_SIGNING_KEY_PASSPHRASE=PASSPHRASE)
        data_dir = scratch / f"postgres-{size}"
        data_dir.mkdir()
        databases.append(Database("PostgreSQL", size, url, data_dir, env))
    return databases


def plan_report(result: BackendResult, verbose: bool) -> list[str]:
    """Lines about the plans: every scan found, and with `verbose` every plan."""
    lines = []
    for size, plans in result.plans.items():
        for plan in plans:
            where = f"{result.backend}, {size:,} licenses, {plan.rpc}: {plan.step}"
            for table in plan.growing_scans:
                lines.append(f"SCAN OF A GROWING TABLE {table}: {where}")
            if verbose and size == max(result.plans):
                lines.append(f"{where}\n    {plan.sql}")
                lines.extend(f"      {line}" for line in plan.lines)
    small_scans = sorted(
        {t for plans in result.plans.values() for p in plans for t in p.small_scans}
    )
    if small_scans:
        lines.append(
            f"{result.backend}: full scans of small tables that do not grow with the licenses: "
            + ", ".join(small_scans)
        )
    if not any(p.growing_scans for plans in result.plans.values() for p in plans):
        lines.append(
            f"{result.backend}: every lookup on contracts, key_requests, licenses and "
            "mail_outbox uses an index"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Load, check plans, measure, print the figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--small", type=int, default=10_000, help="licenses in the floor's database"
    )
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="licenses in the figure's database"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds")
    parser.add_argument("--calls", type=int, default=1000, help="calls per RPC, size and round")
    parser.add_argument("--concurrency", type=int, default=4, help="calls in flight")
    parser.add_argument(
        "--real-keys", type=int, default=2000, help="licenses with really signed keys per database"
    )
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per load transaction")
    parser.add_argument("--seed", type=int, default=5, help="seed of the drawn data and calls")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="also with PostgreSQL: creates and drops databases keysvc_bench_<hex> through "
        "this URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres: PostgreSQL only")
    parser.add_argument("--verbose", action="store_true", help="print the query plans")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.small <= args.large:
        parser.error("need 1 <= --small <= --large")
    if min(args.rounds, args.calls, args.concurrency, args.real_keys, args.chunk) < 1:
        parser.error("--rounds, --calls, --concurrency, --real-keys and --chunk must be >= 1")
    if args.no_sqlite and not args.postgres:
        parser.error("--no-sqlite needs --postgres")
    if not KEYSVC.exists():
        parser.error(f"{KEYSVC} not found: run `make setup` first")

    sizes = (args.small, args.large)
    results: list[BackendResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="keysvc-bench-growth-", dir="/tmp") as directory,
        contextlib.ExitStack() as stack,
    ):
        scratch = Path(directory)
        if not args.no_sqlite:
            results.append(run_backend("SQLite", sqlite_databases(sizes, scratch), args, scratch))
        if args.postgres:
            databases = postgres_databases(sizes, args.postgres, scratch, stack)
            results.append(run_backend("PostgreSQL", databases, args, scratch))
    figures = [figure for result in results for figure in result.figures]
    for figure in figures:
        print(figure.line())
    for result in results:
        for database in result.databases:
            print(
                f"load, {result.backend}: {database.size:,} licenses in "
                f"{database.load_seconds:.1f} s ({database.size / database.load_seconds:,.0f} "
                f"licenses/s), {database.disk_bytes / 1e6:,.0f} MB on disk"
            )
        for line in plan_report(result, args.verbose):
            print(line)
    if args.json:
        packages = ("grpcio", "protobuf", "sqlalchemy", "psycopg")
        extra: dict[str, object] = {"sqlite": sqlite3.sqlite_version}
        write_json(
            args.json,
            "growth",
            machine(packages, extra),
            [figure.as_dict() for figure in figures],
            settings={
                name: getattr(args, name)
                for name in (
                    "small",
                    "large",
                    "rounds",
                    "calls",
                    "concurrency",
                    "real_keys",
                    "chunk",
                    "seed",
                )
            },
            loads=[
                {
                    "backend": result.backend,
                    "licenses": database.size,
                    "seconds": round(database.load_seconds, 1),
                    "disk_mb": round(database.disk_bytes / 1e6, 1),
                }
                for result in results
                for database in result.databases
            ],
            per_round_ms={
                f"{result.backend} {rpc} {size}": {
                    "p50": [round(v, 3) for v in result.series[rpc, size].per_round(0.5)],
                    "p99": [round(v, 3) for v in result.series[rpc, size].per_round(0.99)],
                    "pooled_p99": round(result.series[rpc, size].pooled(0.99), 3),
                }
                for result in results
                for rpc in RPCS
                for size in ("small", "large")
            },
            plans=[
                {
                    "backend": result.backend,
                    "licenses": size,
                    "rpc": plan.rpc,
                    "step": plan.step,
                    "sql": plan.sql,
                    "plan": plan.lines,
                    "scans_of_growing_tables": plan.growing_scans,
                }
                for result in results
                for size, plans in result.plans.items()
                for plan in plans
            ],
        )
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
