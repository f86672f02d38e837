"""A relay's closed connections are freed by reference counting, not left as cyclic garbage.

Under a connection flood the relay opens and closes hundreds of connections a second; left as cycles
they made the garbage collector's full passes (which also walk every live connection) run every ~2 s
for 0.3-0.6 s, and honest messages waited behind them. Each way a connection ends is covered: the
client closes, signs in then closes, resets; the relay evicts it for a newer one, reaps it at the
sign-in timeout, closes it after refused frames, or refuses it at accept. And the node process's
collector policy (`tune_gc`) keeps full passes off the start-up heap.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import types
from collections.abc import Awaitable, Callable

import pytest
from eth_account import Account
from websockets.server import ServerProtocol

from clubchat.node.limits import tune_gc
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_conn import Conn, RelayConnection
from tests.node.harness import Raw, relay, run

alice = Account.from_key("0x" + "a1" * 32)
ATTACKER = "127.0.0.2"


def _server_side(obj: object) -> str | None:
    """The kind of a relay-side object, None for anything else (the test's own clients)."""
    if isinstance(obj, (RelayConnection, Conn, ServerProtocol)):
        return type(obj).__name__
    if isinstance(obj, types.FrameType) and "clubchat" in obj.f_code.co_filename:
        return f"frame {obj.f_code.co_name}"
    return None


async def _cyclic_garbage(server: RelayServer, scenario: Callable[[str], Awaitable[None]]) -> dict[str, int]:
    """Run `scenario(uri)` and return the relay-side objects that only a collector pass could free."""
    await asyncio.sleep(0.1)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await scenario(server.uri)
        await asyncio.sleep(0.3)  # connection_lost and the handler tasks' ends
        gc.collect()
        found = collections.Counter(k for k in map(_server_side, gc.garbage) if k is not None)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return dict(found)


async def _client_closes(uri: str) -> None:
    for _ in range(3):
        raw = await Raw.open(uri)
        await raw.close()


async def _signs_in_then_closes(uri: str) -> None:
    for _ in range(3):
        raw = await Raw.open(uri)
        await raw.sign_in(alice)
        await raw.close()


async def _client_resets(uri: str) -> None:
    for _ in range(3):
        raw = await Raw.open(uri)
        raw.ws.transport.abort()


async def _refused_frames(uri: str) -> None:
    raw = await Raw.open(uri)
    for _ in range(8):  # past pre_auth_max_errors the relay closes it (1008)
        await raw.send("{}")
    await asyncio.wait_for(raw.ws.wait_closed(), 5)


async def _held(uri: str, n: int) -> list[Raw]:
    return [await Raw.open(uri) for _ in range(n)]


@pytest.mark.parametrize(
    "scenario",
    [_client_closes, _signs_in_then_closes, _client_resets, _refused_frames],
    ids=["client-closes", "signed-in-then-closes", "client-resets", "refused-frames"],
)
def test_closed_connections_leave_no_cyclic_garbage(scenario: Callable[[str], Awaitable[None]]) -> None:
    async def main() -> dict[str, int]:
        async with relay(RelayConfig(per_ip_exempt=("127.0.0.0/8",))) as server:
            await _client_closes(server.uri)  # warm-up: first-use caches are not garbage
            return await _cyclic_garbage(server, scenario)

    assert run(main()) == {}


def test_evicted_and_reaped_connections_leave_no_cyclic_garbage() -> None:
    async def evict_and_reap(uri: str) -> None:
        held = await _held(uri, 6)  # max_connections 3: each new one evicts the oldest
        await asyncio.sleep(1.5)  # the survivors pass the 0.5-s sign-in timeout and are reaped
        for raw in held:
            await raw.ws.wait_closed()

    async def main() -> tuple[dict[str, int], dict[str, int]]:
        cfg = RelayConfig(per_ip_exempt=("127.0.0.0/8",), max_connections=3, sign_in_timeout=0.5)
        async with relay(cfg) as server:
            server.max_connections = 3  # start() keeps it under the fd limit; 3 is already below
            await _client_closes(server.uri)
            found = await _cyclic_garbage(server, evict_and_reap)
            return found, dict(server.stats)

    found, stats = run(main())
    assert stats["dropped:evicted-pre-auth"] >= 3
    assert found == {}


def test_connections_refused_at_accept_leave_no_cyclic_garbage() -> None:
    async def over_the_per_ip_cap(uri: str) -> None:
        held = []
        for _ in range(4):  # max_pre_auth_per_ip 2: the last two are refused at accept
            with contextlib.suppress(Exception):  # refused: reset before the handshake
                held.append(await asyncio.wait_for(Raw.open(uri), 5))
        for raw in held:
            await raw.close()

    async def main() -> tuple[dict[str, int], int]:
        async with relay(RelayConfig(max_pre_auth_per_ip=2)) as server:
            await _client_closes(server.uri)
            found = await _cyclic_garbage(server, over_the_per_ip_cap)
            return found, server.stats["refused:pre-auth-per-ip"]

    found, refused = run(main())
    assert refused >= 2
    assert found == {}


def test_tune_gc_freezes_the_start_up_heap_and_spaces_full_passes() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    try:
        tune_gc(young=10_000, full_every=1_000)
        assert gc.get_freeze_count() > frozen_before  # start-up objects are never walked again
        assert gc.get_threshold() == (10_000, 2, 1_000)
        # the node's policy: middle passes every 2 young ones (each walks a fifth of what it did at
        # Python's 10), full passes as rarely as before (5,000 x 2 = 1,000 x 10 young passes)
        tune_gc()
        assert gc.get_threshold() == (500, 2, 10_000)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
