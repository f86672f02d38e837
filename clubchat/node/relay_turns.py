"""The relay's event-loop turns: how much work done for connections that have not signed in yet may
run in one turn (`PreAuthTurns`), and a record of how long turns held the loop (`LoopWatch`).

Why a budget per turn: everything runs on one event loop, and an honest envelope waits for the turn
it lands in and the one before it. A connection flood hands the loop work in bursts: the kernel's
accept queue, then one read callback per readable socket in the same turn, each parsing an HTTP
upgrade request (and its handshake step in the next turn, ~0.5-1 ms each), or kilobytes of tiny
pre-auth frames. Unbounded, a few hundred of them made one turn last tens of milliseconds, and the
honest pair's p99 rose 12-27x over idle on a quiet machine. Now bytes read from a connection that has
not signed in are handed to websockets in slices of `pre_auth_slice_bytes`, at most
`pre_auth_per_turn` slices per turn for the whole node; the rest waits, oldest first, for the next
turns (reading goes on, bounded per connection by `pre_auth_max_bytes`). The loss of a connection
that has not signed in is one slice too: a flood's connections reset together (a client's
handshake timeout) woke every handshake and handler task in one turn. Accepts are bounded per turn
by the relay's accept batch (clubchat.node.relay). Nothing is refused for lack of budget: it is
served a turn later, and a lost connection's slot is free at once.

The alternative, accepting and signing in on another process and handing the signed-in socket over
(SCM_RIGHTS), takes the work off this loop's CPU as well; the budget was chosen because it bounds
what honest traffic waits for per turn with a few dozen lines, and the work it defers is itself
bounded by the admission limits (clubchat.node.relay_admission).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict, deque
from typing import Protocol


class Feeder(Protocol):
    """A connection with pre-auth input waiting (`RelayConnection`)."""

    queued: bool

    def feed(self) -> bool:
        """Hand one slice of waiting input to websockets; True while more waits."""
        ...


class LoopWatch:
    """Per wall-clock second: the longest a turn held the loop (a timer every `period` s notes how
    late it ran: wall time, so it grows when the machine is busy), the most CPU time one turn took
    (the thread's CPU clock around each of asyncio's turns: what the node itself did, whatever the
    machine's load), and the most pre-auth slices and CPU time one turn spent (`PreAuthTurns`). Kept
    for the last `keep` seconds; the status file carries them (`seconds()`), so a benchmark can tell
    stalls during an attack from stalls before it."""

    def __init__(self, period: float = 0.01, keep: int = 120) -> None:
        self.period = period
        self.keep = keep
        # second -> [lag ms, pre-auth slices, pre-auth CPU ms, turn CPU ms]
        self._by_second: OrderedDict[int, list[float]] = OrderedDict()
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._handle = loop.call_at(loop.time() + self.period, self._tick, loop.time() + self.period)
        turn = getattr(loop, "_run_once", None)  # CPython's selector loop: one call per turn
        if turn is not None:
            clock, note = time.thread_time, self.note

            def timed_turn() -> None:
                t0 = clock()
                turn()
                note(turn=(clock() - t0) * 1e3)

            loop._run_once = timed_turn  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._loop is not None:
            vars(self._loop).pop("_run_once", None)  # the class's own again
            self._loop = None

    def _tick(self, due: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.note(lag=(now - due) * 1e3)
        self._handle = loop.call_at(now + self.period, self._tick, now + self.period)

    def note(self, lag: float = 0.0, slices: int = 0, cpu: float = 0.0, turn: float = 0.0) -> None:
        second = int(time.time())
        row = self._by_second.get(second)
        if row is None:
            row = self._by_second[second] = [0.0, 0.0, 0.0, 0.0]
            while len(self._by_second) > self.keep:  # bound: `keep` seconds
                self._by_second.popitem(last=False)
        if lag > row[0]:
            row[0] = lag
        if slices > row[1]:
            row[1] = slices
        if cpu > row[2]:
            row[2] = cpu
        if turn > row[3]:
            row[3] = turn

    def seconds(self) -> list[list[float]]:
        """[second, longest loop lag ms, most pre-auth slices in a turn, most pre-auth CPU ms in a
        turn, most CPU ms of a turn] for each recorded second, oldest first."""
        return [
            [s, round(lag, 2), n, round(cpu, 3), round(turn, 3)]
            for s, (lag, n, cpu, turn) in self._by_second.items()
        ]


class PreAuthTurns:
    """The node-wide budget of pre-auth slices per event-loop turn, and the connections waiting for
    one (oldest first, one slice each per pass)."""

    def __init__(self, per_turn: int, stats: Counter[str], watch: LoopWatch) -> None:
        self.per_turn = per_turn
        self.stats = stats
        self.watch = watch
        self.used = 0  # slices this turn
        self.cpu = 0.0  # CPU seconds of this turn's slices
        self.waiting: deque[Feeder] = deque()
        self._armed = False

    def offer(self, conn: Feeder) -> None:
        """`conn` has input waiting: serve a slice now if this turn has room and nobody waits before
        it, else queue it for a later turn."""
        if conn.queued:
            return
        if not self.waiting and self.used < self.per_turn:
            if not self._slice(conn):
                return
        else:
            self.stats["pre-auth-deferred"] += 1
        conn.queued = True
        self.waiting.append(conn)
        self._arm()

    def _slice(self, conn: Feeder) -> bool:
        self.used += 1
        self._arm()
        t0 = time.thread_time()
        more = conn.feed()
        self.cpu += time.thread_time() - t0
        return more

    def _arm(self) -> None:
        if not self._armed:  # call_soon: the callback runs first in the next turn
            self._armed = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        """A new turn: note the last one, then serve the waiting connections first."""
        self._armed = False
        self.watch.note(slices=self.used, cpu=self.cpu * 1e3)
        self.used, self.cpu = 0, 0.0
        waiting = self.waiting
        while waiting and self.used < self.per_turn:  # bound: per_turn slices
            conn = waiting.popleft()
            conn.queued = False
            if self._slice(conn):
                conn.queued = True
                waiting.append(conn)  # round robin: its next slice after the others'
        if waiting:
            self._arm()
