"""Per-peer limit on failed authentications: the rule alone, with no gRPC, I/O or clock.

A peer (one client address, `keysvc.api.auth_watch.peer_address`) may fail
`limit` times within `window` seconds (a limit of 0 never blocks). Its
`limit`-th failure within the window blocks it for `block` seconds: every call
it makes meanwhile is refused at once, whatever its token, so a blocked peer
learns nothing and costs no database query. When the block ends its count
starts afresh. Calls refused while blocked do not prolong the block: an
attacker gets `limit` tries per `block` seconds, a client behind the same
address is back after `block`.

Memory is bounded: at most `max_peers` peers are remembered, and the one that
failed least recently is forgotten first (each holds at most `limit` instants);
at most `max_peers` are blocked, and the block that ends first is dropped
first.

Not thread-safe: the interceptor calls it from the event loop only.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

DEFAULT_MAX_PEERS: Final = 10_000


class ReportThrottle:
    """Counts events per key and says when to report them: the first at once, then
    at most one report per `interval` seconds carrying the count since the last.

    A burst is thus one log line, and nothing is lost: a count not reported yet
    is in the next report of its key. At most `max_keys` keys are remembered
    (the least recent is forgotten first).
    """

    def __init__(
        self,
        interval: float,
        *,
        max_keys: int = DEFAULT_MAX_PEERS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._max_keys = max_keys
        self._monotonic = monotonic
        # key -> [events not reported yet, when the last report was made]
        self._keys: OrderedDict[str, list[float]] = OrderedDict()

    def note(self, key: str, *, force: bool = False) -> int:
        """Counts one event of `key`; returns how many to report now, 0 for not yet.
        `force` reports now whatever the interval (a peer has just been blocked)."""
        now = self._monotonic()
        entry = self._keys.get(key)
        if entry is None:
            entry = self._keys[key] = [0, float("-inf")]
            while len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        entry[0] += 1
        if not force and now - entry[1] < self._interval:
            return 0
        count = int(entry[0])
        entry[0], entry[1] = 0, now
        return count


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failure did: `blocked_for` seconds (0: not blocked), and how many
    failures to report now (`report`, 0 when a line was written less than the
    report interval ago: they are reported with a later one)."""

    failures_in_window: int
    blocked_for: float = 0.0
    report: int = 0


@dataclass(slots=True)
class FailureLimiter:
    """Counts failures per peer in a sliding window and blocks a peer that reaches the limit.

    >>> now = [0.0]
    >>> limiter = FailureLimiter(limit=2, window=60, block=300, monotonic=lambda: now[0])
    >>> limiter.failed("192.0.2.1").blocked_for
    0.0
    >>> limiter.failed("192.0.2.1").blocked_for
    300.0
    >>> limiter.retry_after("192.0.2.1"), limiter.retry_after("192.0.2.2")
    (300.0, None)
    """

    limit: int
    window: float
    block: float
    # Failures of one peer are reported (logged) at most once per this many seconds.
    report_interval: float = 60.0
    max_peers: int = DEFAULT_MAX_PEERS
    monotonic: Callable[[], float] = time.monotonic
    # peer -> instants of its failures within the window, at most `limit` of them
    _peers: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, init=False)
    # Only the peers blocked now, until when: the check every call makes reads this
    # small dict, which is empty unless an attack is under way.
    _blocked: dict[str, float] = field(default_factory=dict, init=False)
    _reports: ReportThrottle = field(init=False)

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window <= 0 or self.block <= 0 or self.max_peers < 1:
            raise ValueError("window, block and max_peers must be positive, limit not negative")
        self._reports = ReportThrottle(
            self.report_interval, max_keys=self.max_peers, monotonic=self.monotonic
        )

    @property
    def anyone_blocked(self) -> bool:
        """True while some peer is (or was, until its next check) blocked: the cheap
        test that lets every call skip `retry_after` in peace time."""
        return bool(self._blocked)

    def retry_after(self, peer: str) -> float | None:
        """Seconds until `peer` may call again, or None when it may call now."""
        until = self._blocked.get(peer)
        now = self.monotonic()
        if until is None:
            self._forget_ended_blocks(now)
            return None
        remaining = until - now
        if remaining > 0:
            return remaining
        del self._blocked[peer]
        self._peers.pop(peer, None)  # a block served starts the count afresh
        return None

    def refused(self, peer: str) -> int:
        """Records a call refused while `peer` is blocked; returns how many refusals and
        failures to report now (0: not yet, see `Failure.report`)."""
        return self._reports.note(peer)

    def failed(self, peer: str) -> Failure:
        """Records a failed authentication of `peer`; blocks it when this one reaches the
        limit within the window (never with a limit of 0)."""
        now = self.monotonic()
        failures = self._peers.get(peer)
        if failures is None:
            failures = self._peers[peer] = deque(maxlen=max(self.limit, 1))
            while len(self._peers) > self.max_peers:
                self._peers.popitem(last=False)
        else:
            self._peers.move_to_end(peer)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        failures.append(now)
        count = len(failures)
        blocked_for = 0.0
        if self.limit and count >= self.limit:
            self._block(peer, now + self.block)
            blocked_for = float(self.block)
            failures.clear()
        return Failure(count, blocked_for, self._reports.note(peer, force=blocked_for > 0))

    def blocked_peers(self) -> int:
        """How many peers are blocked now. Safe from another thread (the metrics
        endpoint's): it only reads a copy, taken at once under the GIL."""
        now = self.monotonic()
        return sum(1 for until in list(self._blocked.values()) if until > now)

    def _block(self, peer: str, until: float) -> None:
        # Re-inserted, so the dict stays in the order the blocks end (they all last
        # `block` seconds), and the first one is the one to forget when it is full.
        self._blocked.pop(peer, None)
        self._blocked[peer] = until
        while len(self._blocked) > self.max_peers:
            del self._blocked[next(iter(self._blocked))]

    def _forget_ended_blocks(self, now: float) -> None:
        # Blocks end in the dict's order: forgetting them from the front lets
        # `anyone_blocked` turn false again once the last has ended.
        while self._blocked:
            peer, until = next(iter(self._blocked.items()))
            if until > now:
                return
            del self._blocked[peer]
            self._peers.pop(peer, None)
