"""Community rooms on a relay: admission from a log-fed membership cache, tier limits, fan-out.

A room is (community id, name) (clubchat.protocol.messages: `room-join`, `room-leave`,
`room-send`, `room-file`; `general` is the default room, `broadcast:<name>` rooms take posts from
the owner and admins only). `Rooms` attaches itself to a `RelayServer` (`relay.rooms`), which hands
it those frames; everything else about rooms lives here.

Admission reads `MembershipCache` and `TierCache` (clubchat.communities.cache), never the RPC:
`ChainFeed` fills them from Communities' and Premium's logs `depth` blocks behind the head, every
`poll` seconds. A connection is admitted to a room, and each of its messages into it, only while
the cache says `is_member`; otherwise it gets an `error` (`not-member`, `banned`, `admins-only`,
`over-tier-limit`, `membership-unavailable`) and the frame is dropped. A `room-send` whose payload
is not `room-sealed` (clubchat.communities.sealed) is refused with `not-sealed`: the relay never
fans out or retains a readable room message. After every poll the
accounts whose membership events arrived are rechecked at once, and every subscription is swept
for expiries, so a ban or expiry reaches the relay's rooms within the confirmation depth plus one
poll interval: the member's connections get `room-left` and no further messages.

When the RPC has not answered for `stale_after` seconds the cache is stale, and each community's
own on-chain setting (`fail_open`) decides: fail-open communities are served from the cached member
list; fail-closed ones admit nobody (their subscribers get `room-left` with
`membership-unavailable`) until the cache is fresh again.

Tier limits (by the sender's tier in `TierCache`): a room message whose padded plaintext (its
sealed size less the sender-key header, tag and signature, `SEALED_OVERHEAD`: a padding bucket of
clubchat.crypto.padding) is larger than the tier's `max_message_bytes`, a direct `sealed` envelope
whose padded plaintext (its ciphertext less the tag) is, and a file whose declared size is over
`max_file_bytes`, are refused with `over-tier-limit`; the recipient's tier's `mailbox_quota_bytes`
caps what a NOTIFY mailbox holds for it; `call_seconds` is the tier's call limit, which caps TURN
credential lifetimes
(`CredentialIssuer.max_ttl`).

Messages fan out to every connection in the room on this relay (each copy counts against the
relay's memory budget like a forwarded envelope) and are retained, up to `retention_messages` per
room and `retention_seconds`, in memory: a member who joins with `since` = the last seq it saw
gets what it missed on this relay. The retention is lost when the relay restarts.

Signed history (a relay with a `RelayLog`, clubchat.node.relay_history): every accepted post, message
or file chunk, is an entry in the chain of the room's id (`room_id(community, name)`); the post's
seq is its entry's seq (so it survives a restart), its `body` the keccak256 of the exact
`room-message` / `room-file-chunk` text every member gets. A post is retained and fanned out only
once its entry is durable (within the log's batch interval and one commit): the seq in a post's text
is then one no restart gives to another post, even after SIGKILL. The sender's `room-sent` carries
the entry (and the post's `time`: the sender rebuilds the members' text from its own post to check
`body`); the members get `room-logged` right after the posts, and `room-entries` after the retained
posts a join replays. `room-history` gives a member the entries of a range (one
signature); a non-member is refused as a `room-join` would be, unless it presents a member's grant for
the room (clubchat.protocol.history_grant: the granter must be a member now, as for a `room-join`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_utils import event_abi_to_log_topic, to_checksum_address

from clubchat.chain.logs import log_chunks
from clubchat.communities.cache import MembershipCache, TierCache, TierLimits
from clubchat.crypto.ratchet import SEALED_OVERHEAD as DIRECT_SEALED_OVERHEAD
from clubchat.crypto.senderkeys import SEALED_OVERHEAD
from clubchat.node.relay_history import bad_range
from clubchat.protocol import messages as m

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer
    from clubchat.node.relay_conn import Conn

log = logging.getLogger("clubchat.rooms")

ADMIN = 1  # Communities' role bit for admins (clubchat.communities.client.ADMIN)
RoomKey = tuple[int, str]  # (community id, room name)


@dataclass(frozen=True)
class RoomsConfig:
    """Operator settings of a relay's rooms."""

    retention_messages: int = 256  # per room, for members who come back (at most MAX_ROOM_HISTORY)
    retention_seconds: int = 86_400
    stale_after: float = 30.0  # seconds without a successful poll before the cache counts as stale
    max_rooms_per_connection: int = 32
    max_connections_per_room: int = 10_000
    max_open_files: int = 4_096  # file transfers whose received bytes are tracked (oldest dropped)

    def __post_init__(self) -> None:
        if not 0 <= self.retention_messages <= m.MAX_ROOM_HISTORY:
            raise ValueError(f"retention_messages must be 0..{m.MAX_ROOM_HISTORY}")


