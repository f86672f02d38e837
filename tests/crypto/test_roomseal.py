"""Room messages sealed with sender keys: distributions travel inside direct Double Ratchet messages,
every member reads every other's messages, a removed member reads nothing sent after its removal, and
a relabelled sender, a replay, a plaintext or a foreign payload type are refused."""

from __future__ import annotations

import pytest
from eth_account import Account

from clubchat.crypto.device import DeviceKeys
from clubchat.crypto.roomseal import RoomSealer, room_name
from clubchat.crypto.senderkeys import RoomKeyError
from clubchat.crypto.session import DecryptError, Sealer
from clubchat.protocol import messages as m
from clubchat.protocol.codec import encode_object
from tests.crypto.conftest import NOW, alice, bob, device, verified

carol = Account.from_key("0x" + "c3" * 32)
ROOM = room_name(7, "general")
MEMBERS = {a.address: device(a) for a in (alice, bob, carol)}


class Member:
    """A member's direct sealer (pairwise sessions) and room sealer."""

    def __init__(self, keys: DeviceKeys) -> None:
        self.keys = keys
        self.direct = Sealer(keys, clock=lambda: NOW)
        self.room = RoomSealer(keys.address, clock=lambda: NOW)

    def hand_out(self, others: dict[str, Member], dists: dict[str, m.SenderKeyDistribution]) -> None:
        """Send each distribution as a direct sealed message; the member opens and accepts it."""
        for address, dist in dists.items():  # bound: the room's members
            peer = others[address]
            id = f"k-{self.keys.address[-4:]}-{address[-4:]}-{dist.epoch}"
            sealed = self.direct.seal(verified(peer.keys), id, dist)
            env = m.Envelope(id=id, sender=self.keys.address, to=address, payload=sealed)
            wire = m.decode_frame(m.encode(env))  # what the relay carries: no chain key in it
            assert dist.chain_key not in m.encode(env)
            assert isinstance(wire, m.Envelope)
            opened = peer.direct.open(wire, verified(self.keys))
            assert isinstance(opened, m.SenderKeyDistribution)
            peer.room.accept(self.keys.address, opened)


def room() -> dict[str, Member]:
    members = {address: Member(keys) for address, keys in MEMBERS.items()}
    for member in members.values():
        member.room.join(ROOM)
    for member in members.values():
        member.hand_out(members, member.room.start(ROOM, members))
    return members


def post(member: Member, body: str) -> m.Payload:
    """A room text as the relay carries it (encoded and decoded)."""
    sealed = member.room.seal(ROOM, m.Text(body=body))
    return m.decode_payload(encode_object(sealed))


def test_every_member_reads_every_other_members_room_messages() -> None:
    members = room()
    for sender in members.values():
        payload = post(sender, f"hello from {sender.keys.address}")
        assert isinstance(payload, m.RoomSealed) and payload.epoch == 1
        for reader in members.values():
            if reader is not sender:
                opened = reader.room.open(ROOM, sender.keys.address, payload)
                assert opened == m.Text(body=f"hello from {sender.keys.address}")


def test_a_removed_member_cannot_read_what_is_sent_after_its_removal() -> None:
    members = room()
    a, b, c = (members[x.address] for x in (alice, bob, carol))
    before = post(a, "carol may read this")
    assert c.room.open(ROOM, alice.address, before) == m.Text(body="carol may read this")
    remaining = [alice.address, bob.address]
    for address in remaining:  # carol was banned: the others forget her chain and rotate
        member = members[address]
        member.hand_out(members, member.room.remove(ROOM, carol.address, remaining))
    after = post(a, "not for carol")
    assert isinstance(after, m.RoomSealed) and after.epoch == 2
    assert b.room.open(ROOM, alice.address, after) == m.Text(body="not for carol")
    with pytest.raises(DecryptError, match=r"no chain of .* for epoch 2"):
        c.room.open(ROOM, alice.address, after)
    with pytest.raises(DecryptError, match="no chain of"):  # and Bob no longer reads Carol
        b.room.open(ROOM, carol.address, post(c, "still writing with my old chain"))


def test_a_relabelled_sender_a_replay_and_a_plaintext_are_refused() -> None:
    members = room()
    a, b = members[alice.address], members[bob.address]
    payload = post(a, "from alice")
    with pytest.raises(DecryptError, match="not signed by this sender's key"):
        b.room.open(ROOM, carol.address, payload)  # a relay writes `from: carol` on Alice's message
    assert b.room.open(ROOM, alice.address, payload) == m.Text(body="from alice")
    with pytest.raises(DecryptError, match="opened before"):
        b.room.open(ROOM, alice.address, payload)
    with pytest.raises(DecryptError, match="must be sealed"):
        b.room.open(ROOM, alice.address, m.Text(body="plaintext"))
    with pytest.raises(DecryptError, match="no keys for room"):
        b.room.open(room_name(7, "other"), alice.address, payload)
    with pytest.raises(TypeError, match="does not go to a room"):
        a.room.seal(ROOM, m.Bye(reason="hangup"))


def test_a_message_sent_just_before_a_rotation_still_opens_and_old_epochs_are_dropped() -> None:
    members = room()
    a, b = members[alice.address], members[bob.address]
    late = post(a, "sent in epoch 1, arrives after epoch 2 began")
    everyone = list(members)
    a.hand_out(members, a.room.start(ROOM, everyone))  # epoch 2
    assert b.room.open(ROOM, alice.address, late) == m.Text(
        body="sent in epoch 1, arrives after epoch 2 began"
    )
    a.hand_out(members, a.room.start(ROOM, everyone))  # epoch 3: epoch 1's chain is dropped
    assert sorted(e for who, e in b.room.rooms[ROOM].chains if who == alice.address.lower()) == [2, 3]


def test_a_distribution_for_a_room_not_joined_is_refused() -> None:
    stranger = RoomSealer(bob.address)
    dist = RoomSealer(alice.address).start(ROOM, [bob.address])[bob.address]
    with pytest.raises(RoomKeyError, match="has not joined"):
        stranger.accept(alice.address, dist)
