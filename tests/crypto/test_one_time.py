"""One-time prekeys: a relay keeps the batch a device signed, hands each out at most once (also across a
restart), answers `None` when none is left (the sender then uses the signed prekey), bounds what one
wallet may claim and what it holds, and drops them with their identity key; a session opened to one
cannot be reopened from the device's state once it opened (the one-time private key is gone), which
a session opened to the signed prekey can."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.client.secure import ONE_TIME_BATCH, ONE_TIME_LOW, Secure
from clubchat.crypto.bundle import KeyBundleError, verify_one_time
from clubchat.crypto.device import DeviceKeys
from clubchat.crypto.session import DecryptError, Sealer
from clubchat.node import keybundles
from clubchat.node.keybundles import KeyBundles
from clubchat.node.relay_config import RelayConfig
from clubchat.protocol import messages as m
from tests.crypto.conftest import NOW, alice, bob, mallory, verified
from tests.node.harness import relay, run

pytestmark = [pytest.mark.integration]


def test_a_relay_hands_each_one_time_prekey_out_once_also_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    served: list[str] = []

    async def first_run() -> None:
        async with relay(keybundles=KeyBundles(RelayConfig().chain_id, path=path)) as server:
            b = await RelayClient.connect(server.uri, bob)
            a = await RelayClient.connect(server.uri, alice)
            device = DeviceKeys.create(bob, b.chain_id, int(server.clock()))
            with pytest.raises(RelayError, match="publish a key bundle on this relay before"):
                await b.publish_one_time(Sealer(device).new_one_time(1))
            await b.publish_keys(device.bundle())
            sealer = Sealer(device)
            batch = sealer.new_one_time(4)
            assert await b.publish_one_time(batch) == 4
            assert await b.publish_one_time() == 4  # asking the stock adds nothing
            assert await b.publish_one_time(batch[:2]) == 4  # the same keys again are not added twice
            for _ in range(2):
                claimed = await a.claim_one_time(bob.address)
                assert claimed is not None
                verify_one_time(device.statement, claimed)  # signed by bob's identity
                served.append(claimed.key)
            assert await b.publish_one_time() == 2
            await a.close()
            await b.close()
        server.keybundles.close()

    async def second_run() -> None:
        async with relay(keybundles=KeyBundles(RelayConfig().chain_id, path=path)) as server:
            a = await RelayClient.connect(server.uri, alice)
            while (claimed := await a.claim_one_time(bob.address)) is not None:  # bound: the 2 left
                served.append(claimed.key)
            assert await a.claim_one_time(bob.address) is None  # none left: the signed prekey it is
            assert server.keybundles.stats["one-time-none"] == 2
            await a.close()
        server.keybundles.close()

    run(first_run())
    run(second_run())
    assert len(served) == 4 == len(set(served))  # each of the 4 once, across the restart


def test_foreign_surplus_and_stale_one_time_prekeys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with relay() as server:
            b = await RelayClient.connect(server.uri, bob)
            a = await RelayClient.connect(server.uri, alice)
            now = int(server.clock())
            device = DeviceKeys.create(bob, b.chain_id, now - 10)
            await b.publish_keys(device.bundle())
            foreign = Sealer(DeviceKeys.create(mallory, b.chain_id, now)).new_one_time(1)
            with pytest.raises(RelayError, match="not signed by the bundle's Ed25519 key"):
                await b.publish_one_time(foreign)
            sealer = Sealer(device)
            assert (
                await b.publish_one_time(sealer.new_one_time(m.MAX_ONE_TIME_BATCH)) == keybundles.MAX_ONE_TIME
            )
            with pytest.raises(RelayError, match="at most 32 one-time prekeys per address"):
                await b.publish_one_time(sealer.new_one_time(1))
            server.keybundles.max_one_time_total = keybundles.MAX_ONE_TIME + 1
            a_device = DeviceKeys.create(alice, a.chain_id, now)
            await a.publish_keys(a_device.bundle())
            with pytest.raises(RelayError, match="as many one-time prekeys as it accepts"):
                await a.publish_one_time(Sealer(a_device).new_one_time(2))
            # a claimer gets at most CLAIMS_PER_HOUR an hour, then `None` as if none were left
            monkeypatch.setattr(keybundles, "CLAIMS_PER_HOUR", 2)
            assert await a.claim_one_time(bob.address) is not None
            assert await a.claim_one_time(bob.address) is not None
            assert await a.claim_one_time(bob.address) is None
            assert await b.publish_one_time() == keybundles.MAX_ONE_TIME - 2
            # bob binds new keys: the one-time prekeys of the old identity go
            await b.publish_keys(DeviceKeys.create(bob, b.chain_id, now).bundle())
            assert await b.publish_one_time() == 0 and server.keybundles.one_time_total == 0
            await a.close()
            await b.close()

    run(scenario())


def test_a_sender_checks_the_claimed_key_against_the_bundle() -> None:
    bob_keys = DeviceKeys.create(bob, 31337, NOW)
    other = Sealer(DeviceKeys.create(bob, 31337, NOW + 1)).new_one_time(1)[0]  # bob's other device
    with pytest.raises(KeyBundleError, match="not signed by the bundle's Ed25519 key"):
        verify_one_time(bob_keys.statement, other)


def _opening(one_time: bool) -> tuple[m.Envelope, DeviceKeys, str, DeviceKeys]:
    """Alice's first message to Bob (to a one-time prekey of his, or his signed prekey), opened by
    Bob; returns it, Bob's device, what Bob's sealer kept (as the keystore would) and Alice's device."""
    a_keys, b_keys = DeviceKeys.create(alice, 31337, NOW), DeviceKeys.create(bob, 31337, NOW)
    a, b = Sealer(a_keys, clock=lambda: NOW), Sealer(b_keys, clock=lambda: NOW)
    key = verify_one_time(b_keys.statement, b.new_one_time(3)[1]) if one_time else None
    assert a.opens_session(verified(b_keys))
    sealed = a.seal(verified(b_keys), "first", m.Text(body="the first words"), key)
    env = m.Envelope(id="first", sender=alice.address, to=bob.address, payload=sealed)
    assert not a.opens_session(verified(b_keys))
    assert b.open(env, verified(a_keys)) == m.Text(body="the first words")
    return env, b_keys, b.export_sessions(), a_keys


