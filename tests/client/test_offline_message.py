"""Offline delivery through the rendezvous set: Alice messages Carol while Carol is offline; the first
rendezvous relay stores it in its NOTIFY mailbox; Carol's listener gets it when she signs in, and the
mailbox is empty once she acknowledged it. Carol published her key bundle earlier (a message is
encrypted to the recipient's keys, so a wallet that never published any cannot be written to)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.session import Listener, publish_keys, send_message
from clubchat.node.localnet import local_network
from clubchat.protocol import messages as m
from tests.node.harness import run

pytestmark = [pytest.mark.integration]

alice = Account.from_key("0x" + "a1" * 32)
carol = Account.from_key("0x" + "c3" * 32)


def test_message_to_an_offline_address_arrives_when_it_signs_in(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_network(tmp_path) as net:
            assert len(await publish_keys(carol, net.discovery)) == 2  # then Carol goes offline
            sent, relay_uri = await send_message(alice, net.discovery, carol.address, "see you at the club")
            assert sent.status == "stored"
            node = next(n for n in net.nodes.values() if n.relay is not None and n.relay.uri == relay_uri)
            assert node.mailbox is not None and await node.mailbox.count(carol.address) == 1
            listener = Listener(carol, net.discovery)
            await listener.start()
            got = await asyncio.wait_for(listener.messages.get(), 10)
            assert got.envelope.payload == m.Text(body="see you at the club")
            assert got.envelope.sender == alice.address and got.relay == relay_uri
            for _ in range(100):
                if await node.mailbox.count(carol.address) == 0:
                    break
                await asyncio.sleep(0.05)
            assert await node.mailbox.count(carol.address) == 0
            # now online: the next message is delivered live
            sent, _ = await send_message(alice, net.discovery, carol.address, "I'm here")
            assert sent.status == "delivered"
            assert (await asyncio.wait_for(listener.messages.get(), 10)).envelope.payload == m.Text(
                body="I'm here"
            )
            await listener.close()

    run(scenario(), timeout=60)
