"""Rate limits, connection counts, the descriptor limit and envelope replay protection for the relay
(pure apart from `raise_fd_limit`; the clock is injected)."""

from __future__ import annotations

import gc
import hashlib
import resource
import secrets
from collections import deque
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens per second up to `burst`; one frame costs one token."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated=now)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if available; refill first (never above `burst`)."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def owe(self, now: float, cost: float = 1.0, max_debt: float | None = None) -> float:
        """Spend `cost` tokens even when that goes into debt; the seconds until the debt is repaid
        (0.0 when there is none). For pacing: the spender waits that long before its next action.
        The debt, hence the wait, is bounded by `max_debt` tokens (default: the burst). A bucket
        many spenders share needs a debt of its rate x their longest wait: capped at the burst,
        N spenders waiting at most burst/rate each would together get N x that."""
        self._refill(now)
        self.tokens = max(self.tokens - cost, -(self.burst if max_debt is None else max_debt))
        return max(0.0, -self.tokens / self.rate)

    def heavy(self, light: float | None = None) -> bool:
        """Used more than `light` tokens of its burst (default: half the burst), as of its last refill."""
        return self.tokens < self.burst - (self.burst / 2 if light is None else light)


class RateLimiter:
    """One token bucket per key (a signed-in address, a client IP), shared by all of that key's
    connections.

    Idle buckets are forgotten once full again, so memory stays bounded by the active keys; at most
    `max_keys` are tracked (swept at most once per second when the table is full, and a new key is
    refused while it stays full, so a flood of distinct keys costs neither memory nor a sweep per call).
    """

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}
        self._swept = float("-inf")

    def _bucket(self, key: str, now: float) -> TokenBucket | None:
        """`key`'s bucket, a new full one, or None when the table is full of other keys."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                if now - self._swept >= 1.0:
                    self.sweep(now)
                if len(self._buckets) >= self.max_keys:
                    return None
            bucket = self._buckets[key] = TokenBucket.full(self.rate, self.burst, now)
        return bucket

    def allow(self, key: str, now: float) -> bool:
        bucket = self._bucket(key, now)
        return bucket is not None and bucket.take(now)

    def owe(self, key: str, now: float, light: float | None = None) -> tuple[float, bool]:
        """Pacing instead of refusing: spend one token of `key`'s bucket even into debt; returns the
        seconds until its debt is repaid and whether `key` is heavy (used more than `light` tokens of
        its burst; default half). A new key while the table is full waits one token's time and
        counts as heavy."""
        bucket = self._bucket(key, now)
        if bucket is None:
            return 1.0 / self.rate, True
        return bucket.owe(now), bucket.heavy(light)

    def heavy(self, key: str, light: float) -> bool:
        """`key` used more than `light` tokens of its burst (as of its bucket's last use)."""
        bucket = self._buckets.get(key)
        return bucket is not None and bucket.heavy(light)

    def sweep(self, now: float) -> None:
        """Forget the buckets that have refilled completely (linear in the keys)."""
        self._swept = now
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * b.rate >= b.burst]
        for k in full:  # bound: the tracked keys
            del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)


def raise_fd_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (a shell's or service's common soft
    limit, 1,024, is far below what a relay can serve); returns (soft, hard) afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # e.g. a container that forbids it: keep the soft limit
            return soft, hard
        soft = target
    return soft, hard


