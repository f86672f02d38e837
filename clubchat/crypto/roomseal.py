"""Room messages sealed with sender keys: the envelope format a room client puts in `room-send`.

`RoomSealer(address)` is one member's encryption for its community rooms (clubchat.crypto.senderkeys
underneath). A room is named `"<community id>/<room name>"`; `join(room)` makes a device take the
room's sender keys (a distribution for a room it has not joined is refused). `start(room, members)`
begins an epoch
with a fresh own chain and returns one `sender-key` payload (`m.SenderKeyDistribution`) per other
member; each goes to its member as a direct message through the pairwise Double Ratchet session
(clubchat.client.secure: `Secure.send(client, member, distribution)`), so it has that session's
forward secrecy and sender authentication and a relay never sees a chain key. `accept(sender,
distribution)` takes one that arrived (opened from a direct `sealed` payload from `sender`).
`remove(room, member, remaining)` forgets a member who left or was banned and starts a new epoch
whose chains go to the remaining members only: the removed member cannot read what is sent after.

`seal(room, payload)` encrypts a room payload (`text`, a `head`, or the `room-file-key` of a file
(clubchat.crypto.roomfiles)) as `m.RoomSealed`: the epoch in
clear, and the sender-key message (header, ChaCha20-Poly1305 ciphertext of the padded
`{"p": payload, "ts": time}`, Ed25519 signature). `open(room, sender, sealed)` checks the signature
with the sender's chain of that epoch (a relay relabelling `from` to another member fails it),
refuses a message whose iteration was opened before (replay), and returns the payload. A member keeps
the chains of the current and the previous epoch of each sender (messages sent just before a
rotation still open), MAX_ROOMS rooms at most.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable

from clubchat.crypto.senderkeys import RoomKeyError, RoomKeys, SenderKey
from clubchat.crypto.session import DecryptError, unwrap, wrap
from clubchat.protocol import messages as m
from clubchat.protocol.codec import DecodeError, decode_object

ROOM_PAYLOAD_TYPES = ("text", "head", "room-file-key")  # what a room message may carry inside its seal
MAX_ROOMS = 1_024  # rooms one device keeps keys for


def room_name(community: int, room: str) -> str:
    """The name sender keys bind a room by: `"<community id>/<room name>"`."""
    return f"{community}/{room}"


def distribution_of(key: SenderKey) -> m.SenderKeyDistribution:
    return m.SenderKeyDistribution(
        room=key.room,
        epoch=key.epoch,
        chain_key=key.chain_key.hex(),
        iteration=key.iteration,
        verify_key=key.verify_key.hex(),
    )


def key_of(dist: m.SenderKeyDistribution) -> SenderKey:
    return SenderKey(
        dist.room, dist.epoch, bytes.fromhex(dist.chain_key), dist.iteration, bytes.fromhex(dist.verify_key)
    )


class RoomSealer:
    """One member's sender keys for its rooms, and the room envelope format."""

    def __init__(self, address: str, clock: Callable[[], float] = time.time) -> None:
        self.address = address
        self.clock = clock
        self.rooms: dict[str, RoomKeys] = {}

    def _keys(self, room: str) -> RoomKeys:
        keys = self.rooms.get(room)
        if keys is None:
            if len(self.rooms) >= MAX_ROOMS:
                raise RoomKeyError(f"this device keeps keys for at most {MAX_ROOMS} rooms; leave one first")
            keys = self.rooms[room] = RoomKeys(room, self.address)
        return keys

    def export_room(self, room: str) -> str:
        """This member's keys of `room` as JSON (its own chain with the signing key, the others'
        chains with their skipped keys: secret, keep it in the encrypted keystore only)."""
        return json.dumps(self._keys(room).to_dict())

    def restore_room(self, room: str, text: str) -> None:
        """Take the keys `export_room` wrote (after a restart, or from another process): the epoch
        and the chains continue where they were."""
        keys = RoomKeys.from_dict(json.loads(text))
        if keys.room != room or keys.address.lower() != self.address.lower():
            raise RoomKeyError(f"the stored keys are {keys.address}'s for room {keys.room!r}, not {room!r}")
        self._keys(room)  # the MAX_ROOMS bound
        self.rooms[room] = keys

    def join(self, room: str) -> None:
        """Be ready to take the members' sender keys for `room` (before `start` or any `accept`)."""
        self._keys(room)

    def start(self, room: str, members: Iterable[str]) -> dict[str, m.SenderKeyDistribution]:
        """A new epoch with a fresh own chain; its distribution for every member but this one
        (member address -> payload to send it as a direct sealed message)."""
        own = self._keys(room).rotate()
        dist = distribution_of(own)
        return {member: dist for member in members if member.lower() != self.address.lower()}

    def remove(self, room: str, member: str, remaining: Iterable[str]) -> dict[str, m.SenderKeyDistribution]:
        """`member` left or was banned: forget its chains, and start a new epoch for `remaining`."""
        self._keys(room).forget(member)
        return self.start(room, [r for r in remaining if r.lower() != member.lower()])

    def accept(self, sender: str, dist: m.SenderKeyDistribution) -> None:
        """Take `sender`'s chain from a distribution that arrived in a direct sealed message from
        `sender`; the chains of its epochs before the previous one are dropped."""
        keys = self.rooms.get(dist.room)
        if keys is None:
            raise RoomKeyError(f"a sender key for room {dist.room!r}, which this device has not joined")
        keys.accept(sender, key_of(dist))
        for k in [
            k for k in keys.chains if k[0] == sender.lower() and k[1] < dist.epoch - 1
        ]:  # bound: epochs
            del keys.chains[k]

    def seal(self, room: str, payload: m.Payload | m.RoomFileKey) -> m.RoomSealed:
        """`payload` (text or head) encrypted with this member's current chain in `room`."""
        if payload.TYPE not in ROOM_PAYLOAD_TYPES:
            raise TypeError(f"a {payload.TYPE!r} payload does not go to a room")
        epoch, message = self._keys(room).encrypt(wrap(payload, int(self.clock())))
        return m.RoomSealed(epoch=epoch, ct=base64.b64encode(message).decode())

    def open(self, room: str, sender: str, sealed: m.Payload) -> m.Payload | m.RoomFileKey:
        """The payload of a room message from `sender`; raises DecryptError saying why."""
        if not isinstance(sealed, m.RoomSealed):
            raise DecryptError(f"a plaintext {sealed.TYPE!r} room payload from {sender}: it must be sealed")
        keys = self.rooms.get(room)
        if keys is None:
            raise DecryptError(f"no keys for room {room!r} on this device")
        try:
            padded = keys.decrypt(sender, sealed.epoch, base64.b64decode(sealed.ct, validate=True))
        except RoomKeyError as exc:
            raise DecryptError(str(exc)) from None
        except ValueError as exc:
            raise DecryptError(f"the room message is malformed ({exc})") from None
        payload = _unwrap(padded)
        if payload.TYPE not in ROOM_PAYLOAD_TYPES:
            raise DecryptError(f"a {payload.TYPE!r} payload inside a room message")
        return payload


def _unwrap(data: bytes) -> m.Payload | m.RoomFileKey:
    """The payload of a decrypted room message: a file's key (only ever inside a room seal), or an
    envelope payload (clubchat.crypto.session.unwrap)."""
    try:
        inner = json.loads(data)["p"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DecryptError(f"the decrypted payload is malformed ({exc})") from None
    if isinstance(inner, dict) and inner.get("type") == m.RoomFileKey.TYPE:
        try:
            return decode_object(m.RoomFileKey, inner)
        except DecodeError as exc:
            raise DecryptError(f"the decrypted file key is malformed ({exc})") from None
    return unwrap(data)[1]
