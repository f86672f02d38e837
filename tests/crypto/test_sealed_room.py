"""SealedRoom's receiving side without a relay: messages whose sender key has not arrived are held
(at most MAX_PENDING, for PENDING_SECONDS) and opened when it comes; plaintext, removed senders,
stale epochs and sender keys from non-members or for another room are refused."""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from clubchat.communities import sealed as s
from clubchat.communities.sealed import SealedRoom
from clubchat.crypto import keystore
from clubchat.crypto.roomseal import RoomSealer
from clubchat.protocol import messages as m
from tests.crypto.conftest import CHAIN_ID, alice, bob

CID = 5
MALLORY = "0x" + "99" * 20


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Handed:
    """Stands in for Secure: records the sender keys that would go out as sealed direct messages."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, m.Payload]] = []

    async def send(self, client: Any, to: str, payload: m.Payload) -> None:
        self.sent.append((to, payload))


def _room(members: list[str], clock: Clock | None = None) -> SealedRoom:
    client: Any = SimpleNamespace(address=alice.address, timeout=1.0, chain_id=CHAIN_ID)
    secure: Any = Handed()
    room = SealedRoom(client, secure, CID, lambda: members, clock=clock or Clock())
    room.roster = {a.lower() for a in members} - {alice.address.lower()}
    return room


def _bob_sealer(room: SealedRoom) -> tuple[RoomSealer, m.SenderKeyDistribution]:
    sealer = RoomSealer(bob.address)
    sealer.join(room.name)
    return sealer, sealer.start(room.name, [alice.address])[alice.address]


def _message(seq: int, payload: m.Payload, sender: str = bob.address) -> m.RoomMessage:
    return m.RoomMessage(CID, m.DEFAULT_ROOM, seq, f"id-{seq:04d}-aaaa", sender, 1_000, payload=payload)


def test_a_message_before_its_key_is_held_then_opened() -> None:
    room = _room([alice.address, bob.address])
    sealer, dist = _bob_sealer(room)
    room._open(_message(1, sealer.seal(room.name, m.Text(body="early"))))
    assert room.posts.empty() and len(room.pending) == 1 and room.stats["held"] == 1
    asyncio.run(room._accept(bob.address, dist))
    assert room.pending == s.deque() and room.posts.get_nowait().payload == m.Text(body="early")
    assert room.refused == []
    # bob lacked alice's chain: it went to him in return, once
    assert [(to, p.TYPE) for to, p in room.secure.sent] == [(bob.address.lower(), "sender-key")]  # type: ignore[attr-defined]


def test_the_hold_is_bounded_in_count_and_time() -> None:
    clock = Clock()
    room = _room([alice.address, bob.address], clock)
    sealer, _ = _bob_sealer(room)
    for seq in range(1, s.MAX_PENDING + 11):
        room._open(_message(seq, sealer.seal(room.name, m.Text(body=f"m{seq}"))))
    assert len(room.pending) == s.MAX_PENDING and room.pending[0][1].seq == 11
    assert len(room.refused) == 10 and "its sender key never came" in room.refused[-1]
    clock.t += s.PENDING_SECONDS + 1
    room._open(_message(9_999, sealer.seal(room.name, m.Text(body="late"))))
    assert [p[1].seq for p in room.pending] == [9_999]


def test_plaintext_removed_senders_and_stale_epochs_are_refused() -> None:
    room = _room([alice.address, bob.address])
    room._open(_message(1, m.Text(body="in the clear")))
    assert "must be sealed" in room.refused[-1]
    sealer, _ = _bob_sealer(room)
    room._open(_message(2, sealer.seal(room.name, m.Text(body="x")), sender=MALLORY))  # not in the roster
    assert "no chain of" in room.refused[-1] and not room.pending
    old = sealer.seal(room.name, m.Text(body="epoch 1"))
    dist2 = sealer.start(room.name, [alice.address])[alice.address]
    asyncio.run(room._accept(bob.address, dist2))
    room._open(_message(3, old))  # an epoch older than bob's chain here: it will never open
    assert "no chain of" in room.refused[-1] and not room.pending and room.posts.empty()


def test_sender_keys_from_non_members_or_for_other_rooms_are_refused() -> None:
    room = _room([alice.address, bob.address])
    _, dist = _bob_sealer(room)
    asyncio.run(room._accept(MALLORY, dist))
    assert "not a member" in room.refused[-1]
    other = m.SenderKeyDistribution(
        room="6/general", epoch=1, chain_key=dist.chain_key, iteration=0, verify_key=dist.verify_key
    )
    asyncio.run(room._accept(bob.address, other))
    assert "for room '6/general'" in room.refused[-1]
    assert room.keys.chains == {} and room.stats["accepted"] == 0


def test_a_member_who_leaves_gets_no_key_of_the_next_epoch() -> None:
    members = [alice.address, bob.address, MALLORY]
    room = _room(members)
    _, dist = _bob_sealer(room)
    asyncio.run(room._accept(bob.address, dist))
    assert room.keys.epoch == 1 and sorted(to for to, _ in room.secure.sent) == sorted(  # type: ignore[attr-defined]
        [bob.address.lower(), MALLORY.lower()]
    )
    room._open(_message(1, m.RoomSealed(epoch=1, ct="AAAA"), sender=MALLORY))  # held: mallory's key is due
    members.remove(MALLORY)  # mallory left (MemberRemoved): the next sync rotates
    room.secure.sent.clear()  # type: ignore[attr-defined]
    asyncio.run(room.sync())
    assert room.keys.epoch == 2 and room.stats["rotations"] == 1 and not room.pending
    sent = room.secure.sent  # type: ignore[attr-defined]
    assert [(to, p.epoch) for to, p in sent] == [(bob.address.lower(), 2)]
    asyncio.run(room.sync())  # nothing changed: no new epoch, nothing sent again
    assert room.keys.epoch == 2 and len(sent) == 1


@pytest.fixture
def keys_dir(tmp_path: Path) -> Iterator[Path]:
    keystore.use_directory(tmp_path / "keys", "a passphrase")
    yield tmp_path / "keys"
    keystore.use_directory(None)


def _iteration(sealed: m.Payload) -> tuple[int, int]:
    """(epoch, iteration) in a room message's header."""
    assert isinstance(sealed, m.RoomSealed)
    _, epoch, iteration = struct.unpack(">32sII", base64.b64decode(sealed.ct)[:40])
    return epoch, iteration


