"""Calls placed back to back each get their TURN allocation: a call takes one allocation per side
(max-bundle: one ICE transport for audio and data), so a wallet's credential quota of 4 holds three
calls whose allocations coturn has not freed yet. With aiortc's default bundle policy every m-line
gathered its own allocation and the third call of a quick series got no relay candidate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network as network
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a3" * 32)
bob = Account.from_key("0x" + "b4" * 32)
CALLS = 3  # coturn frees a deleted allocation up to a second or more later (under load): 3 x 1 < 4


def test_three_calls_back_to_back_connect_through_turn_one_allocation_per_side(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, ...]]:
        got = []
        async with network(tmp_path) as net:
            listener = Listener(bob, net.discovery)
            await listener.start()
            try:
                for _ in range(CALLS):
                    session = await place_call(alice, net.discovery, bob.address)
                    incoming = await asyncio.wait_for(listener.calls.get(), 10)
                    got.append(session.call.stats.candidate_types)
                    await session.hang_up("next")
                    await incoming.close()
            finally:
                await listener.close()
        return got

    assert run(scenario(), timeout=120) == [("relay", "relay")] * CALLS
    [log] = tmp_path.rglob("turnserver.log")
    text = log.read_text(errors="replace")
    assert text.count("ALLOCATE processed, success") == 2 * CALLS  # one per side and call
    assert text.count("lifetime=0") == 2 * CALLS  # and each deleted at hang-up
