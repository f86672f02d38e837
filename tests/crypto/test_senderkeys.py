"""Room sender keys: every member's chain round-trips to the others, out of order too; a replay, a
tampered message or one forged by another member (who holds the chain key but not the signing key)
is refused; distributions open only for their member, room and epoch; and after a member is removed
and the others rotate, the removed member cannot decrypt anything sent later."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from clubchat.crypto.device import DeviceKeys
from clubchat.crypto.senderkeys import (
    RoomKeyError,
    RoomKeys,
    SenderKey,
    open_distribution,
    seal_distribution,
)
from tests.crypto.conftest import alice, bob, device, verified

carol = Account.from_key("0x" + "c3" * 32)
ROOM = "room:0x01:general"
DEVICES = {a.address: device(a) for a in (alice, bob, carol)}


def _hand_out(sender: str, key: SenderKey, rooms: dict[str, RoomKeys], to: list[str]) -> None:
    """`sender` seals its chain to each member of `to` pairwise; each opens it and accepts it."""
    for member in to:
        dev: DeviceKeys = DEVICES[member]
        enc, ct = seal_distribution(DEVICES[sender], verified(dev), key)
        got = open_distribution(dev, verified(DEVICES[sender]), dev.prekeys[-1].id, ROOM, key.epoch, enc, ct)
        assert got.signing is None  # the signing key never leaves its owner
        rooms[member].accept(sender, got)


def _room() -> dict[str, RoomKeys]:
    rooms = {a: RoomKeys(ROOM, a) for a in DEVICES}
    for member, keys in rooms.items():
        _hand_out(member, keys.rotate(), rooms, [m for m in rooms if m != member])
    return rooms


@given(st.lists(st.binary(max_size=2_000), min_size=1, max_size=6))
def test_room_messages_round_trip_for_every_member(bodies: list[bytes]) -> None:
    rooms = _room()
    for body in bodies:
        epoch, message = rooms[alice.address].encrypt(body)
        for reader in (bob.address, carol.address):
            assert rooms[reader].decrypt(alice.address, epoch, message) == body


def test_out_of_order_replayed_tampered_and_forged_messages() -> None:
    rooms = _room()
    sent = [rooms[alice.address].encrypt(f"m{i}".encode()) for i in range(3)]
    bob_keys = rooms[bob.address]
    assert [bob_keys.decrypt(alice.address, *sent[i]) for i in (2, 0, 1)] == [b"m2", b"m0", b"m1"]
    with pytest.raises(RoomKeyError, match="opened before"):
        bob_keys.decrypt(alice.address, *sent[1])
    epoch, message = rooms[alice.address].encrypt(b"m3")
    tampered = message[:40] + bytes([message[40] ^ 1]) + message[41:]
    with pytest.raises(RoomKeyError, match="not signed by this sender"):
        bob_keys.decrypt(alice.address, epoch, tampered)
    # Carol holds Alice's chain key: she can encrypt on it, but not sign as Alice
    stolen = rooms[carol.address].chains[(alice.address.lower(), epoch)]
    forged = SenderKey(
        ROOM, epoch, stolen.chain_key, stolen.iteration, stolen.verify_key, DEVICES[carol.address].ed25519
    )
    with pytest.raises(RoomKeyError, match="not signed by this sender"):
        bob_keys.decrypt(alice.address, epoch, forged.encrypt(b"from alice, honest"))
    assert bob_keys.decrypt(alice.address, epoch, message) == b"m3"


def test_distribution_opens_only_for_its_member_room_and_epoch() -> None:
    key = SenderKey.fresh(ROOM, 1)
    enc, ct = seal_distribution(DEVICES[alice.address], verified(DEVICES[bob.address]), key)
    bob_dev, carol_dev = DEVICES[bob.address], DEVICES[carol.address]
    with pytest.raises(RoomKeyError, match="does not hold"):
        open_distribution(
            carol_dev, verified(DEVICES[alice.address]), bob_dev.prekeys[-1].id, ROOM, 1, enc, ct
        )
    for room, epoch in ((ROOM, 2), ("room:other", 1)):
        with pytest.raises(RoomKeyError, match="does not open"):
            open_distribution(
                bob_dev, verified(DEVICES[alice.address]), bob_dev.prekeys[-1].id, room, epoch, enc, ct
            )
    with pytest.raises(RoomKeyError, match="does not open"):  # claimed to come from Carol
        open_distribution(bob_dev, verified(carol_dev), bob_dev.prekeys[-1].id, ROOM, 1, enc, ct)


def test_a_removed_member_cannot_decrypt_later_messages() -> None:
    rooms = _room()
    before = rooms[alice.address].encrypt(b"before carol left")
    assert rooms[carol.address].decrypt(alice.address, *before) == b"before carol left"
    # Carol is banned: Alice and Bob forget her chain, rotate, and hand the new chains to each other only
    old_alice_chain = rooms[carol.address].chains[(alice.address.lower(), before[0])]
    for member in (alice.address, bob.address):
        rooms[member].forget(carol.address)
        _hand_out(
            member, rooms[member].rotate(), rooms, [m for m in (alice.address, bob.address) if m != member]
        )
    epoch, message = rooms[alice.address].encrypt(b"after carol left")
    assert epoch == before[0] + 1
    assert rooms[bob.address].decrypt(alice.address, epoch, message) == b"after carol left"
    with pytest.raises(RoomKeyError, match="no chain of"):
        rooms[carol.address].decrypt(alice.address, epoch, message)
    # her copy of Alice's old chain does not open the new epoch: another signing key, and even with
    # the new (public) verify key, the old chain key derives none of the new message keys
    with pytest.raises(RoomKeyError, match="not signed by this sender"):
        old_alice_chain.decrypt(message)
    new_verify_key = rooms[bob.address].chains[(alice.address.lower(), epoch)].verify_key
    for start in (
        old_alice_chain.chain_key,
        rooms[carol.address].chains[(bob.address.lower(), before[0])].chain_key,
    ):
        relabelled = SenderKey(ROOM, epoch, start, 0, new_verify_key)
        with pytest.raises(RoomKeyError, match="does not open"):
            relabelled.decrypt(message)
    # and Carol's own messages are no longer read by the others
    with pytest.raises(RoomKeyError, match="no chain of"):
        rooms[bob.address].decrypt(carol.address, *rooms[carol.address].encrypt(b"still here?"))
