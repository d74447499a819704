"""Backoff for transient failures: exponential, capped, with full jitter."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

#: The shortest pause a policy may start from, other than none at all. Shorter
#: ones are no backoff (a retry storm against a struggling server), and as
#: subnormal floats they make the exponential arithmetic meaningless.
MIN_INITIAL_BACKOFF = 0.001


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
        if not all(
            math.isfinite(value)
            for value in (self.initial_backoff, self.max_backoff, self.multiplier)
        ):
            raise ValueError("backoffs and the multiplier must be finite numbers")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("backoffs must not be negative, nor the multiplier below 1")
        if 0 < self.initial_backoff < MIN_INITIAL_BACKOFF:
            raise ValueError(
                f"initial_backoff must be 0 or at least {MIN_INITIAL_BACKOFF} s, "
                f"got {self.initial_backoff}"
            )

    def pauses(self, rng: random.Random | None = None) -> Iterator[float]:
        """The pauses between attempts: one fewer than `attempts`."""
        draw = (rng or random.Random()).uniform  # noqa: S311 - jitter, not secrecy
        for retry in range(self.attempts - 1):
            yield draw(0, self.cap(retry))

    def cap(self, retry: int) -> float:
        """The longest pause before retry number `retry` (0 for the first retry).

        Computed from the formula rather than by repeated multiplication, so every
        pause is bounded by exactly the documented value, whatever the rounding.
        """
        if self.initial_backoff == 0:
            return 0.0
        try:
            grown = self.initial_backoff * self.multiplier**retry
        except OverflowError:  # far past any finite max_backoff
            return self.max_backoff
        return min(self.max_backoff, grown)


NO_RETRY = RetryPolicy(attempts=1)
