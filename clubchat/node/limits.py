"""Per-address rate limits and envelope replay protection for the relay (pure, clock injected)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


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

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if available; refill first (never above `burst`)."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class RateLimiter:
    """One token bucket per key (signed-in address), shared by all of that key's connections.

    Idle buckets are forgotten once full again, so memory stays bounded by the active keys.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket.full(self.rate, self.burst, now)
        ok = bucket.take(now)
        if len(self._buckets) > 100_000:  # bound: sweep buckets that have refilled completely
            self.sweep(now)
        return ok

    def sweep(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * b.rate >= b.burst]
        for k in full:
            del self._buckets[k]


class ReplayGuard:
    """Remembers accepted (sender, envelope id) pairs for `window` seconds, at most `per_sender` each.

    An id seen again inside the window is a replay. Ids older than the window, or pushed out by a
    sender's own `per_sender` newer ids, are forgotten (a sender that wants to replay its own old
    message can only do so after sending `per_sender` others, which the rate limit makes slow).
    """

    def __init__(self, window: float, per_sender: int) -> None:
        self.window = window
        self.per_sender = per_sender
        self._seen: dict[str, OrderedDict[str, float]] = {}

    def seen(self, sender: str, id: str, now: float) -> bool:
        ids = self._seen.get(sender)
        if ids is None:
            return False
        self._expire(ids, now)
        return id in ids

    def remember(self, sender: str, id: str, now: float) -> None:
        ids = self._seen.setdefault(sender, OrderedDict())
        ids[id] = now
        ids.move_to_end(id)
        while len(ids) > self.per_sender:  # bound: evict this sender's oldest ids
            ids.popitem(last=False)

    def _expire(self, ids: OrderedDict[str, float], now: float) -> None:
        # Ordered by insertion time, so the loop stops at the first id still inside the window.
        while ids:
            oldest_id, ts = next(iter(ids.items()))
            if now - ts <= self.window:
                break
            del ids[oldest_id]