def tune_gc(young: int = 500, middle: int = 2, full_every: int = 10_000) -> None:
    """The node process's garbage-collector policy; call once start-up is done.

    Freezes every object alive now (imports, the web3 and eth libraries, the server: ~85,000 objects
    a full pass would otherwise walk each time), and runs a full pass only every `full_every` passes
    of the middle generation (Python's default, 10, ran one every ~2 s under a connection flood, each
    walking every live connection: 0.3-0.6 s pauses). Safe because a closed relay connection leaves
    no cycles (`RelayConnection._unlink`), so what a full pass would find is little; young passes run
    every `young` net allocations as before.

    The middle generation is collected every `middle` young passes (Python: 10). A pass walks what
    the young passes since the last one kept: under a connection flood nearly everything (live
    pre-auth connections), ~30,000 objects and 7-23 ms of CPU per pass at 10; at 2 it walks a
    fifth as much per pause for the same total work (`full_every` grows by the same factor).
    Young passes every 500 rather than Python's 700 or the 1,000 used before halve both pauses
    again (a connection flood with the node at its fd limit, CPU per pass: young at most 3.8 -> 1.6 ms,
    middle 7.4 -> 4.6 ms) for the same total: each object is still walked once per generation.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, middle, full_every)


@dataclass
class _Generation:
    """Ids remembered between `first` and `last` (seconds), as 64-bit keyed hashes."""

    first: float
    last: float
    hashes: set[int] = field(default_factory=set)


class ReplayGuard:
    """Remembers accepted (sender, envelope id) pairs for at least `window` seconds, `max_ids` at most.

    An id seen again inside the window is a replay. Memory: a 64-bit hash per id (keyed with a
    per-process secret, so nobody can aim for collisions; a false "replayed" needs a 64-bit
    collision), ~80 bytes each, in generations of window/`generations` seconds (or max_ids /
    generations ids) that are dropped whole once their newest id is older than the window: expiry
    costs nothing per id, happens on every call and in `sweep` (which the relay calls periodically),
    so ids expire even when their sender never sends again. Past `max_ids`, the oldest generation is
    dropped early (`evicted` counts those ids): only the sender itself could then repeat one of them,
    since a relay accepts an envelope only from its signed-in `from`.
    """

    def __init__(self, window: float, max_ids: int, generations: int = 16) -> None:
        self.window = window
        self.max_ids = max_ids
        self._span = window / generations  # seconds one generation collects ids
        self._size = max(1, max_ids // generations)  # ids one generation collects at most
        self._key = secrets.token_bytes(16)
        self._keyed = hashlib.blake2b(digest_size=8, key=self._key)  # copied per id: keyed once
        self._gens: deque[_Generation] = deque()
        self._count = 0
        self.evicted = 0
        self._last = ("", "", self._digest("", ""))  # the last pair hashed and its hash

    def __len__(self) -> int:
        return self._count

    def _hash(self, sender: str, id: str) -> int:
        last = self._last  # `remember` right after `seen` of the same pair (the relay's order): hashed once
        if last[0] == sender and last[1] == id:
            return last[2]
        h = self._digest(sender, id)
        self._last = (sender, id, h)
        return h

    def _digest(self, sender: str, id: str) -> int:
        """blake2b-64 keyed with `_key` of "sender\\nid" (a copy of the keyed state: the key block is
        compressed once per guard, not once per id)."""
        h = self._keyed.copy()
        h.update(f"{sender}\n{id}".encode())
        return int.from_bytes(h.digest(), "big")

    def seen(self, sender: str, id: str, now: float) -> bool:
        gens = self._gens
        if gens and now - gens[0].last > self.window:
            self.sweep(now)
        h = self._hash(sender, id)
        for g in gens:  # noqa: SIM110 - no generator per envelope (hot path); bound: ~2 x generations
            if h in g.hashes:
                return True
        return False

    def remember(self, sender: str, id: str, now: float) -> None:
        gens = self._gens
        if gens and now - gens[0].last > self.window:
            self.sweep(now)
        last = gens[-1] if gens else None
        if last is None or now - last.first >= self._span or len(last.hashes) >= self._size:
            last = _Generation(now, now)
            gens.append(last)
        hashes = last.hashes
        before = len(hashes)
        hashes.add(self._hash(sender, id))
        if now > last.last:
            last.last = now
        self._count += len(hashes) - before
        while self._count > self.max_ids and len(self._gens) > 1:  # bound: generations
            dropped = self._gens.popleft()
            self._count -= len(dropped.hashes)
            self.evicted += len(dropped.hashes)

    def sweep(self, now: float) -> None:
        """Drop the generations whose newest id is older than the window (oldest first)."""
        while self._gens and now - self._gens[0].last > self.window:  # bound: generations
            self._count -= len(self._gens.popleft().hashes)
