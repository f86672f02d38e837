"""Community rooms from a client: where a room meets, and a relay connection that joins and posts.

`room_id(community, name)` is keccak256(abi.encode(uint256 community, string name)); a room's
rendezvous relays are found like a user's, `sample(RELAY, keccak256(room id), k)`
(`room_relays`). `RoomClient` is a `RelayClient` (signed in, envelopes as before) that also speaks
the room frames of clubchat.protocol.messages: `join` (with the last seq seen, to get what was
missed), `leave`, `send_room` (a `room-sealed` payload only: clubchat.communities.sealed encrypts
room messages end to end with sender keys), `send_file_chunk`; room messages land in `room_inbox`,
and a `room-left` (banned, expired, left) in `left`. Refusals raise `RelayError` with the relay's code
(`not-member`, `banned`, `admins-only`, `over-tier-limit`, `membership-unavailable`).

Signed history: with a `HistoryBook` (clubchat.client.history) the client checks every room entry
the relay signs, as it does a direct conversation's: the entry in `room-sent` against the text the
members got (rebuilt from this client's own post and the relay's `time`), the entries in
`room-logged` and `room-entries` against the `room-message` / `room-file-chunk` texts that arrived;
signature by the operator's node key, chain continuity, the latest signed head per (relay, room).
A gap or a `prev` mismatch is told through the book and the missing entries are asked for with
`room-history` (`ask_room_history`); a relay that does not produce entries below a head it signed
leaves refusal evidence. A `head` payload (another member's signed head of a room, sent sealed in
the room by clubchat.communities.sealed or in a direct envelope) is compared with `compare_head`:
two signed entries of one (node, room, seq) are equivocation evidence for `club report`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eth_utils import keccak

from clubchat.client.history import Problem, entry_of
from clubchat.client.relay_client import RelayClient, RelayError, keep_recent, new_envelope_id
from clubchat.protocol import messages as m
from clubchat.protocol.endpoints import is_valid_endpoint
from clubchat.protocol.room_frames import room_id
from clubchat.registry.discovery import Discovery
from clubchat.registry.kinds import RELAY

RoomKey = tuple[int, str]


__all__ = ["RoomClient", "room_id", "room_relays"]


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
        # signed history (with a HistoryBook): what the entries are checked against, what was asked
        self._rooms_by_id: dict[bytes, RoomKey] = {}  # room id -> room, for the rooms used here
        self._room_texts: dict[tuple[int, str, int], str] = {}  # (community, room, seq) -> text
        self._posted: dict[str, m.RoomSend | m.RoomFile] = {}  # id -> own post until its `room-sent`
        self._room_asked: dict[tuple[int, str, int], int] = {}  # (community, room, from) -> to
        self._room_history: dict[tuple[int, str, int], asyncio.Future[m.RoomEntries]] = {}

    def _keep_text(self, frame: Any, raw: str | bytes) -> None:
        """Keep a room post's exact text until its entry names its hash (with a HistoryBook)."""
        if isinstance(frame, m.RoomMessage | m.RoomFileMessage) and isinstance(raw, str):
            keep_recent(self._room_texts)[(frame.community, frame.room, frame.seq)] = raw
        else:
            super()._keep_text(frame, raw)

    async def _dispatch(self, frame: Any) -> None:
        if self.history is not None and isinstance(frame, m.RoomSent | m.RoomLogged | m.RoomEntries):
            await self._check_room(frame)
        elif self.history is not None and isinstance(frame, m.Envelope) and isinstance(frame.payload, m.Head):
            room = self._rooms_by_id.get(bytes.fromhex(frame.payload.entry.room[2:]))
            if room is not None:  # a member's head of a community room, not of the direct conversation
                await self.compare_room_head(room, frame.payload)
                return
        if isinstance(frame, m.RoomMessage | m.RoomFileMessage):
            key = (frame.community, frame.room)
            if frame.seq > self.last_seq.get(key, 0):
                self.last_seq[key] = frame.seq
                self.room_inbox.put_nowait(frame)
        elif isinstance(frame, m.RoomJoined):
            self._settle(self._joins.pop((frame.community, frame.room), None), frame)
        elif isinstance(frame, m.RoomSent):
            self._settle(self._posts.pop(frame.id, None), frame)
        elif isinstance(frame, m.RoomEntries):
            self._settle(self._room_history.pop((frame.community, frame.room, frame.start), None), frame)
        elif isinstance(frame, m.RoomLeft):
            self.left.put_nowait(frame)
        elif isinstance(frame, m.Error) and frame.id is not None and frame.id in self._posts:
            self._fail(self._posts.pop(frame.id), frame)
        elif isinstance(frame, m.Error) and frame.id is None and self._joins:
            # A refused join carries no id; joins are answered in order, so it is the oldest one's.
            self._fail(self._joins.pop(next(iter(self._joins))), frame)
        elif isinstance(frame, m.Error) and frame.id is None and self._room_history:
            # A refused `room-history` carries no id either (a client asks while no join is pending).
            self._fail(self._room_history.pop(next(iter(self._room_history))), frame)
        elif not isinstance(frame, m.RoomLogged):
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
        self._rooms_by_id[room_id(community, room)] = key
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
        if self.history is not None:
            self._rooms_by_id[room_id(frame.community, frame.room)] = (frame.community, frame.room)
            keep_recent(self._posted)[frame.id] = frame
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

    # -- signed history of rooms (clubchat.client.history) ----------------------------------------

    def _members_text(self, sent: m.RoomSent) -> str | None:
        """The exact text the members got of this client's post (what its entry's `body` hashes)."""
        post = self._posted.pop(sent.id, None)
        if post is None or sent.time is None:
            return None
        out: m.RoomMessage | m.RoomFileMessage
        if isinstance(post, m.RoomSend):
            out = m.RoomMessage(
                post.community, post.room, sent.seq, post.id, self.address, sent.time, post.payload
            )
        else:
            out = m.RoomFileMessage(
                post.community, post.room, sent.seq, post.id, self.address, sent.time, post.file
            )
        return m.encode(out)

    async def _check_room(self, frame: m.RoomSent | m.RoomLogged | m.RoomEntries) -> None:
        book = self.history
        assert book is not None
        problems: list[Problem] = []
        if isinstance(frame, m.RoomSent):
            post = self._posted.get(frame.id)
            if frame.entry is None or post is None:
                return
            key = (post.community, post.room)
            text = self._members_text(frame)
            problems += book.record(self.uri, entry_of(frame.entry), frame.sig, text)
        else:
            key = (frame.community, frame.room)
            got = []
            for r in frame.records:  # bound: MAX_LOGGED / MAX_HISTORY
                entry = entry_of(r.entry)
                got.append(entry.seq)
                text = self._room_texts.pop((key[0], key[1], entry.seq), None)
                problems += book.record(self.uri, entry, r.sig, text)
            if isinstance(frame, m.RoomEntries):  # a refusal is evidence, not asked for again
                self._answered(key, frame, got)
        for problem in problems:  # bound: a few per entry
            if problem.missing is not None:
                await self.ask_room_history(key[0], key[1], *problem.missing)

    def _answered(self, key: RoomKey, frame: m.RoomEntries, got: list[int]) -> None:
        """A `room-history` this client asked: what the relay did not produce, below a head it
        signed, is a refusal (told, and kept as evidence by the book)."""
        book = self.history
        assert book is not None
        end = self._room_asked.pop((key[0], key[1], frame.start), None)
        if end is None:
            return  # the entries of retained posts a join replayed: nothing was asked
        rid = room_id(*key)
        for head in book.heads():  # bound: rooms this client holds
            if head.entry.room == rid and book.relays.get(head.entry.node) == self.uri:
                book.answered(self.uri, head.entry.node, rid, frame.start, end, got)

    async def ask_room_history(self, community: int, room: str, start: int, end: int) -> None:
        """Ask this relay for the entries start..end of a room (once per range); the answer is checked
        as it arrives."""
        end = min(end, start + m.MAX_HISTORY - 1)
        key = (community, room, start)
        if self._room_asked.get(key, 0) >= end:
            return
        self._room_asked[key] = end
        await self._send(m.encode(m.RoomHistory(community, room, start=start, end=end)))

    async def room_history(
        self, community: int, room: str, start: int, end: int, grant: m.Grant | None = None
    ) -> m.RoomEntries:
        """Ask for a room's entries start..end (with a member's `grant` when this wallet is none) and
        wait for the answer; a refusal (not a member, a grant that does not hold, no signed history
        here) raises RelayError."""
        end = min(end, start + m.MAX_HISTORY - 1)
        key = (community, room, start)
        fut = self._room_history[key] = asyncio.get_running_loop().create_future()
        if self.history is not None:  # the answer is checked too: a refusal below a signed head is evidence
            self._room_asked[key] = end
        try:
            await self._send(m.encode(m.RoomHistory(community, room, start=start, end=end, grant=grant)))
            return await asyncio.wait_for(fut, self.timeout)
        finally:
            self._room_history.pop(key, None)

    async def compare_room_head(self, key: RoomKey, head: m.Head) -> list[Problem]:
        """Another member's signed head of room `key` (a `head` payload): a different signed entry
        for a place this client holds is equivocation evidence; a later one, entries to ask for (at
        this relay, when the head is this relay's)."""
        book = self.history
        if book is None:
            return []
        problems = book.compare_head(head.relay, entry_of(head.entry), head.sig)
        if head.relay == self.uri:
            for problem in problems:  # bound: one or two
                if problem.missing is not None:
                    await self.ask_room_history(key[0], key[1], *problem.missing)
        return problems

    def room_head(self, community: int, room: str = m.DEFAULT_ROOM) -> m.Head | None:
        """This client's latest signed head of a room at this relay, as a `head` payload (None: none
        yet, or no HistoryBook)."""
        book = self.history
        if book is None:
            return None
        rid = room_id(community, room)
        for head in book.heads():  # bound: rooms this client holds
            if head.entry.room == rid and book.relays.get(head.entry.node) == self.uri:
                return m.Head(relay=self.uri, entry=head.record(), sig="0x" + head.sig.hex())
        return None
