"""Rooms on a relay fed from a real chain (anvil + the deployed Communities and Premium): the ban
latency from the ban transaction's receipt to the banned member's `room-left`, and fail-open /
fail-closed once the RPC stops answering."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3.logs import DISCARD

from clubchat.chain.tx import send_tx
from clubchat.communities.rooms import RoomClient
from clubchat.deploy.plan import Deployment, deploy_communities
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import ChainFeed, enable_rooms
from clubchat.params import load
from clubchat.protocol import messages as m
from tests.node.chain_env import Chain, chain
from tests.node.harness import relay, run

ALICE, BOB = Account.from_key("0x" + "a1" * 32), Account.from_key("0x" + "b2" * 32)
OPEN = 1
POLL = 0.25
pytestmark = [pytest.mark.integration]


def _communities(c: Chain) -> tuple[Any, Any]:
    dep = Deployment(treasury=c.backend.deployer, genesis_time=c.backend.timestamp())
    dep.contracts.update(ClubToken=c.token, NodeRegistry=c.registry)
    deploy_communities(c.backend, load(), dep)
    return dep.contracts["Communities"], dep.contracts["Premium"]


def _community(c: Chain, communities: Any, fail_open: bool) -> int:
    """An open community of the deployer with ALICE and BOB as members; returns its id."""
    owner = c.backend.account
    c.fund(owner.address, 1_000)
    send_tx(c.w3, owner, c.token.functions.approve(communities.address, 2**256 - 1))
    receipt = send_tx(c.w3, owner, communities.functions.create(owner.address, OPEN, 0, fail_open))
    (created,) = communities.events.CommunityCreated().process_receipt(receipt, errors=DISCARD)
    cid = int(created["args"]["community_id"])
    send_tx(c.w3, owner, communities.functions.add_members(cid, [ALICE.address, BOB.address]))
    return cid


async def _wait_known(feed: ChainFeed, cid: int) -> None:
    for _ in range(200):  # bound: 10 s
        if feed.membership.is_member(cid, BOB.address, feed.now()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the relay never learned the members: {feed.last_error}")


async def _both_in_the_room(server: RelayServer, feed: ChainFeed, cid: int) -> tuple[RoomClient, RoomClient]:
    """Once the relay knows the members: ALICE and BOB connected and in the community's room."""
    await _wait_known(feed, cid)
    clients = []
    for who in (ALICE, BOB):
        client = await RoomClient.connect(server.uri, who, timeout=5)
        assert isinstance(client, RoomClient)
        await client.join(cid)
        clients.append(client)
    return clients[0], clients[1]


def test_a_ban_reaches_the_relay_within_one_confirmation_and_one_poll(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        communities, premium = _communities(c)
        cid = _community(c, communities, fail_open=False)
        owner = c.backend.account

        async def scenario() -> float:
            async with relay(RelayConfig()) as server:
                feed = ChainFeed(c.w3, communities, premium, c.manifest.block, depth=1, poll=POLL)
                enable_rooms(server, feed)
                follower = asyncio.create_task(feed.run())
                c.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
                alice, bob = await _both_in_the_room(server, feed, cid)
                assert (await alice.send_room(cid, m.RoomSealed(epoch=1, ct="YmVmb3Jl"))).delivered == 1
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(
                    None, send_tx, c.w3, owner, communities.functions.ban(cid, BOB.address)
                )
                mined = time.monotonic()
                c.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # the next block
                left = await asyncio.wait_for(bob.left.get(), 10)
                latency = time.monotonic() - mined
                assert left.code == "banned"
                assert (await alice.send_room(cid, m.RoomSealed(epoch=1, ct="YWZ0ZXI="))).delivered == 0
                follower.cancel()
                await alice.close()
                await bob.close()
                return latency

        latency = run(scenario())
        assert latency < POLL + 2.0, latency  # one poll interval, plus a shared machine's slack
        print(f"ban latency: {latency * 1000:.0f} ms (depth 1, poll {POLL} s)")


@pytest.mark.parametrize("fail_open", [True, False])
def test_an_unreachable_rpc_fails_open_or_closed_as_the_community_says(
    tmp_path: Path, fail_open: bool
) -> None:
    with chain(tmp_path) as c:
        communities, premium = _communities(c)
        cid = _community(c, communities, fail_open=fail_open)

        async def scenario() -> None:
            async with relay(RelayConfig()) as server:
                feed = ChainFeed(
                    c.w3, communities, premium, c.manifest.block, depth=0, poll=POLL, stale_after=1.0
                )
                enable_rooms(server, feed)
                follower = asyncio.create_task(feed.run())
                alice, bob = await _both_in_the_room(server, feed, cid)
                c.anvil.stop()  # the RPC goes away
                await asyncio.sleep(1.0 + 3 * POLL)
                assert feed.stale() and feed.last_error is not None
                if fail_open:
                    assert bob.left.empty()
                    assert (await alice.send_room(cid, m.RoomSealed(epoch=1, ct="c2VydmVk"))).delivered == 1
                else:
                    assert (await asyncio.wait_for(bob.left.get(), 5)).code == "membership-unavailable"
                    assert (await asyncio.wait_for(alice.left.get(), 5)).code == "membership-unavailable"
                follower.cancel()
                await alice.close()
                await bob.close()

        run(scenario())
