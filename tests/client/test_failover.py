"""Failover: one of Bob's rendezvous relays is SIGKILLed mid-session; the next call goes through
the other relay and is connected within 3 s."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network as network
from clubchat.node.localnet import register_relay
from clubchat.registry import NOTIFY, RELAY, rendezvous
from tests.node.harness import run
from tests.node.process import NodeProcess

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)


def test_call_fails_over_when_a_rendezvous_relay_is_killed(tmp_path: Path) -> None:
    procs = [NodeProcess(tmp_path / f"p{i}", "--kinds", "relay,notify") for i in range(2)]
    try:

        async def scenario() -> None:
            async with network(tmp_path, relays=0) as net:
                for p in procs:
                    register_relay(net.discovery, p.uri, kinds=RELAY | NOTIFY)
                order = rendezvous(net.discovery, bob.address)
                assert sorted(order) == sorted(p.uri for p in procs)
                first = next(p for p in procs if p.uri == order[0])
                listener = Listener(bob, net.discovery)
                await listener.start()
                s1 = await place_call(alice, net.discovery, bob.address)
                assert s1.relay_endpoint == order[0]
                in1 = await asyncio.wait_for(listener.calls.get(), 10)
                await s1.hang_up("first call done")
                await in1.close()
                first.kill()  # SIGKILL mid-session: Bob's connection to it dies with it
                started = time.perf_counter()
                s2 = await place_call(alice, net.discovery, bob.address)
                elapsed = time.perf_counter() - started
                assert s2.relay_endpoint == order[1]
                assert s2.relays_tried == order
                assert s2.call.stats.candidate_types == ("relay", "relay")
                assert elapsed <= 3.0, elapsed
                in2 = await asyncio.wait_for(listener.calls.get(), 10)
                await s2.hang_up()
                await in2.close()
                await listener.close()

        run(scenario(), timeout=120)
    finally:
        for p in procs:
            p.kill()
