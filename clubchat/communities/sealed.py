"""End-to-end encrypted community rooms: what a member posts is sealed with its sender key, and the
key reaches every other member pairwise inside direct Double Ratchet messages.

`SealedRoom(client, secure, community, members, room)` is one member's room on one `RoomClient`
connection (one SealedRoom per connection: it reads the connection's direct envelopes).
`members()` returns the community's current members as this client knows them (e.g. a
clubchat.node.rooms.ChainFeed's membership cache following Communities' logs, `members_of(feed,
community)`). `join()` publishes this device's key bundle on the room's relay (so the others can
open a session to it there), joins the room, and `sync()`s: this member starts an epoch with a
fresh own chain (clubchat.crypto.roomseal) and sends its distribution (`sender-key`) to every
other member through `Secure.send`, which seals it in their pairwise session, so a relay carries
only `sealed` envelopes and never a chain key. `send(text)` syncs again and posts the text as a
`room-sealed` payload: there is no plaintext path. Messages arrive opened in `posts` (`RoomPost`).

Membership changes: `sync()` compares `members()` with the members the current epoch was handed
to. A member who left or was banned (or whose membership expired) has its chains forgotten and
this member starts a new epoch whose key goes to the remaining members only, so the removed one
cannot read what is sent after; `send` syncs first, and `membership_changed()` (hook it to the
feed's `on_change`) syncs at once. A new member gets this member's current chain, which opens
only what is sent from then on.

Ordering: a room message whose sender's key for its epoch has not arrived yet (the distribution
is still on its way, or the sender joined while this member was away) is held, at most
MAX_PENDING messages for PENDING_SECONDS, and opened once the key arrives. When a distribution
arrives from a member that does not hold this member's current chain yet (it joined or came
back), it gets it in return, so members who were offline when a key went out get the keys of
everyone who is online when they join. A relay relabelling a sender, a replay, a plaintext or a
message from a removed member is refused (the reason is kept in `refused`).

Signed history: on a relay that signs its history, the `RoomClient` (with a HistoryBook) checks every
entry of the room as it arrives and asks for what is missing. `send_head()` posts this member's latest
signed head of the room at this relay, sealed like any post; a member who opens a `head` post compares
it with what it holds (`RoomClient.compare_room_head`): a relay that showed the two members different
entries for one place of the room is caught with both signatures, the evidence `club report` proves
on chain. Head posts go to the history check, not to `posts`.

Restarts: with a keystore directory (clubchat.crypto.keystore) the room's keys (this member's own
chain with its signing key, the others' chains with their skipped message keys) and the members
its chain was handed to are kept in `<address>-<chain id>.room-<digest>.json`, encrypted like every
keystore file, read and written under that file's lock around every change: after a restart the
member sends on in the same epoch without handing out a new key, opens what the others send, and
refuses a room message it opened before the restart; two processes on one keystore take turns.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from clubchat.aio import cancel_and_wait
from clubchat.client.relay_client import Received, RelayError
from clubchat.client.secure import Secure
from clubchat.communities.rooms import RoomClient
from clubchat.crypto import keystore
from clubchat.crypto.roomfiles import Incoming, OpenedFile, RoomFileError, frames_of, seal_file
from clubchat.crypto.roomseal import RoomSealer, distribution_of, room_name
from clubchat.crypto.senderkeys import RoomKeyError, RoomKeys
from clubchat.crypto.session import DecryptError
from clubchat.node.rooms import CacheView
from clubchat.protocol import messages as m

log = logging.getLogger("clubchat.rooms.sealed")

MAX_PENDING = 256  # room messages held for a sender key that has not arrived yet
PENDING_SECONDS = 60.0  # how long one is held
MAX_REFUSED = 64  # refusal reasons kept

Members = Callable[[], Iterable[str]]


def members_of(view: CacheView, community: int) -> Members:
    """The community's current members as `view`'s membership cache knows them (chain time)."""
    return lambda: view.membership.members(community, view.now())


@dataclass(frozen=True)
class RoomPost:
    """One opened room message."""

    sender: str
    seq: int
    time: int  # the relay's time of the post
    id: str
    payload: m.Payload  # text or head, opened


class SealedRoom:
    """One member's end-to-end encrypted room on one relay connection."""

    def __init__(
        self,
        client: RoomClient,
        secure: Secure,
        community: int,
        members: Members,
        room: str = m.DEFAULT_ROOM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.secure, self.community, self.room = client, secure, community, room
        self.members, self.clock = members, clock
        self.me = client.address.lower()
        self.name = room_name(community, room)
        self.sealer = RoomSealer(client.address)
        self.sealer.join(self.name)
        self.roster: set[str] = set()  # the other members the current epoch was started for
        self.handed: set[str] = set()  # those of them holding this member's current chain
        self.pending: deque[tuple[float, m.RoomMessage]] = deque()  # (when held, message)
        self.posts: asyncio.Queue[RoomPost] = asyncio.Queue()
        self.direct: asyncio.Queue[Received] = asyncio.Queue()  # other direct messages, opened
        self.refused: list[str] = []
        self.files: asyncio.Queue[OpenedFile] = asyncio.Queue()  # files posted here, opened
        self.incoming = Incoming()  # chunks and keys of files on their way
        self.stats = {
            "epochs": 0,
            "rotations": 0,
            "distributed": 0,
            "accepted": 0,
            "held": 0,
            "opened": 0,
            "files": 0,
        }
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        # the keystore file of this room's keys (clubchat.crypto.keystore), and its stamp as last seen
        self._file = ".room-" + hashlib.sha256(self.name.encode()).hexdigest()[:16]
        self._stamp: tuple[int, int] | None = None

    @property
    def keys(self) -> RoomKeys:
        return self.sealer.rooms[self.name]

    async def join(self, since: int | None = None) -> m.RoomJoined:
        """Publish this device's keys on the relay, join the room, hand out this member's key."""
        await self.secure.ready(self.client)
        joined = await self.client.join(self.community, self.room, since=since)
        await self.sync()
        self._tasks = [asyncio.create_task(self._read_direct()), asyncio.create_task(self._read_room())]
        return joined

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    def _current(self) -> set[str]:
        return {a.lower() for a in self.members()} - {self.me}

    async def sync(self) -> None:
        """Bring the keys up to date with `members()`: a new epoch when someone left or was banned
        (or there is none yet), and this member's current chain to every member lacking it."""
        async with self._lock:
            with self._stored():
                now = self._current()
                removed = self.roster - now
                for gone in removed:  # bound: the members removed since the last sync
                    self.keys.forget(gone)
                if removed:
                    self.pending = deque(p for p in self.pending if p[1].sender.lower() not in removed)
                if self.keys.own is None or removed:
                    self.sealer.start(self.name, now)
                    self.roster, self.handed = set(now), set()
                    self.stats["epochs"] += 1
                    self.stats["rotations"] += bool(removed)
                self.roster |= now
                assert self.keys.own is not None
                dist = distribution_of(self.keys.own)
                missing = sorted(now - self.handed)
            handed = [member for member in missing if await self._hand(member, dist)]  # bound: members
            if handed:
                with self._stored():
                    self.handed.update(handed)

    async def _hand(self, member: str, dist: m.SenderKeyDistribution) -> bool:
        try:
            await self.secure.send(self.client, member, dist)
        except (RelayError, TimeoutError) as exc:  # no keys here, offline: it gets ours when it joins
            log.info("room %s: sender key for %s not sent (%s)", self.name, member, exc)
            return False
        self.stats["distributed"] += 1
        return True

    @contextmanager
    def _stored(self) -> Iterator[None]:
        """The room's keys as the keystore holds them now (with a keystore directory): under the
        room's keystore lock, what another process or an earlier run wrote is read first, and the
        state is written back after, so a restart continues the epoch and the chains where they
        were and no message key is used twice. Nothing here may wait."""
        if keystore.directory() is None:
            yield
            return
        address, chain_id = self.client.address, self.client.chain_id
        with keystore.locked(address, chain_id, self._file):
            stamp = keystore.stamp(address, chain_id, self._file + ".json")
            if stamp is not None and stamp != self._stamp:
                text = keystore.load_text(address, chain_id, self._file + ".json")
                if text is not None:
                    data = json.loads(text)
                    self.sealer.restore_room(self.name, json.dumps(data["keys"]))
                    self.roster, self.handed = set(data["roster"]), set(data["handed"])
            yield
            data = {
                "keys": json.loads(self.sealer.export_room(self.name)),
                "roster": sorted(self.roster),
                "handed": sorted(self.handed),
            }
            keystore.save_text(address, chain_id, self._file + ".json", json.dumps(data))
            self._stamp = keystore.stamp(address, chain_id, self._file + ".json")

    def membership_changed(self, _touched: object = None) -> None:
        """Hook for a membership feed's `on_change`: sync now (a removal rotates the key)."""
        task = asyncio.get_running_loop().create_task(self.sync())
        self._tasks = [t for t in self._tasks if not t.done()] + [task]

    async def send(self, text: str, id: str | None = None) -> m.RoomSent:
        """Post `text` sealed with this member's current chain (after a sync); the same `id` on
        each of the room's relays lets a member following several show the post once."""
        return await self.post(m.Text(body=text), id)

    async def post(self, payload: m.Payload | m.RoomFileKey, id: str | None = None) -> m.RoomSent:
        """Post a `text` or `head` payload (or a file's key), sealed (`seal`)."""
        return await self.client.send_room(self.community, await self.seal(payload), room=self.room, id=id)

    async def send_file(
        self, data: bytes, mime: str = "application/octet-stream", name: str | None = None
    ) -> m.RoomFileKey:
        """Post a file encrypted end to end (clubchat.crypto.roomfiles): its key, name, type and hash
        in a sealed room message first, then the ciphertext chunks (the relay checks their declared
        size, the ciphertext's, against this member's tier: `over-tier-limit` raises RelayError).
        The members get it in `files` once every chunk opened."""
        key, chunks = seal_file(data, mime, name)
        await self.send_sealed_file(key, chunks)
        return key

    async def send_sealed_file(self, key: m.RoomFileKey, chunks: list[bytes]) -> None:
        """Post a file `seal_file` sealed: the same file (one `file_id`) on each of a room's relays
        lets a member following several take it once."""
        await self.post(key)
        for frame in frames_of(key, chunks):  # bound: the file's chunks
            await self.client.send_file_chunk(self.community, frame, room=self.room)

    async def next_file(self, timeout: float | None = None) -> OpenedFile:
        return await asyncio.wait_for(self.files.get(), timeout or self.client.timeout)

    async def seal(self, payload: m.Payload | m.RoomFileKey) -> m.RoomSealed:
        """`payload` sealed with this member's current chain, after a sync (what `post` sends)."""
        await self.sync()
        with self._stored():
            return self.sealer.seal(self.name, payload)

    async def send_head(self) -> m.RoomSent | None:
        """Post this member's latest signed head of the room at this relay for the other members to
        compare (sealed); None when it holds none (no HistoryBook, or nothing signed yet)."""
        head = self.client.room_head(self.community, self.room)
        return None if head is None else await self.post(head)

    async def next_post(self, timeout: float | None = None) -> RoomPost:
        return await asyncio.wait_for(self.posts.get(), timeout or self.client.timeout)

    def _refuse(self, reason: str) -> None:
        log.warning("room %s: %s", self.name, reason)
        self.refused = [*self.refused[-(MAX_REFUSED - 1) :], reason]

    async def _read_direct(self) -> None:
        """Open the connection's direct envelopes: sender keys are taken, the rest goes to `direct`."""
        while True:
            got = await self.client.inbox.get()
            opened = await self.secure.open(self.client, got)
            if opened is None:
                continue
            if got.stored:
                await self.client.ack(got)
            payload = opened.envelope.payload
            if isinstance(payload, m.SenderKeyDistribution):
                await self._accept(opened.envelope.sender, payload)
            else:
                self.direct.put_nowait(opened)

    async def _accept(self, sender: str, dist: m.SenderKeyDistribution) -> None:
        who = sender.lower()
        if dist.room != self.name:
            self._refuse(f"a sender key from {sender} for room {dist.room!r}, not {self.name!r}")
            return
        if who not in self._current():
            self._refuse(f"a sender key from {sender}, who is not a member of community {self.community}")
            return
        try:
            with self._stored():
                before = max((e for s, e in self.keys.chains if s == who), default=0)
                self.sealer.accept(sender, dist)
        except RoomKeyError as exc:
            self._refuse(f"the sender key from {sender}: {exc}")
            return
        self.stats["accepted"] += 1
        if dist.epoch <= before:  # not a rotation (epochs only grow): it started afresh, lost our chain
            self.handed.discard(who)
        await self.sync()  # it gets this member's current chain if it lacks it (joined, came back)
        held, self.pending = self.pending, deque()
        for _, message in held:  # bound: MAX_PENDING
            self._open(message)

    async def _read_room(self) -> None:
        while True:
            frame = await self.client.room_inbox.get()
            if frame.community != self.community or frame.room != self.room:
                continue
            if isinstance(frame, m.RoomFileMessage):
                self._take_file(frame.sender, partial(self.incoming.chunk, frame.sender, frame.file))
                continue
            self._open(frame)

    def _take_file(self, sender: str, take: Callable[[], OpenedFile | None]) -> None:
        """Hand a file chunk or key to `incoming`; a file it completes goes to `files`."""
        if sender.lower() not in self._current():
            self._refuse(f"a file from {sender}, who is not a member of community {self.community}")
            return
        try:
            opened = take()
        except RoomFileError as exc:
            self._refuse(f"a file from {sender}: {exc}")
            return
        if opened is not None:
            self.stats["files"] += 1
            self.files.put_nowait(opened)

    def _open(self, message: m.RoomMessage) -> None:
        """Open `message` into `posts`, hold it while its sender's key is on its way, or refuse it."""
        sender, payload = message.sender.lower(), message.payload
        if (
            isinstance(payload, m.RoomSealed)
            and (sender, payload.epoch) not in self.keys.chains
            and sender in self._current()  # a member who joined since the last sync counts too
            and payload.epoch >= max((e for s, e in self.keys.chains if s == sender), default=0)
        ):
            self._hold(message)
            return
        try:
            with self._stored():
                opened = self.sealer.open(self.name, message.sender, payload)
        except DecryptError as exc:
            self._refuse(f"room message {message.seq} from {message.sender}: {exc}")
            return
        self.stats["opened"] += 1
        if isinstance(opened, m.RoomFileKey):
            self._take_file(message.sender, partial(self.incoming.key, message.sender, opened))
            return
        if isinstance(opened, m.Head):  # another member's signed head: for the history check
            task = asyncio.create_task(self._compare(opened))
            self._tasks = [t for t in self._tasks if not t.done()] + [task]
            return
        self.posts.put_nowait(RoomPost(message.sender, message.seq, message.time, message.id, opened))

    async def _compare(self, head: m.Head) -> None:
        await self.client.compare_room_head((self.community, self.room), head)

    def _hold(self, message: m.RoomMessage) -> None:
        now = self.clock()
        while self.pending and (
            len(self.pending) >= MAX_PENDING or now - self.pending[0][0] > PENDING_SECONDS
        ):  # bound: MAX_PENDING
            _, dropped = self.pending.popleft()
            self._refuse(f"room message {dropped.seq} from {dropped.sender}: its sender key never came")
        self.pending.append((now, message))
        self.stats["held"] += 1