def test_a_restart_mid_epoch_continues_the_epoch_and_the_chains(keys_dir: Path) -> None:
    """Sender keys live in the encrypted keystore: after a restart a member sends on in the same epoch
    (no new key goes out), still opens the others' messages, and refuses one it opened before."""
    members = [alice.address, bob.address]
    room = _room(members)
    bob_sealer, dist = _bob_sealer(room)
    asyncio.run(room._accept(bob.address, dist))
    first = asyncio.run(room.seal(m.Text(body="before the restart")))
    bob_sealer.accept(alice.address, room.secure.sent[-1][1])  # type: ignore[attr-defined]
    from_bob = _message(1, bob_sealer.seal(room.name, m.Text(body="one")))
    room._open(from_bob)
    assert room.posts.get_nowait().payload == m.Text(body="one")
    stored = [p.name for p in keys_dir.iterdir() if ".room-" in p.name and p.suffix == ".json"]
    assert len(stored) == 1
    assert b"before the restart" not in (keys_dir / stored[0]).read_bytes()
    assert dist.chain_key.encode() not in (keys_dir / stored[0]).read_bytes()  # encrypted at rest

    restarted = _room(members)  # a new process: fresh SealedRoom and RoomSealer, same keystore
    restarted.roster = set()
    second = asyncio.run(restarted.seal(m.Text(body="after the restart")))
    assert _iteration(first) == (1, 0) and _iteration(second) == (1, 1)  # the same chain, moved on
    assert restarted.secure.sent == [] and restarted.stats["epochs"] == 0  # type: ignore[attr-defined]
    assert bob_sealer.open(room.name, alice.address, second) == m.Text(body="after the restart")
    restarted._open(_message(2, bob_sealer.seal(room.name, m.Text(body="two"))))
    assert restarted.posts.get_nowait().payload == m.Text(body="two")
    restarted._open(from_bob)  # a replay of what the first process opened
    assert "opened before" in restarted.refused[-1] and restarted.posts.empty()
