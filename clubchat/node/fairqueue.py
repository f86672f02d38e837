"""Fair admission for the HTTP credential endpoint: a node-wide request rate shared in turns between
client IPs, so that many IPs each just under the per-IP limit cannot drain the node's capacity and
starve a client from another IP.

With a single shared token bucket, 20 IPs at 9 requests/s took every token and an honest fetch from a
21st IP failed 9 times in 17. Here, while tokens last a request is admitted at once; when they run
out, requests wait in one short queue per key (IP) and the keys are served round-robin as tokens come
back: each waiting IP gets one request through per turn, whatever its own rate, so an honest client
waits at most about (number of busy IPs) / rate seconds. A key's queue holds `per_key` requests
(further ones are refused at once) and no request waits longer than `max_wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable


class FairQueue:
    """`await admit(key)` is True when the request may proceed, False when it is refused (busy)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        per_key: int = 4,
        max_wait: float = 5.0,
        max_waiting: int = 4_096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or per_key < 1 or max_wait <= 0 or max_waiting < 1:
            raise ValueError("fair queue: rate, burst, per_key, max_wait and max_waiting must be positive")
        self.rate = rate
        self.burst = burst
        self.per_key = per_key
        self.max_wait = max_wait
        self.max_waiting = max_waiting  # all queues together: memory stays bounded whatever the IPs
        self.clock = clock
        self.tokens = burst
        self.updated = clock()
        self.waiting: dict[str, deque[asyncio.Future[None]]] = {}  # key -> its waiting requests
        self.turns: deque[str] = deque()  # keys with waiting requests, in serving order
        self.queued = 0
        self._server: asyncio.Task[None] | None = None

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def admit(self, key: str) -> bool:
        self._refill()
        if not self.turns and self.tokens >= 1:  # nobody waits: no queueing at all
            self.tokens -= 1
            return True
        queue = self.waiting.get(key)
        if (queue is not None and len(queue) >= self.per_key) or self.queued >= self.max_waiting:
            return False
        if queue is None:
            queue = self.waiting[key] = deque()
            self.turns.append(key)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(fut)
        self.queued += 1
        if self._server is None:
            self._server = asyncio.create_task(self._serve())
        try:
            await asyncio.wait_for(fut, self.max_wait)
            return True
        except TimeoutError:
            return False
        finally:
            self._drop(key, fut)

    def _drop(self, key: str, fut: asyncio.Future[None]) -> None:
        queue = self.waiting.get(key)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(fut)  # bound: per_key entries
            self.queued -= 1
        if not queue:
            del self.waiting[key]
            with contextlib.suppress(ValueError):
                self.turns.remove(key)  # bound: keys with waiting requests (<= max_waiting)

    async def _serve(self) -> None:
        """Hand out tokens round-robin over the waiting keys, one request per key per turn."""
        try:
            while self.turns:  # bound: ends when nobody waits; each pass admits or sleeps for a token
                self._refill()
                if self.tokens < 1:
                    await asyncio.sleep((1 - self.tokens) / self.rate)
                    continue
                key = self.turns.popleft()
                queue = self.waiting[key]
                fut = queue.popleft()
                self.queued -= 1
                if queue:
                    self.turns.append(key)
                else:
                    del self.waiting[key]
                if not fut.done():  # a timed-out request costs no token
                    self.tokens -= 1
                    fut.set_result(None)
        finally:
            self._server = None
