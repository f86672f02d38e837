"""Room sender keys: every member's chain round-trips to the others, out of order too; a replay, a
tampered message or one forged by another member (who holds the chain key but not the signing key)
is refused; a distribution never carries the signing key; and after a member is removed and the
others rotate, the removed member cannot decrypt anything sent later. (How distributions travel:
tests/crypto/test_roomseal.py.)"""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from clubchat.crypto.roomseal import distribution_of, key_of
from clubchat.crypto.senderkeys import RoomKeyError, RoomKeys, SenderKey
from clubchat.protocol import messages as m
from clubchat.protocol.codec import encode_object
from tests.crypto.conftest import alice, bob, device

carol = Account.from_key("0x" + "c3" * 32)
ROOM = "room:0x01:general"
DEVICES = {a.address: device(a) for a in (alice, bob, carol)}


def _hand_out(sender: str, key: SenderKey, rooms: dict[str, RoomKeys], to: list[str]) -> None:
    """`sender` hands its chain to each member of `to` (as the `sender-key` payload it sends them)."""
    for member in to:
        wire = encode_object(distribution_of(key))
        assert key.signing is not None and key.signing.hex() not in str(wire)  # never leaves its owner
        got = key_of(m.decode_payload(wire))  # type: ignore[arg-type]
        assert got.signing is None
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


def test_a_chain_of_another_room_is_refused() -> None:
    with pytest.raises(RoomKeyError, match="a chain of room"):
        RoomKeys(ROOM, alice.address).accept(bob.address, SenderKey.fresh("room:other", 1))


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