def test_a_session_opened_to_a_one_time_prekey_cannot_be_reopened_from_the_device() -> None:
    env, b_keys, kept, a_keys = _opening(one_time=True)
    assert isinstance(env.payload, m.Sealed) and env.payload.kid not in [p.id for p in b_keys.prekeys]
    state = json.loads(kept)
    assert len(state["oneTime"]) == 2 and env.payload.kid not in [k[0] for k in state["oneTime"]]
    # a thief with everything the device keeps (identity, signed prekeys, one-time prekeys left),
    # but not the session (it moved on, or was dropped), cannot derive the session's secret again
    thief = Sealer(DeviceKeys.from_json(b_keys.to_json()), clock=lambda: NOW)
    thief.restore_sessions(json.dumps(state | {"sessions": {}, "seen": []}))
    with pytest.raises(DecryptError, match="does not hold"):
        thief.open(env, verified(a_keys))


def test_a_session_opened_to_the_signed_prekey_can_be_reopened_while_the_prekey_is_kept() -> None:
    """The contrast: without a one-time prekey the first message is only as safe as the signed
    prekey, which the device keeps for its lifetime plus a grace period."""
    env, b_keys, kept, a_keys = _opening(one_time=False)
    assert isinstance(env.payload, m.Sealed) and env.payload.kid == b_keys.prekeys[-1].id
    thief = Sealer(DeviceKeys.from_json(b_keys.to_json()), clock=lambda: NOW)
    thief.restore_sessions(json.dumps(json.loads(kept) | {"sessions": {}, "seen": []}))
    assert thief.open(env, verified(a_keys)) == m.Text(body="the first words")  # Alice's bundle is public


def test_sessions_through_a_relay_open_to_one_time_prekeys_and_the_stock_is_replenished() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig(per_ip_exempt=("127.0.0.1/32",))) as server:  # 26 sign-ins
            b = await RelayClient.connect(server.uri, bob)
            bob_secure = Secure(bob)
            await bob_secure.ready(b)
            store = server.keybundles
            assert len(store.one_time[bob.address.lower()]) == ONE_TIME_BATCH
            for i in range(ONE_TIME_BATCH - ONE_TIME_LOW + 1):  # each a new sender: a new session
                sender = Account.from_key((0x5000 + i).to_bytes(32, "big"))
                c = await RelayClient.connect(server.uri, sender)
                await Secure(sender).send(c, bob.address, m.Text(body=f"hello {i}"))
                got = await b.receive(5)
                kid = got.envelope.payload.kid  # type: ignore[union-attr]
                assert kid in bob_secure.sealer(b.chain_id).one_time  # one of bob's one-time prekeys
                opened = await bob_secure.open(b, got)
                assert opened is not None and opened.envelope.payload == m.Text(body=f"hello {i}")
                assert kid not in bob_secure.sealer(b.chain_id).one_time  # used up
                await c.close()
            assert store.stats["one-time-claimed"] == ONE_TIME_BATCH - ONE_TIME_LOW + 1
            stock = len(store.one_time[bob.address.lower()])
            assert stock == ONE_TIME_LOW - 1
            await b.close()
            b = await RelayClient.connect(server.uri, bob)  # the next connection tops the stock up
            await Secure(bob).ready(b)
            assert len(store.one_time[bob.address.lower()]) == ONE_TIME_BATCH
            await b.close()

    run(scenario())


def test_a_relay_without_one_time_prekeys_costs_no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay of an earlier version refuses the one-time frames as unknown (without an id): the
    client stops waiting at once and the session opens to the signed prekey."""
    without = tuple(t for t in m.CLIENT_FRAMES if t not in m.ONE_TIME_FRAMES)
    monkeypatch.setattr(m, "CLIENT_FRAMES", without)
    sender, recipient = (
        Account.from_key("0x" + "5e" * 32),
        Account.from_key("0x" + "7e" * 32),
    )  # no session yet

    async def scenario() -> None:
        async with relay() as server:
            b = await RelayClient.connect(server.uri, recipient, timeout=30)
            a = await RelayClient.connect(server.uri, sender, timeout=30)
            bob_secure = Secure(recipient)
            started = asyncio.get_running_loop().time()
            await bob_secure.ready(b)
            await Secure(sender).send(a, recipient.address, m.Text(body="to the signed prekey"))
            assert asyncio.get_running_loop().time() - started < 5  # not the 30 s timeout
            got = await b.receive(5)
            signed = [p.id for p in bob_secure.sealer(b.chain_id).device.prekeys]
            assert got.envelope.payload.kid in signed  # type: ignore[union-attr]
            opened = await bob_secure.open(b, got)
            assert opened is not None and opened.envelope.payload == m.Text(body="to the signed prekey")
            await a.close()
            await b.close()

    run(scenario())
