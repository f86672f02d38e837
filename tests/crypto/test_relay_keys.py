"""Key bundles through a loopback relay: published by their wallet only, served to anyone, refused with
`bad-key-bundle` and a reason when foreign, expired, older or revoked, kept across a restart; and a
relay stores a `sealed` payload for an offline recipient but never a live-only `sealed-signal`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.client import secure as secure_module
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.client.secure import Secure
from clubchat.client.session import Listener, publish_keys, safety_number, send_message
from clubchat.crypto import keystore
from clubchat.crypto.bundle import KeyBundleError, verify_bundle
from clubchat.crypto.device import DeviceKeys
from clubchat.crypto.session import Sealer
from clubchat.node.keybundles import KeyBundles
from clubchat.node.localnet import local_network
from clubchat.node.relay_config import RelayConfig
from clubchat.protocol import messages as m
from clubchat.registry.discovery import rendezvous
from tests.crypto.conftest import alice, bob, mallory
from tests.node.harness import mailbox, relay, run

pytestmark = [pytest.mark.integration]


def test_bundles_are_published_by_their_wallet_and_served_to_anyone(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "keys.sqlite"
        async with relay(keybundles=KeyBundles(RelayConfig().chain_id, path=path)) as server:
            a = await RelayClient.connect(server.uri, alice)
            b = await RelayClient.connect(server.uri, bob)
            chain, now = a.chain_id, int(server.clock())
            keys = DeviceKeys.create(alice, chain, now)
            served = await a.publish_keys(keys.bundle())
            assert served.bundle == keys.bundle()
            got = await b.get_keys(alice.address)
            checked = await verify_bundle(got.bundle, address=alice.address, chain_id=chain, now=now)  # type: ignore[arg-type]
            assert checked.statement == keys.statement
            assert (await b.get_keys(mallory.address)).bundle is None
            # Alice cannot publish Mallory's (valid) bundle, an expired one, or an older one
            with pytest.raises(RelayError, match=f"binds keys to {mallory.address}"):
                await a.publish_keys(DeviceKeys.create(mallory, chain, now).bundle())
            with pytest.raises(RelayError, match="expired"):
                await a.publish_keys(DeviceKeys.create(alice, chain, now - 10, lifetime=5).bundle())
            with pytest.raises(RelayError, match="holds a newer key bundle"):
                await a.publish_keys(DeviceKeys.create(alice, chain, now - 100).bundle())
            # a rotated prekey of the same identity replaces the stored bundle
            keys.rotate(now + 1)
            assert (await a.publish_keys(keys.bundle())).bundle == keys.bundle()
            # revocation: served, drops the bundle, and the revoked key cannot come back
            revocation = keys.revocation(alice, now + 2)
            after = await a.revoke_keys(revocation)
            assert after.bundle is None and after.revocations == (revocation,)
            with pytest.raises(RelayError, match="is revoked"):
                await a.publish_keys(keys.bundle())
            newer = DeviceKeys.create(alice, chain, now + 3)
            await a.publish_keys(newer.bundle())
            assert (await b.get_keys(alice.address)).previous == ()  # the revoked one is not kept
            newest = DeviceKeys.create(alice, chain, now + 4)
            served = await a.publish_keys(newest.bundle())
            assert served.bundle == newest.bundle() and served.previous == (newer.bundle(),)
            await a.close()
            await b.close()
        server.keybundles.close()
        reopened = KeyBundles(RelayConfig().chain_id, path=path)  # a restarted relay still serves them
        assert reopened.keys(alice.address).bundle == newest.bundle()
        assert reopened.keys(alice.address).revocations == (revocation,)
        assert reopened.keys(alice.address).previous == (newer.bundle(),)
        reopened.close()

    run(scenario())


def test_sealed_payloads_are_stored_offline_but_sealed_signals_never(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mailbox(tmp_path / "mailbox.sqlite") as box, relay(mailbox=box) as server:
            b = await RelayClient.connect(server.uri, bob)
            await Secure(bob).ready(b)
            await b.close()  # Bob is offline now, his bundle stays
            a = await RelayClient.connect(server.uri, alice)
            secure = Secure(alice)
            assert (await secure.send(a, bob.address, m.Text(body="later"))).status == "stored"
            with pytest.raises(RelayError, match="offline"):
                await secure.send(a, bob.address, m.Offer(sdp="v=0", options=("audio",)))
            await a.close()
            b = await RelayClient.connect(server.uri, bob)
            got = await b.receive(5)
            assert isinstance(got.envelope.payload, m.Sealed)
            bob_secure = Secure(bob)
            opened = await bob_secure.open(b, got)
            assert opened is not None and opened.envelope.payload == m.Text(body="later")
            # the same stored envelope handed out again is a replay for Bob's client
            assert await bob_secure.open(b, got) is None
            assert "replayed" in bob_secure.refused[-1]
            await b.close()

    run(scenario())


def test_a_client_drops_plaintext_and_forged_envelopes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay() as server:
            b = await RelayClient.connect(server.uri, bob)
            bob_secure = Secure(bob)
            await bob_secure.ready(b)
            a = await RelayClient.connect(server.uri, alice)
            alice_secure = Secure(alice)
            await alice_secure.ready(a)
            await a.send(bob.address, m.Text(body="plaintext"))
            assert await bob_secure.open(b, await b.receive(5)) is None
            assert "must be sealed" in bob_secure.refused[-1]
            # Alice seals to Bob, but the ciphertext is swapped for one sealed to Mallory's key
            peer = await alice_secure.peer(a, bob.address)
            sealer = Sealer(DeviceKeys.create(alice, a.chain_id, int(server.clock())))
            bad = sealer.seal(peer, "x1", m.Text(body="from a device Alice never published"))
            await a.send(bob.address, bad, id="x1")
            assert await bob_secure.open(b, await b.receive(5)) is None
            assert "not by" in bob_secure.refused[-1]
            # the longest text the protocol allows, in 4-byte characters, is more than a message carries
            with pytest.raises(RelayError, match=r"too-large: a payload of \d+ bytes is larger than"):
                await alice_secure.send(a, bob.address, m.Text(body="\U0001f600" * m.MAX_TEXT_CHARS))
            # in 2-byte characters it fits
            fits = m.Text(body="\u00e9" * m.MAX_TEXT_CHARS)
            assert (await alice_secure.send(a, bob.address, fits)).status == "delivered"
            opened = await bob_secure.open(b, await b.receive(5))
            assert opened is not None and opened.envelope.payload == fits
            # after a prekey rotation the next send publishes the new bundle on this connection
            device = alice_secure.sealer(a.chain_id).device
            device.rotate(int(server.clock()))
            good = await alice_secure.send(a, bob.address, m.Text(body="sealed"))
            served = server.keybundles.keys(alice.address).bundle
            assert served is not None and served.prekey == device.prekeys[-1].public.hex()
            assert good.status == "delivered"
            opened = await bob_secure.open(b, await b.receive(5))
            assert opened is not None and opened.envelope.payload == m.Text(body="sealed")
            await a.close()
            await b.close()

    run(scenario())


def test_both_sides_compute_the_same_safety_number(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_network(tmp_path, relays=1) as net:
            assert await publish_keys(alice, net.discovery, k=1) and await publish_keys(
                bob, net.discovery, k=1
            )
            mine = await safety_number(alice, net.discovery, bob.address, k=1)
            theirs = await safety_number(bob, net.discovery, alice.address, k=1)
            assert mine["safety_number"] == theirs["safety_number"]
            assert (mine["key_id"], mine["peer_key_id"]) == (theirs["peer_key_id"], theirs["key_id"])
            assert len(mine["safety_number"].split()) == 12
            with pytest.raises(RelayError, match=f"no key bundle of {mallory.address} found"):
                await safety_number(alice, net.discovery, mallory.address, k=1)

    run(scenario())


def test_key_bundle_store_limits() -> None:
    async def scenario() -> None:
        chain, now = RelayConfig().chain_id, 1_800_000_000
        store = KeyBundles(chain, max_addresses=1)
        alice_keys = DeviceKeys.create(alice, chain, now)
        assert '"type":"keys"' in await store.handle(
            m.PublishKeys(bundle=alice_keys.bundle()), alice.address, now
        )
        refused = m.decode_frame(
            await store.handle(
                m.PublishKeys(bundle=DeviceKeys.create(bob, chain, now).bundle()), bob.address, now
            )
        )
        assert isinstance(refused, m.Error) and refused.code == "bad-key-bundle"
        assert "as many key bundles as it accepts" in refused.reason and refused.id == bob.address.lower()
        # an address already held still updates
        newer = DeviceKeys.create(alice, chain, now + 1)
        updated = m.decode_frame(
            await store.handle(m.PublishKeys(bundle=newer.bundle()), alice.address, now + 1)
        )
        assert isinstance(updated, m.Keys) and updated.bundle == newer.bundle()
        assert store.keys(alice.address).bundle == newer.bundle()
        # at most eight revocations per address
        for i in range(8):
            other = DeviceKeys.create(alice, chain, now + 2 + i)
            await store.handle(
                m.RevokeKeys(revocation=other.revocation(alice, now + 2 + i)), alice.address, now
            )
        ninth = m.decode_frame(
            await store.handle(m.RevokeKeys(revocation=newer.revocation(alice, now + 20)), alice.address, now)
        )
        assert isinstance(ninth, m.Error) and "at most 8 revocations" in ninth.reason
        assert store.stats["refused"] == 2 and store.stats["revoked"] == 8

    run(scenario())


@pytest.fixture
def keys_dir(tmp_path: Path) -> Iterator[Path]:
    """A keystore directory for the test (memory only again afterwards)."""
    keystore.use_directory(tmp_path / "keys", "a passphrase")
    yield tmp_path / "keys"
    keystore.use_directory(None)


async def online(uri: str, account: LocalAccount) -> tuple[RelayClient, Secure]:
    """`account` signed in at `uri` with its bundle published."""
    client = await RelayClient.connect(uri, account)
    secure = Secure(account)
    await secure.ready(client)
    return client, secure


def test_sessions_persist_in_the_keystore(keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new process with the same keystore continues the ratchet session it left, not a new one."""
    ida = Account.from_key("0x" + "1d" * 32)
    monkeypatch.setattr(secure_module, "_SEALERS", {})

    async def scenario() -> None:
        async with relay() as server:
            b, bob_secure = await online(server.uri, bob)
            i = await RelayClient.connect(server.uri, ida)
            await Secure(ida).send(i, bob.address, m.Text(body="one"))
            first = await b.receive(5)
            assert await bob_secure.open(b, first) is not None
            reply = await bob_secure.send(b, ida.address, m.Text(body="two"))
            assert reply.status == "delivered"
            got = await Secure(ida).open(i, await i.receive(5))
            assert got is not None and got.envelope.payload == m.Text(body="two")
            # Ida's process ends; the next one loads her device and sessions from the keystore
            secure_module._SEALERS.pop((ida.address.lower(), i.chain_id))
            keystore.forget(ida, i.chain_id)
            await Secure(ida).send(i, bob.address, m.Text(body="three"))
            third = await b.receive(5)
            sealed, opening = third.envelope.payload, first.envelope.payload
            assert isinstance(sealed, m.Sealed) and isinstance(opening, m.Sealed)
            assert sealed.sid == opening.sid and sealed.enc is None  # the same session, answered before
            opened = await bob_secure.open(b, third)
            assert opened is not None and opened.envelope.payload == m.Text(body="three")
            await i.close()
            await b.close()

    run(scenario())


