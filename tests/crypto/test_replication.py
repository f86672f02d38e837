"""Relay-to-relay copies of key bundles: a bundle (or revocation) a client publishes on one relay reaches
the address's other rendezvous relays, which check the copy exactly as a publish from that wallet (a
forged, foreign or expired copy is refused with the same reasons); copies are not copied on (no echo),
the queue is bounded, and a relay that is down costs only its copy."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.crypto.device import DeviceKeys
from clubchat.node.keybundles import Replicator
from clubchat.node.localnet import register_relay
from clubchat.protocol import messages as m
from clubchat.registry import InMemoryDiscovery
from tests.crypto.conftest import alice, mallory
from tests.node.harness import relay, run

pytestmark = [pytest.mark.integration]


def test_a_published_bundle_and_its_revocation_reach_the_other_rendezvous_relays() -> None:
    async def scenario() -> None:
        discovery = InMemoryDiscovery()
        async with AsyncExitStack() as stack:
            servers = [await stack.enter_async_context(relay()) for _ in range(2)]
            for server in servers:
                register_relay(discovery, server.uri)
            replicators = [Replicator.attach(server, discovery) for server in servers]
            for replicator in replicators:
                replicator.start()
                stack.push_async_callback(replicator.stop)
            a = await RelayClient.connect(servers[0].uri, alice)
            now = int(servers[0].clock())
            keys = DeviceKeys.create(alice, a.chain_id, now)
            await a.publish_keys(keys.bundle())
            await replicators[0].drain()
            assert servers[1].keybundles.keys(alice.address).bundle == keys.bundle()
            assert servers[1].keybundles.stats["replicated-in"] == 1
            assert replicators[0].stats["copied"] == 1
            await replicators[1].drain()
            assert servers[0].keybundles.stats["replicated-in"] == 0  # the copy was not copied back
            assert replicators[1].stats["copied"] == 0
            # a revocation published on the first relay drops the bundle on the second too
            revocation = keys.revocation(alice, now + 1)
            await a.revoke_keys(revocation)
            await replicators[0].drain()
            copied = servers[1].keybundles.keys(alice.address)
            assert copied.bundle is None and copied.revocations == (revocation,)
            assert replicators[0].stats["connected"] == 1  # both copies over one kept connection
            await a.close()

    run(scenario())


def test_a_copy_is_checked_exactly_as_a_publish_from_its_wallet() -> None:
    async def scenario() -> None:
        async with relay() as server:
            anyone = await RelayClient.connect(server.uri, Account.create())
            now = int(server.clock())
            keys = DeviceKeys.create(alice, anyone.chain_id, now)
            carried = await anyone.replicate_keys(alice.address, keys.bundle())  # anyone may carry it
            assert carried.bundle == keys.bundle()
            # mallory's keys dressed up as alice's: the wallet signature does not match
            forged = DeviceKeys.create(mallory, anyone.chain_id, now + 1).bundle()
            statement = forged.statement.replace(mallory.address, alice.address)
            with pytest.raises(RelayError, match=f"not signed by {alice.address}"):
                await anyone.replicate_keys(alice.address, replace(forged, statement=statement))
            with pytest.raises(RelayError, match="expired"):
                expired = DeviceKeys.create(alice, anyone.chain_id, now - 10, lifetime=5).bundle()
                await anyone.replicate_keys(alice.address, expired)
            with pytest.raises(RelayError, match="holds a newer key bundle"):  # a relay replaying an old one
                older = DeviceKeys.create(alice, anyone.chain_id, now - 100).bundle()
                await anyone.replicate_keys(alice.address, older)
            with pytest.raises(RelayError, match=f"binds keys to {alice.address}, not to {mallory.address}"):
                await anyone.replicate_keys(mallory.address, keys.bundle())  # filed under another address
            assert server.keybundles.keys(alice.address).bundle == keys.bundle()
            await anyone.close()

    run(scenario())


def test_the_queue_is_bounded_and_an_unreachable_relay_costs_only_its_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        discovery = InMemoryDiscovery()
        register_relay(discovery, "ws://127.0.0.1:9")  # nobody listens there
        async with relay() as server:
            register_relay(discovery, server.uri)
            replicator = Replicator(discovery, "ws://elsewhere.invalid:1", timeout=1.0)
            monkeypatch.setattr(Replicator, "MAX_PENDING", 2)
            bundles = [
                DeviceKeys.create(Account.create(), server.config.chain_id, int(server.clock()))
                for _ in range(3)
            ]
            for device in bundles:
                replicator.offer(m.Keys(address=device.address, bundle=device.bundle()))
            assert list(replicator.pending) == [d.address.lower() for d in bundles[1:]]
            assert replicator.stats["dropped"] == 1
            replicator.start()
            await asyncio.wait_for(replicator.drain(), 30)
            await replicator.stop()
            assert replicator.stats["unreachable"] == 2 and replicator.stats["copied"] == 2
            assert server.keybundles.keys(bundles[0].address).bundle is None  # dropped from the queue
            assert server.keybundles.keys(bundles[2].address).bundle == bundles[2].bundle()

    run(scenario())
