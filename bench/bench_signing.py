"""Benchmark license-key signing and verifying against bare Ed25519 in the same run.

    .venv/bin/python bench/bench_signing.py [--seconds N] [--json PATH]

Each figure is compared with its floor, measured in the same process moments
apart: bare `cryptography` Ed25519 sign and verify of the same signing input.
The goal is for `LicenseVerifier.verify` to reach at least 80 % of the bare
verify rate, i.e. parsing and claim checks cost at most a quarter of the
signature check.

The time of each pair is cut into many short rounds (40 by default), each timing
the floor and the figure back to back, which goes first alternating from round
to round. Rates are the median over rounds; the ratio is the median of the
per-round ratios, printed and written with its spread (minimum, quartiles,
maximum) so a noisy run shows as one.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import machine as machine_info
from common import write_json
from cryptography.hazmat.backends.openssl import backend as openssl_backend

from signing import KeyRing, LicenseClaims, SigningKey, b64url_decode, fingerprint_hash

ROUNDS = 40
GOAL = 0.80


def batch_size(operation: Callable[[], object]) -> int:
    """Smallest power of two of calls that takes over 10 ms, so timer overhead is negligible."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            operation()
        if time.perf_counter() - start > 0.01:
            return batch
        batch *= 2


def one_round(operation: Callable[[], object], batch: int, seconds: float) -> float:
    """Operations per second over one round of about ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            operation()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A figure against its floor over alternating rounds."""

    figure_rate: float  # median over rounds, operations per second
    floor_rate: float  # the same for the floor
    ratios: list[float]  # figure rate / floor rate of each round, in round order

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)

    def spread(self) -> dict[str, float]:
        """Minimum, quartiles and maximum of the per-round ratios."""
        q1, _, q3 = statistics.quantiles(self.ratios, n=4)
        return {"min": min(self.ratios), "q1": q1, "q3": q3, "max": max(self.ratios)}


def compare(
    figure: Callable[[], object], floor: Callable[[], object], seconds: float, rounds: int
) -> Comparison:
    """Time ``figure`` and ``floor`` back to back in each of ``rounds`` short rounds.

    Short back-to-back rounds let drift (CPU boost, neighbours' load) move both
    sides of each round's ratio alike; alternating which side goes first keeps
    either from always running in the other's wake (caches, frequency).
    """
    per_round = seconds / (2 * rounds)
    figure_batch, floor_batch = batch_size(figure), batch_size(floor)
    figures, floors, ratios = [], [], []
    for index in range(rounds):
        if index % 2:
            figures.append(one_round(figure, figure_batch, per_round))
            floors.append(one_round(floor, floor_batch, per_round))
        else:
            floors.append(one_round(floor, floor_batch, per_round))
            figures.append(one_round(figure, figure_batch, per_round))
        ratios.append(figures[-1] / floors[-1])
    return Comparison(statistics.median(figures), statistics.median(floors), ratios)


def typical_claims() -> LicenseClaims:
    """Claims of the size a real license carries."""
    return LicenseClaims(
        serial="L-2026-000123",
        issued_at=1795305600,
        product_code="ACME-SRV",
        contract_number="SV-12345",
        seats=25,
        generation=1,
        fingerprint_hash=fingerprint_hash("fp1:" + "0123456789abcdef" * 4),
        support_end=datetime.date(2027, 11, 21),
    )


def measure(seconds: float, rounds: int) -> list[dict[str, object]]:
    """Run every pair of (figure, floor) and return one result per pair."""
    ring = KeyRing(SigningKey.generate())
    claims = typical_claims()
    key_text = ring.sign_license(claims)
    header, payload, signature = key_text.split(".")
    signing_input = f"{header}.{payload}".encode()
    raw_signature = b64url_decode(signature)
    private = ring.active.private_key
    public = private.public_key()
    verifier = ring.verifier()

    def verify() -> object:
        return verifier.verify(key_text)

    pairs: list[tuple[str, Callable[[], object], str, Callable[[], object]]] = [
        (
            "KeyRing.sign_license (claims to compact key)",
            lambda: ring.sign_license(claims),
            "bare Ed25519 sign of the signing input",
            lambda: private.sign(signing_input),
        ),
        (
            "LicenseVerifier.verify (compact key to claims)",
            verify,
            "bare Ed25519 verify of the signing input",
            lambda: public.verify(raw_signature, signing_input),
        ),
    ]
    results: list[dict[str, object]] = []
    for figure_name, figure, floor_name, floor in pairs:
        comparison = compare(figure, floor, seconds, rounds)
        goal = GOAL if figure is verify else None
        spread = comparison.spread()
        results.append(
            {
                "figure": figure_name,
                "ops_per_s": round(comparison.figure_rate),
                "floor": floor_name,
                "floor_ops_per_s": round(comparison.floor_rate),
                "ratio": round(comparison.ratio, 3),
                "goal": goal,
                "met": None if goal is None else comparison.ratio >= goal,
                "rounds": rounds,
                "ratio_min": round(spread["min"], 3),
                "ratio_q1": round(spread["q1"], 3),
                "ratio_q3": round(spread["q3"], 3),
                "ratio_max": round(spread["max"], 3),
                "round_ratios": [round(ratio, 3) for ratio in comparison.ratios],
            }
        )
    return results


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    return machine_info(
        packages=("cryptography",), extra={"openssl": openssl_backend.openssl_version_text()}
    )


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and optionally write JSON; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="time per figure/floor pair")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="alternating rounds per pair (at least 2)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (quartiles need two ratios)")

    results = measure(args.seconds, args.rounds)
    for result in results:
        verdict = ""
        if result["goal"] is not None:
            verdict = f"  goal >= {result['goal']:.0%}: {'met' if result['met'] else 'MISSED'}"
        print(f"{result['figure']}: {result['ops_per_s']:,} ops/s")
        print(f"  floor, {result['floor']}: {result['floor_ops_per_s']:,} ops/s")
        print(f"  ratio {result['ratio']:.1%}{verdict}")
        print(
            f"  per-round ratios over {result['rounds']} rounds: min {result['ratio_min']:.1%}, "
            f"quartiles {result['ratio_q1']:.1%}-{result['ratio_q3']:.1%}, "
            f"max {result['ratio_max']:.1%}"
        )
    if args.json:
        write_json(args.json, "signing", machine(), results)
    return 0 if all(result["met"] is not False for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
