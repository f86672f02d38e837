"""A listener stays reachable: it reconnects (and signs in again) when its relay restarts, gets what the
relay's mailbox kept for it meanwhile, and moves to another relay when the registry's rendezvous set
drops one that stays down. Relays run as processes so they can be SIGKILLed and restarted."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.call import CallError
from clubchat.client.reconnect import Backoff
from clubchat.client.session import Listener, send_message
from clubchat.node.localnet import free_port_range, register_relay
from clubchat.protocol import messages as m
from clubchat.registry import NOTIFY, RELAY, InMemoryDiscovery, rendezvous
from tests.node.harness import run
from tests.node.process import NodeProcess

# Starts real processes (anvil, coturn or node processes) on loopback.
pytestmark = pytest.mark.integration

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)

FAST = Backoff(initial=0.1, maximum=0.5)


async def _until(predicate: object, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def _text(listener: Listener, timeout: float = 15.0) -> str:
    got = await asyncio.wait_for(listener.messages.get(), timeout)
    assert isinstance(got.envelope.payload, m.Text)
    return got.envelope.payload.body


def test_listener_reconnects_after_its_relay_restarts(tmp_path: Path) -> None:
    port = free_port_range(1)
    args = ("--kinds", "relay,notify", "--port", str(port))
    proc = NodeProcess(tmp_path / "relay", *args)
    try:

        async def scenario() -> None:
            nonlocal proc
            discovery = InMemoryDiscovery()
            register_relay(discovery, proc.uri, kinds=RELAY | NOTIFY)
            listener = Listener(bob, discovery, k=1, backoff=FAST)
            try:
                assert await listener.start() == [proc.uri]
                sent, _ = await send_message(alice, discovery, bob.address, "before")
                assert sent.status == "delivered" and await _text(listener) == "before"

                proc.kill()  # the relay dies under the listener
                await _until(lambda: not listener.clients)
                proc = NodeProcess(tmp_path / "relay", *args)  # same port, same mailbox
                # Sent while the listener may still be waiting to reconnect: stored, then handed over
                # when it signs in again (or delivered live if it already did).
                sent, _ = await send_message(alice, discovery, bob.address, "while you were away")
                assert sent.status in ("stored", "delivered")
                assert await _text(listener) == "while you were away"
                await _until(lambda: proc.uri in listener.clients)
                sent, _ = await send_message(alice, discovery, bob.address, "after")
                assert sent.status == "delivered"  # live: the listener is signed in again
                assert await _text(listener) == "after"
                assert listener.links[proc.uri].connects == 2
                events = [listener.relay_events.get_nowait() for _ in range(listener.relay_events.qsize())]
                assert events == [(proc.uri, "down"), (proc.uri, "up")]
            finally:
                await listener.close()

        run(scenario(), timeout=90)
    finally:
        proc.kill()


def test_listener_moves_when_the_rendezvous_set_drops_a_dead_relay(tmp_path: Path) -> None:
    procs = [NodeProcess(tmp_path / f"r{i}", "--kinds", "relay,notify") for i in range(2)]
    try:

        async def scenario() -> None:
            discovery = InMemoryDiscovery()
            operators = {register_relay(discovery, p.uri, kinds=RELAY | NOTIFY): p for p in procs}
            (first,) = rendezvous(discovery, bob.address, 1)
            listener = Listener(bob, discovery, k=1, backoff=FAST, refresh_seconds=60.0, stay_down=0.5)
            try:
                assert await listener.start() == [first]
                dead = next(op for op, p in operators.items() if p.uri == first)
                operators[dead].kill()
                discovery.nodes[dead].live = False  # the registry drops it (missed heartbeats)
                (other,) = rendezvous(discovery, bob.address, 1)
                assert other != first
                # well before the 60 s refresh: a relay that stayed down 0.5 s triggers a re-draw
                await _until(lambda: list(listener.clients) == [other], timeout=10)
                events = [listener.relay_events.get_nowait() for _ in range(listener.relay_events.qsize())]
                assert events[0] == (first, "down")
                assert events.index((other, "joined")) < events.index((other, "up"))
                sent, relay = await send_message(alice, discovery, bob.address, "found you")
                assert (sent.status, relay) == ("delivered", other)
                assert await _text(listener) == "found you"
            finally:
                await listener.close()

        run(scenario(), timeout=90)
    finally:
        for p in procs:
            p.kill()


def test_backoff_grows_to_its_maximum_with_jitter() -> None:
    delays = Backoff(initial=1.0, maximum=8.0, factor=2.0, jitter=0.5).delays(random.Random(7))
    got = [next(delays) for _ in range(6)]
    for d, base in zip(got, [1, 2, 4, 8, 8, 8], strict=True):
        assert base * 0.5 <= d <= base
    assert len(set(got)) == len(got)  # jittered: no two retries at the same instant
    with pytest.raises(ValueError, match="0 < initial <= maximum"):
        Backoff(initial=2.0, maximum=1.0)


def test_a_relay_answering_garbage_is_retried_not_fatal() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def scenario() -> None:
        hits = 0

        async def garbage(ws: ServerConnection) -> None:
            nonlocal hits
            hits += 1
            await ws.send("this is not a challenge")

        async with serve(garbage, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            discovery = InMemoryDiscovery()
            register_relay(discovery, f"ws://127.0.0.1:{port}", kinds=RELAY)
            listener = Listener(bob, discovery, k=1, backoff=FAST)
            with pytest.raises(CallError, match=r"none of the rendezvous relays answered .*ProtocolError"):
                await asyncio.wait_for(listener.start(), 10)  # was: waited forever
            assert not listener.links  # closed: no link keeps retrying after start() gave up
            seen = hits
            await asyncio.sleep(0.5)
            assert hits == seen

    run(scenario(), timeout=30)


def test_close_returns_while_the_link_is_stopping_a_serve_that_is_slow_to_end() -> None:
    """The demo once hung for 600 s: `RelayLink.close()` cancelled the link while it was waiting for its
    serving task to end (the relay had dropped the connection), the cancellation was taken for the
    serving task's, and the link reconnected and served on while close() waited forever."""
    from clubchat.client.reconnect import RelayLink
    from tests.node.harness import relay

    async def scenario() -> None:
        in_cleanup = asyncio.Event()

        async def serve(client: object) -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                in_cleanup.set()
                await asyncio.sleep(0.5)  # e.g. closing a call

        async with relay() as server:
            link = RelayLink(server.uri, bob, serve, backoff=FAST)
            assert await link.first_attempt()
            assert link.client is not None
            await link.client.ws.close()  # the connection drops: the link stops serve() before reconnecting
            await asyncio.wait_for(in_cleanup.wait(), 5)
            await asyncio.wait_for(link.close(), 5)  # was: waited forever
            assert link.client is None
            in_cleanup.clear()
            await asyncio.sleep(1.0)
            assert not in_cleanup.is_set() and link.connects == 1  # nothing reconnected after close()

    run(scenario(), timeout=30)
