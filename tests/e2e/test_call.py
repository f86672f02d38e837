"""End to end: Alice calls Bob by address through Bob's rendezvous relays and a TURN node found in
the registry; the selected ICE pair is relay/relay, audio flows, a file arrives intact, coturn
relayed the bytes, and `bye` ends the call. Everything on loopback, processes started here."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.call import Call, CallError
from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network as network
from clubchat.protocol import messages as m
from tests.node.harness import run

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fast_ice")]

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
FILE_BYTES = 256 * 1024


def test_call_through_turn_with_file_transfer(tmp_path: Path) -> None:
    data = os.urandom(FILE_BYTES)

    async def scenario() -> None:
        async with network(tmp_path) as net:
            listener = Listener(bob, net.discovery)
            assert len(await listener.start()) == 2  # signed in to both rendezvous relays
            session = await place_call(alice, net.discovery, bob.address)
            incoming = await asyncio.wait_for(listener.calls.get(), 10)
            assert incoming.peer == alice.address
            # the registry's TURN node, and nothing but relay candidates on both ends
            assert session.turn.node == net.turn_operator
            assert session.turn.credentials.uris == (net.turn.coturn.config.uri,)  # type: ignore[union-attr]
            assert session.call.stats.candidate_types == ("relay", "relay")
            assert incoming.call.stats.candidate_types == ("relay", "relay")
            assert session.relay_endpoint in listener.clients
            # audio flows both ways
            await asyncio.sleep(0.5)
            assert session.call.audio_frames > 5 and incoming.call.audio_frames > 5
            # the file, chunked, hashed, acknowledged
            assert session.call.files is not None and incoming.call.files is not None
            ack = await session.call.files.send_file(data, mime="application/octet-stream")
            got = await asyncio.wait_for(incoming.call.files.received.get(), 10)
            assert ack.ok and got.ok
            assert ack.sha256 == hashlib.sha256(data).hexdigest() == got.sha256
            assert got.data == data and ack.count == -(-FILE_BYTES // 16384)
            # bye ends the call on the other side
            await session.hang_up("done")
            for _ in range(100):
                if incoming.call.ended:
                    break
                await asyncio.sleep(0.05)
            assert incoming.call.ended == "done"
            await incoming.close()
            await listener.close()
            # coturn relayed the bytes: its per-session usage counts the file both ways
            coturn = net.turn.coturn
            assert coturn is not None
            for _ in range(100):
                usage = coturn.usage()
                if {u.username.split(":")[1] for u in usage} >= {alice.address, bob.address}:
                    break
                await asyncio.sleep(0.1)
            received = sum(u.received_bytes for u in usage if u.username.endswith(alice.address))
            sent = sum(u.sent_bytes for u in usage if u.username.endswith(bob.address))
            assert received > FILE_BYTES, usage
            assert sent > FILE_BYTES, usage

    run(scenario(), timeout=120)


def test_bad_turn_credentials_fail_loudly(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with network(tmp_path, relays=1) as net:
            creds = net.turn.relay.turn_credentials(alice.address)  # type: ignore[union-attr,misc]
            bad = m.TurnCredentials(
                username=creds.username, password="d3Jvbmc=", ttl=creds.ttl, uris=creds.uris
            )
            sent: list[m.Payload] = []

            async def collect(p: m.Payload) -> None:
                sent.append(p)

            call = Call(bad, collect)
            with pytest.raises(CallError, match="no relay candidate"):
                await asyncio.wait_for(call.offer(), 20)
            assert sent == []  # nothing was signaled
            await call.close()

    run(scenario(), timeout=60)
