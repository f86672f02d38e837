"""Staying connected to a relay: reconnect with exponential backoff and jitter, sign in again each time.

`RelayLink(uri, account, serve)` keeps one signed-in `RelayClient` to `uri` for as long as it runs:
when the connection drops (the relay restarted, the network blinked) it waits a backoff delay and
connects again, which also signs in again. Signing in is what makes a NOTIFY relay hand over the
mailbox: every envelope stored for this address while it was away comes again (as `stored`) until
it is acknowledged, so a reconnect re-fetches the mailbox by itself. `serve(client)` runs for each
connection and is cancelled when it drops. `down_for()` says how long the link has been without a
connection, so an owner (the `Listener`) can move to another relay when one stays down;
`on_state(uri, "up" | "down")` is told of every sign-in and every lost connection.

Backoff: the n-th consecutive failure waits min(maximum, initial * factor**n) scaled by a random
factor in [1 - jitter, 1] ("equal jitter"), so listeners that lost the same relay do not all come
back in the same instant.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from websockets.exceptions import InvalidHandshake, InvalidURI

from clubchat.aio import cancel_and_wait
from clubchat.client.history import HistoryBook
from clubchat.client.relay_client import RelayClient, RelayError

log = logging.getLogger("clubchat.reconnect")

CONNECT_ERRORS = (OSError, TimeoutError, RelayError, InvalidHandshake, InvalidURI)

Serve = Callable[[RelayClient], Coroutine[Any, Any, None]]
OnState = Callable[[str, str], None]  # (relay uri, "up" | "down")


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnect attempts (seconds)."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # each delay is scaled by a random factor in [1 - jitter, 1]

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ValueError("backoff needs 0 < initial <= maximum, factor >= 1 and 0 <= jitter <= 1")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The delay before each retry, forever (the caller stops iterating)."""
        base = self.initial
        while True:  # bound: the consumer takes one delay per failed attempt and stops on success
            yield base * (1 - self.jitter * rng.random())
            base = min(self.maximum, base * self.factor)


DEFAULT_BACKOFF = Backoff()


class RelayLink:
    """One relay, kept connected and signed in until `close()`."""

    def __init__(
        self,
        uri: str,
        account: LocalAccount,
        serve: Serve,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        timeout: float = 10.0,
        rng: random.Random | None = None,
        on_state: OnState | None = None,
        history: HistoryBook | None = None,
    ) -> None:
        self.uri = uri
        self.history = history  # every connection checks the relay's signed history with it
        self.on_state = on_state
        self.account = account
        self.serve = serve
        self.backoff = backoff
        self.timeout = timeout
        self.rng = rng or random.Random()
        self.client: RelayClient | None = None
        self.connects = 0  # successful sign-ins so far (1 = the first, more = reconnects)
        self.last_error: str | None = None
        self._down_since: float | None = time.monotonic()
        self._first = asyncio.get_running_loop().create_future()  # outcome of the first attempt
        self._closing = False
        self._task = asyncio.create_task(self._run())

    async def first_attempt(self) -> bool:
        """Wait for the first connection attempt; True when it signed in."""
        return bool(await asyncio.shield(self._first))

    def down_for(self) -> float:
        """Seconds since the link lost (or never had) its connection; 0 while connected."""
        return 0.0 if self._down_since is None else time.monotonic() - self._down_since

    async def _run(self) -> None:
        delays = self.backoff.delays(self.rng)
        while not self._closing:  # bound: runs until close(); each round waits a backoff delay
            try:
                client = await RelayClient.connect(
                    self.uri, self.account, timeout=self.timeout, history=self.history
                )
            except Exception as exc:  # CONNECT_ERRORS, or a relay answering garbage: retry either way
                self.last_error = f"{type(exc).__name__}: {exc}"
                if not self._first.done():
                    self._first.set_result(False)
                delay = next(delays)
                log.info("relay %s unreachable (%s); retrying in %.1f s", self.uri, self.last_error, delay)
                await asyncio.sleep(delay)
                continue
            delays = self.backoff.delays(self.rng)  # connected: the next outage starts from `initial`
            self.client, self._down_since, self.last_error = client, None, None
            self.connects += 1
            if not self._first.done():
                self._first.set_result(True)
            elif self.connects > 1:
                log.warning("reconnected to relay %s (signed in again)", self.uri)
            if self.on_state is not None:
                self.on_state(self.uri, "up")
            serving = asyncio.create_task(self.serve(client))
            closed = asyncio.create_task(client.closed.wait())
            try:
                await asyncio.wait({serving, closed}, return_when=asyncio.FIRST_COMPLETED)
                if serving.done() and not serving.cancelled() and serving.exception() is not None:
                    log.error("serving relay %s failed: %r; reconnecting", self.uri, serving.exception())
            finally:
                try:
                    await cancel_and_wait((serving, closed), quiet=True)
                finally:
                    self.client, self._down_since = None, time.monotonic()
                    await client.close()
            log.warning("lost relay %s; reconnecting", self.uri)
            if self.on_state is not None:
                self.on_state(self.uri, "down")
            await asyncio.sleep(next(delays))

    async def close(self) -> None:
        self._closing = True  # the loop ends at its next turn even if a cancellation got lost
        await cancel_and_wait([self._task])
        if not self._first.done():
            self._first.set_result(False)
