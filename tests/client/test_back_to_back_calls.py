"""Calls placed back to back each get their TURN allocation: a hung-up call's allocations are
released before its close() returns, so the credential's user quota never fills with dead calls."""

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


def test_five_calls_back_to_back_all_connect_through_turn(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, ...]]:
        got = []
        async with network(tmp_path) as net:
            listener = Listener(bob, net.discovery)
            await listener.start()
            try:
                for _ in range(5):  # the credential's user quota is 4 allocations
                    session = await place_call(alice, net.discovery, bob.address)
                    incoming = await asyncio.wait_for(listener.calls.get(), 10)
                    got.append(session.call.stats.candidate_types)
                    await session.hang_up("next")
                    await incoming.close()
            finally:
                await listener.close()
        return got

    assert run(scenario(), timeout=120) == [("relay", "relay")] * 5
