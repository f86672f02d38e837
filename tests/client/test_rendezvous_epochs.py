"""Rendezvous across a change of the registry's sampling key (security review, finding 1): the callee
listens on the previous set for OVERLAP_SECONDS after the change, and a caller whose current set
fails tries the previous one, so a call placed while the two sides disagree still connects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network as network
from clubchat.registry.discovery import (
    OVERLAP_SECONDS,
    RELAY,
    InMemoryDiscovery,
    NodeRecord,
    RendezvousWatch,
    SamplingKey,
    previous_rendezvous,
    rendezvous,
)
from tests.node.harness import run

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _seed_that_moves(discovery: InMemoryDiscovery, address: str, k: int) -> bytes:
    """The first epoch seed (in a fixed order) under which `address`'s rendezvous set changes."""
    before = set(rendezvous(discovery, address, k))
    for i in range(1000):
        seed = keccak(i.to_bytes(32, "big"))
        probe = InMemoryDiscovery(discovery.nodes, SamplingKey(discovery.key.epoch + 1, seed))
        if set(rendezvous(probe, address, k)) != before:
            return seed
    raise AssertionError("no seed moves the rendezvous set")


def _fleet(clock: Clock) -> InMemoryDiscovery:
    disc = InMemoryDiscovery(clock=clock)
    for i in range(6):
        disc.register(
            Account.create().address, NodeRecord(RELAY, {RELAY: f"wss://r{i}.example"}, "0x" + "00" * 20)
        )
    return disc


def test_watch_listens_on_the_previous_set_for_the_overlap_only() -> None:
    clock = Clock()
    disc = _fleet(clock)
    watch = RendezvousWatch(disc, bob.address, k=2, clock=clock)
    old = rendezvous(disc, bob.address)
    assert watch.update() == old
    disc.new_epoch(_seed_that_moves(disc, bob.address, 2))
    new = rendezvous(disc, bob.address)
    clock.now += 5
    listen = watch.update()
    assert listen[: len(new)] == new  # the current set first ...
    assert set(listen) == set(new) | set(old)  # ... then what is left of the previous one
    clock.now += OVERLAP_SECONDS  # the change was seen OVERLAP_SECONDS ago
    assert set(watch.update()) == set(new) | set(old)  # the overlap is inclusive
    clock.now += 1
    assert watch.update() == new


def test_watch_started_inside_the_overlap_also_listens_on_the_earlier_set() -> None:
    clock = Clock()
    disc = _fleet(clock)
    old = rendezvous(disc, bob.address)
    disc.new_epoch(_seed_that_moves(disc, bob.address, 2))
    clock.now += 60
    watch = RendezvousWatch(disc, bob.address, k=2, clock=clock)
    assert set(watch.update()) == set(rendezvous(disc, bob.address)) | set(old)
    clock.now += OVERLAP_SECONDS + 1
    assert watch.update() == rendezvous(disc, bob.address)


def test_caller_previous_set_is_the_one_of_overlap_seconds_ago() -> None:
    clock = Clock()
    disc = _fleet(clock)
    old = rendezvous(disc, bob.address)
    assert previous_rendezvous(disc, bob.address) == old  # no change yet: the same set
    disc.new_epoch(_seed_that_moves(disc, bob.address, 2))
    clock.now += OVERLAP_SECONDS
    assert previous_rendezvous(disc, bob.address) == old
    clock.now += 1
    assert previous_rendezvous(disc, bob.address) == rendezvous(disc, bob.address)


@pytest.mark.integration
@pytest.mark.usefixtures("fast_ice")
def test_call_across_an_epoch_change_reaches_a_callee_that_has_not_refreshed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with network(tmp_path, relays=3) as net:
            clock = Clock()
            net.discovery.clock = clock
            listener = Listener(bob, net.discovery, k=1)
            listener.watch.clock = clock
            [old] = await listener.start(refresh_seconds=3600)  # it will not refresh by itself
            net.discovery.new_epoch(_seed_that_moves(net.discovery, bob.address, 1))
            [new] = rendezvous(net.discovery, bob.address, 1)
            clock.now += 30
            session = await place_call(alice, net.discovery, bob.address, k=1)
            assert session.relays_tried == [new, old]  # the current set first, then the previous
            assert session.relay_endpoint == old
            incoming = await asyncio.wait_for(listener.calls.get(), 10)
            await session.hang_up()
            await incoming.close()
            # Bob's refresh: both sets during the overlap, the current one after it.
            assert set(await listener.refresh()) == {new, old}
            assert set(listener.clients) == {new, old}
            clock.now += OVERLAP_SECONDS + 1
            assert await listener.refresh() == [new]
            assert list(listener.clients) == [new]
            await listener.close()

    run(scenario(), timeout=120)