def test_two_processes_sharing_a_keystore_never_reuse_a_message_key(
    keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`club listen` and `club message` run side by side on one keystore: each sends in the shared
    session after reading what the other wrote, so no message number (and key) is used twice."""
    jo = Account.from_key("0x" + "70" * 32)
    processes: list[dict[tuple[str, int], Sealer]] = [{}, {}]  # each "process" has its own sealers

    async def scenario() -> None:
        async with relay() as server:
            b, bob_secure = await online(server.uri, bob)
            j = await RelayClient.connect(server.uri, jo)
            for i, process in enumerate([0, 1, 0, 1, 1, 0]):
                monkeypatch.setattr(secure_module, "_SEALERS", processes[process])
                await Secure(jo).send(j, bob.address, m.Text(body=f"m{i}"))
                # a message key used twice would be refused as a replay (and would reuse a nonce)
                opened = await bob_secure.open(b, await b.receive(5))
                assert opened is not None and opened.envelope.payload == m.Text(body=f"m{i}")
            await j.close()
            await b.close()

    run(scenario())


def test_processes_sharing_a_keystore_share_their_pins(
    keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pin one process made reaches the other at its next use of the keystore (trust on first use
    holds for the device, not per process): an older bundle the other was never shown is refused."""
    carol_account = Account.from_key("0x" + "c8" * 32)
    processes: list[dict[tuple[str, int], Sealer]] = [{}, {}]

    async def scenario() -> None:
        async with relay() as server:
            c = await RelayClient.connect(server.uri, carol_account)
            now = int(server.clock())
            older, newer = (DeviceKeys.create(carol_account, c.chain_id, now - d) for d in (100, 50))
            a = await RelayClient.connect(server.uri, alice)
            monkeypatch.setattr(secure_module, "_SEALERS", processes[1])
            second = Secure(alice)
            second.sealer(a.chain_id)  # the second process is running before the pin is made
            await c.publish_keys(newer.bundle())
            monkeypatch.setattr(secure_module, "_SEALERS", processes[0])
            assert (await Secure(alice).peer(a, carol_account.address)).key_id == newer.statement.key_id
            monkeypatch.setattr(secure_module, "_SEALERS", processes[1])
            with second._sessions(a.chain_id, save=False) as sealer:
                assert sealer.pinned[carol_account.address.lower()].key_id == newer.statement.key_id
            pinned = sealer.pinned[carol_account.address.lower()]
            with pytest.raises(KeyBundleError, match="older identity key"):
                sealer.pin(replace(pinned, statement=older.statement))
            await a.close()
            await c.close()

    run(scenario())


def test_pins_persist_in_the_keystore_and_key_changes_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clubchat.client import secure as secure_module
    from clubchat.crypto import keystore

    monkeypatch.setattr(secure_module, "_SEALERS", {})
    keystore.use_directory(tmp_path / "keys", "a passphrase")
    carol_account = Account.from_key("0x" + "c7" * 32)

    async def scenario() -> None:
        async with relay() as server:
            c = await RelayClient.connect(server.uri, carol_account)
            first = DeviceKeys.create(carol_account, c.chain_id, int(server.clock()) - 100)
            await c.publish_keys(first.bundle())
            a = await RelayClient.connect(server.uri, alice)
            pinned = await Secure(alice).peer(a, carol_account.address)
            assert pinned.key_id == first.statement.key_id
            assert (tmp_path / "keys" / f"{alice.address.lower()}-{a.chain_id}.pins.json").exists()
            # a new run: the pin comes back from the keystore, and an older bundle is still refused
            monkeypatch.setattr(secure_module, "_SEALERS", {})
            restored = Secure(alice).sealer(a.chain_id).pinned[carol_account.address.lower()]
            assert restored.key_id == first.statement.key_id
            # Carol binds new keys: accepted (newer, wallet-signed) and reported as a key change
            newer = DeviceKeys.create(carol_account, c.chain_id, int(server.clock()))
            await c.publish_keys(newer.bundle())
            later = Secure(alice)
            assert (await later.peer(a, carol_account.address, key_id=newer.statement.key_id)).key_id == (
                newer.statement.key_id
            )
            assert [(ch.old_key_id, ch.new_key_id) for ch in later.key_changes()] == [
                (first.statement.key_id, newer.statement.key_id)
            ]
            await a.close()
            await c.close()

    try:
        run(scenario())
    finally:
        keystore.forget(alice, RelayConfig().chain_id)
        keystore.use_directory(None)


def test_a_sender_whose_prekey_expired_can_still_be_read_but_not_written_to() -> None:
    async def scenario() -> None:
        dana = Account.from_key("0x" + "d4" * 32)
        async with relay() as server:
            b = await RelayClient.connect(server.uri, bob)
            bob_secure = Secure(bob)
            await bob_secure.ready(b)
            d = await RelayClient.connect(server.uri, dana)
            now = int(server.clock())
            dana_keys = DeviceKeys.create(dana, d.chain_id, now)
            dana_keys.rotate(now, lifetime=2)  # Dana's published prekey expires in 2 s
            await d.publish_keys(dana_keys.bundle())
            peer = await verify_bundle(
                (await d.get_keys(bob.address)).bundle,  # type: ignore[arg-type]
                address=bob.address,
                chain_id=d.chain_id,
                now=now,
            )
            sealed = Sealer(dana_keys).seal(peer, "d1", m.Text(body="sent before my prekey expired"))
            await asyncio.sleep(2.1)
            await d.send(bob.address, sealed, id="d1")
            opened = await bob_secure.open(b, await b.receive(5))
            assert opened is not None and opened.envelope.payload == m.Text(
                body="sent before my prekey expired"
            )
            with pytest.raises(RelayError, match=r"prekey of .* expired"):
                await bob_secure.send(b, dana.address, m.Text(body="no current prekey to seal to"))
            await b.close()
            await d.close()

    run(scenario())


async def published_offline(uri: str, account: LocalAccount) -> Secure:
    """`account` publishes its bundle on the relay at `uri` and goes offline; returns its Secure."""
    client = await RelayClient.connect(uri, account)
    secure = Secure(account)
    await secure.ready(client)
    await client.close()
    return secure


def test_a_stored_message_leaves_the_mailbox_only_once_it_was_processed(tmp_path: Path) -> None:
    erin = Account.from_key("0x" + "e8" * 32)

    async def scenario() -> None:
        async with mailbox(tmp_path / "mailbox.sqlite") as box, relay(mailbox=box) as server:
            erin_secure = await published_offline(server.uri, erin)
            a = await RelayClient.connect(server.uri, alice)
            assert (await Secure(alice).send(a, erin.address, m.Text(body="kept until read"))).status == (
                "stored"
            )
            await a.send(erin.address, m.Text(body="plaintext, refused for good"), id="plain-1")
            await a.close()
            # Erin's client takes both from the mailbox but goes away before processing them
            b = await RelayClient.connect(server.uri, erin)
            taken = [await asyncio.wait_for(b.inbox.get(), 5) for _ in range(2)]
            assert all(got.stored for got in taken)
            await asyncio.sleep(0.2)
            assert await box.count(erin.address) == 2  # nothing acknowledged
            await b.close()
            # the next sign-in hands them out again; now they are processed, then acknowledged
            b = await RelayClient.connect(server.uri, erin)
            opened = []
            for _ in range(2):
                got = await erin_secure.open(b, await asyncio.wait_for(b.inbox.get(), 5))
                if got is not None:
                    opened.append(got.envelope.payload)
                    await b.ack(got)
            assert opened == [m.Text(body="kept until read")]
            assert "must be sealed" in erin_secure.refused[-1]  # refused for good: acknowledged too
            for _ in range(50):
                if await box.count(erin.address) == 0:
                    break
                await asyncio.sleep(0.05)
            assert await box.count(erin.address) == 0
            await b.close()

    run(scenario())


def test_a_message_sealed_before_its_sender_re_keyed_still_opens(tmp_path: Path) -> None:
    """The sender binds new keys after sealing and before the recipient fetched the message from the
    mailbox: the relay still serves the replaced bundle (`previous`), so it opens, for a recipient
    that never saw the old bundle too; a revocation withdraws it."""
    fay, gus = Account.from_key("0x" + "f6" * 32), Account.from_key("0x" + "96" * 32)

    async def scenario() -> None:
        async with mailbox(tmp_path / "mailbox.sqlite") as box, relay(mailbox=box) as server:
            gus_secure = await published_offline(server.uri, gus)
            f = await RelayClient.connect(server.uri, fay)
            now = int(server.clock())
            old = DeviceKeys.create(fay, f.chain_id, now - 10)
            await f.publish_keys(old.bundle())
            gus_bundle = await Secure(fay).peer(f, gus.address)
            sealed = Sealer(old).seal(gus_bundle, "f1", m.Text(body="sealed with my old key"))
            assert (await f.send(gus.address, sealed, id="f1")).status == "stored"
            new = DeviceKeys.create(fay, f.chain_id, now)  # Fay re-keys (a new device)
            served = await f.publish_keys(new.bundle())
            assert served.bundle == new.bundle() and served.previous == (old.bundle(),)
            g = await RelayClient.connect(server.uri, gus)
            got = await gus_secure.open(g, await g.receive(5))
            assert got is not None and got.envelope.payload == m.Text(body="sealed with my old key")
            # Gus pinned the new key; the old one is remembered as replaced, not trusted for sending
            assert gus_secure.sealer(g.chain_id).pinned[fay.address.lower()].key_id == new.statement.key_id
            revoked = await f.revoke_keys(old.revocation(fay, now + 1))
            assert revoked.previous == () and revoked.bundle == new.bundle()
            await f.close()
            await g.close()

    run(scenario())


def test_a_bundle_the_first_rendezvous_relay_lacks_is_fetched_from_another(tmp_path: Path) -> None:
    """Hal published only on his second rendezvous relay and its copy never reached the first (the
    first joined his set later, or was down): Alice's message still goes to the first one, sealed to
    the bundle fetched from the second."""
    hal = Account.from_key("0x" + "4a" * 32)

    async def scenario() -> None:
        async with local_network(tmp_path) as net:
            for replicator in net.replicators:  # no relay-to-relay copies in this story
                await replicator.stop()
            first, second = rendezvous(net.discovery, hal.address, 2)
            await published_offline(second, hal)
            sent, used = await send_message(alice, net.discovery, hal.address, "found your keys elsewhere")
            assert (sent.status, used) == ("stored", first)
            node = next(n for n in net.nodes.values() if n.relay is not None and n.relay.uri == first)
            assert node.relay is not None and node.relay.keybundles.keys(hal.address).bundle is None
            listener = Listener(hal, net.discovery)
            await listener.start()
            got = await asyncio.wait_for(listener.messages.get(), 10)
            assert got.envelope.payload == m.Text(body="found your keys elsewhere") and got.relay == first
            await listener.close()

    run(scenario(), timeout=60)
