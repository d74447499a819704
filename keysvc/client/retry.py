"""Backoff for transient failures: exponential, capped, with full jitter."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` calls at most; the pause before attempt n+1 is a random share of
    ``min(max_backoff, initial_backoff * multiplier**(n-1))`` ("full jitter"),
    so clients that failed together do not come back together."""

    attempts: int = 4
    initial_backoff: float = 0.2
    max_backoff: float = 3.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("backoffs must not be negative, nor the multiplier below 1")

    def pauses(self, rng: random.Random | None = None) -> Iterator[float]:
        """The pauses between attempts: one fewer than `attempts`."""
        draw = (rng or random.Random()).uniform  # noqa: S311 - jitter, not secrecy
        ceiling = self.initial_backoff
        for _ in range(self.attempts - 1):
            yield draw(0, min(self.max_backoff, ceiling))
            ceiling *= self.multiplier


NO_RETRY = RetryPolicy(attempts=1)
