"""Benchmark Status List Tokens: B7 building the lists, B8 the offline check of a key.

    .venv/bin/python bench/bench_status_list.py [--seconds N] [--runs N] [--json PATH]

B7: build and sign the list(s) for 1,000,000 licenses of which 1 % are not
VALID (at random positions, values drawn from INVALID, SUSPENDED and
SUPERSEDED alike, which compresses worse than the real mix of mostly
SUPERSEDED): goal at most 1 s, and at most 32 KB of tokens in all. Timed from
one status byte per license (a ``bytearray``, as a database query fills it) to
the signed token; the median of ``--runs`` builds, each timed back to back
with its floor (which goes first alternating). The floor is what no builder
avoids: ZLIB level 9 of the packed 250,000 bytes and one Ed25519 signature.
Measured for one list of 1,000,000 entries and for the same licenses in lists
of 2**16 entries (what smaller lists would cost).

B8: the offline check of a key with the status claim (`LicenseVerifier.verify`
then `check_status` against a list parsed beforehand) against a bare
`cryptography` Ed25519 verify of the key's signing input, in alternating
rounds of the same run (bench_signing's method): goal at least 80 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from bench_signing import compare, typical_claims
from bench_signing import machine as signing_machine
from common import Figure, Goal, write_json

from signing import (
    KeyRing,
    SigningKey,
    StatusOutcome,
    StatusReference,
    b64url_decode,
    check_status,
    pack_statuses,
    parse_status_list_token,
)

LICENSES = 1_000_000
NOT_VALID_SHARE = 0.01
SMALL_LIST = 2**16
URI = "https://keys.example.com/status/{}"
IAT = 1795305600
EXP = IAT + 86400
TTL = 3600


def statuses(count: int, seed: int = 19) -> bytearray:
    """``count`` statuses, 1 % not VALID at random positions."""
    generator = random.Random(seed)
    values = bytearray(count)
    for index in generator.sample(range(count), round(count * NOT_VALID_SHARE)):
        values[index] = generator.choice((1, 2, 3))
    return values


def paired_seconds(
    figure: Callable[[], object], floor: Callable[[], object], runs: int
) -> tuple[float, float, float, list[float]]:
    """Time ``figure`` and ``floor`` back to back ``runs`` times, alternating which goes first.

    Returns the median time of each, the median of the per-run ratios, and the
    figure's times. Pairing keeps drift (CPU boost, neighbours) out of the ratio.
    """
    figures, floors, ratios = [], [], []
    for run in range(runs):
        order = (figure, floor) if run % 2 else (floor, figure)
        times = {}
        for operation in order:
            start = time.perf_counter()
            operation()
            times[operation] = time.perf_counter() - start
        figures.append(times[figure])
        floors.append(times[floor])
        ratios.append(times[figure] / times[floor])
    return statistics.median(figures), statistics.median(floors), statistics.median(ratios), figures


def b7(ring: KeyRing, runs: int) -> tuple[list[Figure], dict[str, object]]:
    """Build and sign the lists for LICENSES licenses: time and size, one list and small lists."""
    values = statuses(LICENSES)

    def one_list() -> list[str]:
        return [
            ring.sign_status_list(values, uri=URI.format(1), issued_at=IAT, expires_at=EXP, ttl=TTL)
        ]

    def small_lists() -> list[str]:
        return [
            ring.sign_status_list(
                values[start : start + SMALL_LIST],
                uri=URI.format(start // SMALL_LIST + 1),
                issued_at=IAT,
                expires_at=EXP,
                ttl=TTL,
            )
            for start in range(0, LICENSES, SMALL_LIST)
        ]

    packed = pack_statuses(values)

    def floor() -> bytes:
        return ring.active.sign(zlib.compress(packed, 9))

    figures: list[Figure] = []
    settings: dict[str, object] = {
        "licenses": LICENSES,
        "not_valid": round(LICENSES * NOT_VALID_SHARE),
        "runs": runs,
    }

    def from_python_list() -> list[str]:
        return [
            ring.sign_status_list(
                list(values), uri=URI.format(1), issued_at=IAT, expires_at=EXP, ttl=TTL
            )
        ]

    # The goals are on the one list; smaller lists, and a Python list of ints as input,
    # are measured to show what they would cost.
    variants = (
        ("one list of 1,000,000", one_list, True),
        (f"lists of {SMALL_LIST:,}", small_lists, False),
        ("one list, from a Python list of 1,000,000 ints", from_python_list, False),
    )
    for label, build, with_goal in variants:
        seconds, floor_seconds, ratio, times = paired_seconds(build, floor, runs)
        figures.append(
            Figure(
                name=f"B7 build and sign, {label}",
                value=seconds,
                unit="s",
                floor="ZLIB level 9 of the packed bytes + one Ed25519 signature",
                floor_value=floor_seconds,
                ratio=ratio,
                goal=Goal("value", "<=", 1.0) if with_goal else None,
                higher_is_better=False,
            )
        )
        settings[f"runs_s, {label}"] = [round(t, 4) for t in times]
        if build is from_python_list:
            continue
        tokens = build()
        token_bytes = sum(len(token) for token in tokens)
        # lst is base64url inside a payload that is base64url again: a token is about
        # 16/9 of the ZLIB output.
        compressed = sum(len(b64url_decode(_lst(token))) for token in tokens)
        figures += [
            Figure(
                name=f"B7 ZLIB output in all, {label} ({len(tokens)} token(s))",
                value=compressed / 1000,
                unit="KB",
                goal=Goal("value", "<=", 32.0) if with_goal else None,
                higher_is_better=False,
            ),
            Figure(
                name=f"B7 tokens in all (what is served), {label}",
                value=token_bytes / 1000,
                unit="KB",
                goal=Goal("value", "<=", 32.0) if with_goal else None,
                higher_is_better=False,
            ),
        ]
    return figures, settings


def _lst(token: str) -> str:
    """The ``lst`` claim of a token."""
    payload = json.loads(b64url_decode(token.split(".")[1]))
    return str(payload["status_list"]["lst"])


def b8(ring: KeyRing, seconds: float, rounds: int) -> tuple[list[Figure], dict[str, object]]:
    """The offline check of a key against a parsed list, and verify alone, vs bare verify."""
    values = statuses(LICENSES)
    index = values.index(0, LICENSES // 2)  # a VALID entry in the middle of the list
    token = ring.sign_status_list(values, uri=URI.format(1), issued_at=IAT, expires_at=EXP, ttl=TTL)
    status_list = parse_status_list_token(token, ring.verifier(), expected_uri=URI.format(1))
    claims = dataclasses.replace(
        typical_claims(), status=StatusReference(index=index, uri=URI.format(1))
    )
    key_text = ring.sign_license(claims)
    header, payload, signature = key_text.split(".")
    signing_input = f"{header}.{payload}".encode()
    raw_signature = b64url_decode(signature)
    public = ring.active.private_key.public_key()
    verifier = ring.verifier()
    now = IAT + 60
    assert check_status(verifier.verify(key_text), status_list, now=now) is StatusOutcome.VALID

    def offline_check() -> object:
        return check_status(verifier.verify(key_text), status_list, now=now)

    def verify_only() -> object:
        return verifier.verify(key_text)

    def bare() -> object:
        public.verify(raw_signature, signing_input)
        return None

    figures: list[Figure] = []
    settings: dict[str, object] = {"seconds_per_pair": seconds, "rounds": rounds}
    for name, figure, goal in (
        ("B8 offline check: verify the key + check_status in a parsed list", offline_check, True),
        ("B8 for comparison: LicenseVerifier.verify alone, same key", verify_only, False),
    ):
        comparison = compare(figure, bare, seconds, rounds)
        spread = comparison.spread()
        figures.append(
            Figure(
                name=name,
                value=comparison.figure_rate,
                unit="ops/s",
                floor="bare Ed25519 verify of the key's signing input",
                floor_value=comparison.floor_rate,
                ratio=comparison.ratio,
                goal=Goal("ratio", ">=", 0.80) if goal else None,
            )
        )
        settings[name] = {key: round(value, 3) for key, value in spread.items()}
    return figures, settings


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures and optionally write JSON; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="B8: time per figure/floor pair")
    parser.add_argument("--rounds", type=int, default=40, help="B8: alternating rounds per pair")
    parser.add_argument("--runs", type=int, default=7, help="B7: builds timed, median taken")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.runs < 1:
        parser.error("--rounds must be at least 2 and --runs at least 1")

    ring = KeyRing(SigningKey.generate())
    b7_figures, b7_settings = b7(ring, args.runs)
    b8_figures, b8_settings = b8(ring, args.seconds, args.rounds)
    figures = b7_figures + b8_figures
    for figure in figures:
        print(figure.line())
    if args.json:
        write_json(
            args.json,
            "status_list",
            signing_machine(),
            [figure.as_dict() for figure in figures],
            settings={"b7": b7_settings, "b8": b8_settings},
        )
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