@dataclass
class CacheView:
    """The caches a relay admits from, and how fresh they are.

    `synced_at` is the wall-clock time of the last successful sync; `chain_offset` the chain's
    clock minus the wall clock then (chain time may run ahead, e.g. on a test chain). `on_change`
    is called with the (community, account) pairs whose membership events were applied, and
    `on_poll` after every poll, successful or not.
    """

    membership: MembershipCache = field(default_factory=MembershipCache)
    tiers: TierCache = field(default_factory=TierCache)
    stale_after: float = 30.0
    clock: Callable[[], float] = time.time
    synced_at: float = -math.inf
    chain_offset: float = 0.0
    on_change: Callable[[set[tuple[int, str]]], object] | None = None
    on_poll: Callable[[], None] | None = None

    def now(self) -> int:
        """The chain's time now, as the contracts' views would see it."""
        return int(self.clock() + self.chain_offset)

    def stale(self) -> bool:
        return self.clock() - self.synced_at > self.stale_after

    def mark_synced(self, chain_time: int | None = None) -> None:
        self.synced_at = self.clock()
        if chain_time is not None:
            self.chain_offset = max(0.0, chain_time - self.synced_at)


class ChainFeed(CacheView):
    """Communities' and Premium's events from `eth_getLogs`, `depth` blocks behind the head."""

    def __init__(
        self,
        w3: Any,
        communities: Any,
        premium: Any,
        from_block: int,
        depth: int = 2,
        poll: float = 1.0,
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(stale_after=stale_after, clock=clock)
        self.w3, self.depth, self.poll = w3, depth, poll
        self.synced_block = from_block - 1
        self.events = 0
        self.last_error: str | None = None
        self._addresses = [communities.address, premium.address]
        # (contract address, topic0) -> (event, cache): both contracts log some events of one signature
        self._by_topic: dict[tuple[str, bytes], tuple[Any, MembershipCache | TierCache]] = {}
        for contract, cache in ((communities, self.membership), (premium, self.tiers)):
            for abi in contract.abi:
                if abi.get("type") == "event":
                    event = getattr(contract.events, abi["name"])()
                    self._by_topic[(to_checksum_address(contract.address), event_abi_to_log_topic(abi))] = (
                        event,
                        cache,
                    )

    def status(self) -> dict[str, Any]:
        return {
            "synced_block": self.synced_block,
            "depth": self.depth,
            "events": self.events,
            "stale": self.stale(),
            "communities": len(self.membership.communities),
            "last_error": self.last_error,
        }

    def sync_once(self) -> set[tuple[int, str]]:
        """Apply the events of confirmed blocks not yet seen; returns the membership pairs touched."""
        head = self.w3.eth.get_block("latest")
        target = int(head["number"]) - self.depth
        touched: set[tuple[int, str]] = set()
        for end, logs in log_chunks(self.w3, self._addresses, self.synced_block, target):
            for raw in logs:  # bound: the chunk's logs
                found = self._by_topic.get((to_checksum_address(raw["address"]), bytes(raw["topics"][0])))
                if found is None:
                    continue
                event, cache = found
                decoded = event.process_log(raw)
                args = decoded["args"]
                cache.apply(decoded["event"], args)
                self.events += 1
                if cache is self.membership and "community_id" in args:
                    accounts = args["accounts"] if "accounts" in args else [args.get("account")]
                    touched.update((int(args["community_id"]), str(a).lower()) for a in accounts if a)
            self.synced_block = end
        self.mark_synced(int(head["timestamp"]))
        return touched

    async def run(self) -> None:
        """Follow the chain until cancelled; never raises on RPC failures (the cache goes stale)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                touched = await loop.run_in_executor(None, self.sync_once)
                self.last_error = None
                if touched and self.on_change is not None:
                    self.on_change(touched)
            except Exception as exc:  # any RPC failure: keep the cache; stale_after decides
                if self.last_error is None:
                    log.warning("rooms: RPC unreachable, membership cache at block %d", self.synced_block)
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            if self.on_poll is not None:
                self.on_poll()
            await asyncio.sleep(self.poll)


def is_broadcast(room: str) -> bool:
    return room.startswith(m.BROADCAST_PREFIX)


def _decoded_size(b64: str) -> int:
    return len(b64) * 3 // 4 - b64[-2:].count("=") if b64 else 0


def _padded_size(ct: str, overhead: int) -> int:
    """A sealed payload's padded plaintext: its decoded ciphertext less what sealing added."""
    return max(0, _decoded_size(ct) - overhead)


class Rooms:
    """A relay's community rooms: subscriptions, admission, tier limits, fan-out and retention."""

    def __init__(self, relay: RelayServer, view: CacheView, config: RoomsConfig | None = None) -> None:
        self.relay = relay
        self.view = view
        self.config = config or RoomsConfig()
        self.subs: dict[RoomKey, set[Conn]] = {}
        self.joined: dict[Conn, set[RoomKey]] = {}
        self.seq: dict[RoomKey, int] = {}  # latest seq per room, without a signed history
        self.ids: dict[RoomKey, bytes] = {}  # room ids (the signed history's `room`), a bounded cache
        self.retained: dict[RoomKey, deque[tuple[int, int, str]]] = {}  # (seq, time, frame text)
        self.files: OrderedDict[tuple[str, str], int] = OrderedDict()  # (sender, fileId) -> bytes so far
        self.evictions: list[tuple[float, RoomKey, str, str]] = []  # (time, room, address, code): last 1,024
        view.on_change = self.recheck
        view.on_poll = self.sweep
        relay.rooms = self

    # -- admission -------------------------------------------------------------------------------

    def refusal(self, community: int, address: str, post_broadcast: bool = False) -> tuple[str, str] | None:
        """Why `address` may not be in (or post to, for a broadcast room) `community`'s rooms now."""
        c = self.view.membership.communities.get(community)
        if c is None:
            return "not-member", f"community {community} is not known to this relay (yet)"
        if self.view.stale() and not c.fail_open:
            return "membership-unavailable", (
                f"this relay cannot confirm memberships now and community {community} fails closed"
            )
        if address in c.banned:
            return "banned", f"community {community} banned {to_checksum_address(address)}"
        if not self.view.membership.is_member(community, address, self.view.now()):
            return "not-member", (
                f"{to_checksum_address(address)} is not a member of community {community} (or it expired)"
            )
        if post_broadcast and c.owner != address and not c.roles.get(address, 0) & ADMIN:
            return "admins-only", "only the community's owner and admins post in a broadcast room"
        return None

    def limits_of(self, address: str) -> TierLimits | None:
        """The sender's tier limits, or None while the relay knows no tiers (no Premium events yet)."""
        tiers = self.view.tiers
        if 0 not in tiers.tiers:
            return None
        return tiers.limits_of(address, self.view.now())

    def over_envelope_limit(self, address: str, env: dict[str, Any]) -> str | None:
        """Why a direct envelope from `address` is over its tier's message size (a `sealed` text
        whose padded plaintext, its ciphertext less the tag, exceeds `max_message_bytes`), or None
        (within it, live signaling, or no tiers known)."""
        payload = env["payload"]
        if payload["type"] != "sealed":
            return None
        limits = self.limits_of(address)
        if limits is None:
            return None
        return self._message_over(address, _padded_size(payload["ct"], DIRECT_SEALED_OVERHEAD), limits)

    def _message_over(self, address: str, size: int, limits: TierLimits) -> str | None:
        """Why a message whose padded plaintext is `size` bytes is over `address`'s tier, or None."""
        if size <= limits.max_message_bytes:
            return None
        tier = self.view.tiers.tier_of(address, self.view.now())
        return (
            f"tier {tier} messages are limited to {limits.max_message_bytes} bytes of padded "
            f"plaintext, this one has {size}; a premium tier allows more"
        )

    def call_seconds(self, address: str) -> int | None:
        """The longest call of `address`'s tier (caps its TURN credentials); None: no tier known."""
        limits = self.limits_of(address)
        return None if limits is None else limits.max_call_seconds

    # -- frames ----------------------------------------------------------------------------------

    def handle(self, conn: Conn, frame: Any, now: float, size: int) -> None:
        """One room frame of a signed-in connection (`size`: its UTF-8 bytes)."""
        if isinstance(frame, m.RoomJoin):
            self._join(conn, frame)
        elif isinstance(frame, m.RoomLeave):
            key = (frame.community, frame.room)
            if self._unsubscribe(conn, key):
                self._left(conn, key, "left", "left the room")
            else:
                self.relay._error(conn, "not-joined")
        elif isinstance(frame, m.RoomSend):
            self._post(conn, frame, now, size, None)
        elif isinstance(frame, m.RoomFile):
            self._post(conn, frame, now, size, frame.file)
        elif isinstance(frame, m.RoomHistory):
            self._history(conn, frame)

    def room_id(self, key: RoomKey) -> bytes:
        """The room's id (cached: a keccak of its ABI encoding per post would be waste)."""
        rid = self.ids.get(key)
        if rid is None:
            if len(self.ids) >= 4_096:  # bound: a cache, not a record
                self.ids.clear()
            rid = self.ids[key] = m.room_id(*key)
        return rid

    def latest(self, key: RoomKey) -> int:
        """The room's latest seq on this relay (its signed history's head when it keeps one)."""
        history = self.relay.history
        if history is None:
            return self.seq.get(key, 0)
        return history.next_seq(self.room_id(key)) - 1

    def _history(self, conn: Conn, frame: m.RoomHistory) -> None:
        """`room-history`: a member gets the room's entries in the range, and so does whoever presents
        a member's grant for the room (`SignedHistory.granted_room_entries`); anyone else an error."""
        assert conn.address is not None
        relay = self.relay
        history = relay.history
        if history is None:
            relay._error(conn, "not-offered", "this relay keeps no signed history")
            return
        key = (frame.community, frame.room)
        if frame.grant is not None:  # a member's grant in place of membership
            wrong = bad_range(frame.start, frame.end)  # before any signature work
            if wrong is not None:
                relay._error(conn, "bad-range", wrong)
                return
            relay._spawn(history.granted_room_entries(conn, key, self.room_id(key), frame, self.refusal))
            return
        refused = self.refusal(frame.community, conn.address)
        if refused is not None:
            relay._error(conn, refused[0], f"room history is for members only: {refused[1]}")
            return
        wrong = bad_range(frame.start, frame.end)
        if wrong is not None:
            relay._error(conn, "bad-range", wrong)
            return
        relay._spawn(history.room_entries(conn, key, self.room_id(key), frame.start, frame.end))

    def _join(self, conn: Conn, frame: m.RoomJoin) -> None:
        assert conn.address is not None
        key = (frame.community, frame.room)
        refused = self.refusal(frame.community, conn.address)
        if refused is not None:
            self.relay._error(conn, *refused)
            return
        mine = self.joined.get(conn, set())
        members = self.subs.get(key, set())
        if key not in mine:
            if len(mine) >= self.config.max_rooms_per_connection:
                self.relay._error(
                    conn, "too-many-rooms", f"{self.config.max_rooms_per_connection} rooms per connection"
                )
                return
            if len(members) >= self.config.max_connections_per_room:
                self.relay._error(conn, "too-many-rooms", "this room is full on this relay; try another")
                return
            self.joined[conn] = mine
            self.subs[key] = members
            mine.add(key)
            members.add(conn)
            self.relay.stats["room-joined"] += 1
        joined = m.RoomJoined(
            community=frame.community, room=frame.room, seq=self.latest(key), online=len(members)
        )
        self.relay._push(conn, m.encode(joined))
        oldest = int(self.relay.clock()) - self.config.retention_seconds
        replayed = []
        for seq, at, text in self.retained.get(key, ()):  # bound: retention_messages
            if seq > frame.since and at >= oldest and self.relay._push(conn, text, budgeted=True):
                replayed.append(seq)
        history = self.relay.history
        if history is not None and replayed:  # their entries follow (MAX_ROOM_HISTORY == MAX_HISTORY)
            start, end = replayed[0], replayed[-1]
            self.relay._spawn(history.room_entries(conn, key, self.room_id(key), start, end))

    def _post(self, conn: Conn, frame: m.RoomSend | m.RoomFile, now: float, size: int, chunk: Any) -> None:
        address = conn.address
        assert address is not None
        relay = self.relay
        key = (frame.community, frame.room)
        if isinstance(frame, m.RoomSend) and not isinstance(frame.payload, m.RoomSealed):
            # Rooms are end-to-end encrypted: a plaintext post (a faulty or foreign client) would be
            # fanned out and retained readable here, so it is refused before anything else.
            relay._error(conn, "not-sealed", id=frame.id)
            return
        refused = self.refusal(frame.community, address, post_broadcast=is_broadcast(frame.room))
        if refused is not None:
            relay._error(conn, *refused, id=frame.id)
            return
        limits = self.limits_of(address)
        if limits is not None:
            if isinstance(frame, m.RoomSend):  # sealed (checked above): its padded plaintext counts
                assert isinstance(frame.payload, m.RoomSealed)
                size = _padded_size(frame.payload.ct, SEALED_OVERHEAD)
            over = self._over_limit(address, size, chunk, limits)
            if over is not None:
                relay._error(conn, "over-tier-limit", over, id=frame.id)
                return
        if relay.replay.seen(address, frame.id, now):
            relay._error(conn, "replayed", id=frame.id)
            return
        if relay.history is not None and relay.history.log.backlogged:  # its log cannot commit
            relay._error(conn, "history-unavailable", id=frame.id)
            return
        relay.replay.remember(address, frame.id, now)
        if chunk is not None:
            self._count_chunk(address, chunk)
        history = relay.history
        if history is None:
            seq = self.seq[key] = self.seq.get(key, 0) + 1
        else:  # the post's seq is its entry's: the room's chain on this relay
            seq = history.next_seq(self.room_id(key))
        at = int(now)
        sender = conn.checksum_address
        out: m.RoomMessage | m.RoomFileMessage
        if isinstance(frame, m.RoomSend):
            out = m.RoomMessage(frame.community, frame.room, seq, frame.id, sender, at, payload=frame.payload)
        else:
            out = m.RoomFileMessage(frame.community, frame.room, seq, frame.id, sender, at, file=frame.file)
        text = m.encode(out)
        if history is not None:  # retained, fanned out and acknowledged once the entry is durable
            history.append_room(conn, key, self.room_id(key), seq, frame.id, at, text)
        else:
            reached = self.deliver(conn, key, seq, at, text)
            relay._push(conn, m.encode(m.RoomSent(id=frame.id, seq=seq, delivered=len(reached))))
        relay._pace(conn, now)

    def deliver(self, conn: Conn, key: RoomKey, seq: int, at: int, text: str) -> list[Conn]:
        """Retain post `seq` (its `text`) and queue it to the room's other connections here; returns
        those it reached."""
        if self.config.retention_messages:
            kept = self.retained.setdefault(key, deque(maxlen=self.config.retention_messages))
            kept.append((seq, at, text))
        reached = self._fan_out(conn, key, seq, text)
        self.relay.stats["room-messages"] += 1
        self.relay.stats["room-deliveries"] += len(reached)
        return reached

    def _fan_out(self, conn: Conn, key: RoomKey, seq: int, text: str) -> list[Conn]:
        """Queue post `seq`'s `text` to the room's other connections here; returns those it reached."""
        reached = []
        for target in tuple(self.subs.get(key, ())):  # bound: max_connections_per_room
            if target is not conn and self.relay._push(target, text, budgeted=True):
                reached.append(target)
        return reached

    def _over_limit(self, address: str, size: int, chunk: Any, limits: TierLimits) -> str | None:
        if chunk is None:
            return self._message_over(address, size, limits)
        if chunk.size > limits.max_file_bytes:
            tier = self.view.tiers.tier_of(address, self.view.now())
            return (
                f"tier {tier} files are limited to {limits.max_file_bytes} bytes, "
                f"this one has {chunk.size}; a premium tier allows more"
            )
        so_far = self.files.get((address, chunk.file_id), 0)
        if so_far + _decoded_size(chunk.data) > chunk.size:
            return f"file {chunk.file_id} sent more bytes than its declared size {chunk.size}"
        try:
            base64.b64decode(chunk.data, validate=True)
        except (binascii.Error, ValueError):
            return f"file {chunk.file_id} chunk {chunk.index} is not valid base64"
        return None

    def _count_chunk(self, address: str, chunk: Any) -> None:
        k = (address, chunk.file_id)
        total = self.files.pop(k, 0) + _decoded_size(chunk.data)
        if total < chunk.size:
            self.files[k] = total
            while len(self.files) > self.config.max_open_files:  # bound: drop the oldest transfers
                self.files.popitem(last=False)

    # -- subscriptions ---------------------------------------------------------------------------

    def _unsubscribe(self, conn: Conn, key: RoomKey) -> bool:
        mine = self.joined.get(conn)
        if mine is None or key not in mine:
            return False
        mine.discard(key)
        if not mine:
            del self.joined[conn]
        members = self.subs.get(key)
        if members is not None:
            members.discard(conn)
            if not members:
                del self.subs[key]
        return True

    def _left(self, conn: Conn, key: RoomKey, code: str, reason: str) -> None:
        left = m.RoomLeft(community=key[0], room=key[1], code=code, reason=reason[: m.MAX_REASON_CHARS])
        self.relay._push(conn, m.encode(left))

    def forget(self, conn: Conn) -> None:
        """The connection is gone: drop its subscriptions."""
        for key in tuple(self.joined.get(conn, ())):  # bound: max_rooms_per_connection
            self._unsubscribe(conn, key)

    def recheck(self, touched: Iterable[tuple[int, str]] | None = None) -> int:
        """Evict subscriptions that are no longer admitted: those of the (community, account) pairs
        in `touched` (membership events just applied), or all of them. Returns how many."""
        wanted = None if touched is None else set(touched)
        evicted = 0
        for conn, keys in tuple(self.joined.items()):  # bound: connections with subscriptions
            address = conn.address
            if address is None:
                continue
            for key in tuple(keys):  # bound: max_rooms_per_connection
                if wanted is not None and (key[0], address) not in wanted:
                    continue
                refused = self.refusal(key[0], address)
                if refused is None:
                    continue
                self._unsubscribe(conn, key)
                self._left(conn, key, *refused)
                self.relay.stats[f"room-evicted:{refused[0]}"] += 1
                self.evictions.append((self.relay.clock(), key, address, refused[0]))
                del self.evictions[:-1_024]
                evicted += 1
        return evicted

    def sweep(self) -> None:
        """After every poll: expiries and a stale cache (fail-closed communities) evict too."""
        self.recheck(None)

    def status(self) -> dict[str, Any]:
        return {
            "rooms": len(self.subs),
            "subscriptions": sum(len(v) for v in self.subs.values()),
            "retained": sum(len(v) for v in self.retained.values()),
            "stale": self.view.stale(),
        }


def open_feed(w3: Any, manifest: Any, depth: int, poll: float = 1.0) -> ChainFeed | None:
    """The deployment's Communities + Premium feed, or None when the manifest has no Communities."""
    if "Communities" not in manifest.contracts or "Premium" not in manifest.contracts:
        return None
    communities, premium = manifest.contract(w3, "Communities"), manifest.contract(w3, "Premium")
    return ChainFeed(w3, communities, premium, manifest.block, depth=depth, poll=poll)


def enable_rooms(relay: RelayServer, feed: CacheView, config: RoomsConfig | None = None) -> Rooms:
    """Rooms on `relay`, admitted from `feed`; a TURN node's credentials then live no longer than the
    caller's call limit (the issuer's `max_ttl`)."""
    rooms = Rooms(relay, feed, config)
    issuer = relay.turn_credentials
    if issuer is not None and hasattr(issuer, "max_ttl"):
        issuer.max_ttl = rooms.call_seconds
    return rooms
