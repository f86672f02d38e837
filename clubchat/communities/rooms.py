"""Community rooms from a client: where a room meets, and a relay connection that joins and posts.

`room_id(community, name)` is keccak256(abi.encode(uint256 community, string name)); a room's
rendezvous relays are found like a user's, `sample(RELAY, keccak256(room id), k)`
(`room_relays`). `RoomClient` is a `RelayClient` (signed in, envelopes as before) that also speaks
the room frames of clubchat.protocol.messages: `join` (with the last seq seen, to get what was
missed), `leave`, `send_room` (a `room-sealed` payload only: clubchat.communities.sealed encrypts
room messages end to end with sender keys), `send_file_chunk`; room messages land in `room_inbox`,
and a `room-left` (banned, expired, left) in `left`. Refusals raise `RelayError` with the relay's code
(`not-member`, `banned`, `admins-only`, `over-tier-limit`, `membership-unavailable`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from clubchat.client.relay_client import RelayClient, RelayError, new_envelope_id
from clubchat.protocol import messages as m
from clubchat.protocol.endpoints import is_valid_endpoint
from clubchat.registry.discovery import Discovery
from clubchat.registry.kinds import RELAY

RoomKey = tuple[int, str]


def room_id(community: int, name: str = m.DEFAULT_ROOM) -> bytes:
    """keccak256(abi.encode(community, name)): a room's id, the same for every client and relay."""
    return bytes(keccak(abi_encode(["uint256", "string"], [community, name])))


def room_relays(discovery: Discovery, community: int, name: str = m.DEFAULT_ROOM, k: int = 2) -> list[str]:
    """The room's rendezvous relay endpoints: `sample(RELAY, keccak256(room id), k)`."""
    nodes = discovery.sample(RELAY, bytes(keccak(room_id(community, name))), k)
    # Endpoints read from the chain are checked again, as for a user's rendezvous relays.
    return [uri for node in nodes if is_valid_endpoint(RELAY, uri := discovery.endpoint(node, RELAY))]


class RoomClient(RelayClient):
    """A relay connection that also joins community rooms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room_inbox: asyncio.Queue[m.RoomMessage | m.RoomFileMessage] = asyncio.Queue()
        self.left: asyncio.Queue[m.RoomLeft] = asyncio.Queue()
        self.last_seq: dict[RoomKey, int] = {}
        self._joins: dict[RoomKey, asyncio.Future[m.RoomJoined]] = {}
        self._posts: dict[str, asyncio.Future[m.RoomSent]] = {}

    async def _dispatch(self, frame: Any) -> None:
        if isinstance(frame, m.RoomMessage | m.RoomFileMessage):
            key = (frame.community, frame.room)
            if frame.seq > self.last_seq.get(key, 0):
                self.last_seq[key] = frame.seq
                self.room_inbox.put_nowait(frame)
        elif isinstance(frame, m.RoomJoined):
            self._settle(self._joins.pop((frame.community, frame.room), None), frame)
        elif isinstance(frame, m.RoomSent):
            self._settle(self._posts.pop(frame.id, None), frame)
        elif isinstance(frame, m.RoomLeft):
            self.left.put_nowait(frame)
        elif isinstance(frame, m.Error) and frame.id is not None and frame.id in self._posts:
            self._fail(self._posts.pop(frame.id), frame)
        elif isinstance(frame, m.Error) and frame.id is None and self._joins:
            # A refused join carries no id; joins are answered in order, so it is the oldest one's.
            self._fail(self._joins.pop(next(iter(self._joins))), frame)
        else:
            await super()._dispatch(frame)

    @staticmethod
    def _settle(fut: asyncio.Future[Any] | None, value: Any) -> None:
        if fut is not None and not fut.done():
            fut.set_result(value)

    @staticmethod
    def _fail(fut: asyncio.Future[Any], frame: m.Error) -> None:
        if not fut.done():
            fut.set_exception(RelayError(frame.code, frame.reason))

    async def join(
        self, community: int, room: str = m.DEFAULT_ROOM, since: int | None = None
    ) -> m.RoomJoined:
        """Join a room on this relay; the retained messages after `since` (default: the last seen
        here) follow in `room_inbox`."""
        key = (community, room)
        fut = self._joins[key] = asyncio.get_running_loop().create_future()
        start = self.last_seq.get(key, 0) if since is None else since
        await self._send(m.encode(m.RoomJoin(community=community, room=room, since=start)))
        try:
            return await asyncio.wait_for(fut, self.timeout)
        finally:
            self._joins.pop(key, None)

    async def leave(self, community: int, room: str = m.DEFAULT_ROOM) -> None:
        await self._send(m.encode(m.RoomLeave(community=community, room=room)))

    async def _post(self, frame: m.RoomSend | m.RoomFile) -> m.RoomSent:
        fut = self._posts[frame.id] = asyncio.get_running_loop().create_future()
        try:
            await self._send(m.encode(frame))
            return await asyncio.wait_for(fut, self.timeout)
        finally:
            self._posts.pop(frame.id, None)

    async def send_room(
        self, community: int, payload: m.RoomSealed, room: str = m.DEFAULT_ROOM, id: str | None = None
    ) -> m.RoomSent:
        """Post a sealed message (clubchat.communities.sealed seals it) to a room; returns the relay's
        `room-sent` (seq, copies delivered here). A plaintext payload is refused here: TypeError."""
        if not isinstance(payload, m.RoomSealed):
            raise TypeError(f"a {payload.TYPE!r} room payload: room messages are sealed (SealedRoom)")
        return await self._post(m.RoomSend(community, room, id=id or new_envelope_id(), payload=payload))

    async def send_file_chunk(
        self, community: int, chunk: m.RoomFileChunk, room: str = m.DEFAULT_ROOM
    ) -> m.RoomSent:
        return await self._post(m.RoomFile(community, room, id=new_envelope_id(), file=chunk))

    async def next_room_message(self, timeout: float | None = None) -> m.RoomMessage | m.RoomFileMessage:
        return await asyncio.wait_for(self.room_inbox.get(), timeout or self.timeout)
