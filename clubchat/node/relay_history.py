"""The relay's frames about its signed history (clubchat.node.relay_log): giving an accepted
envelope its log entry, telling sender and recipients once the entry is durable (`sent` with the
entry, `logged` records), and answering `history`. Entries are written as compact JSON text by
hand: these frames follow every forwarded envelope, so they stay off `json.dumps`.

Community room posts (clubchat.node.rooms) get their entries here too, in the chain of the room's
id: once durable the sender gets `room-sent` with its entry, each member connection the post
reached one `room-logged` frame per room and batch; `room-entries` answers `room-history` and
follows the retained posts a `room-join` replays.

A member's history grant (clubchat.protocol.history_grant) opens one room to whoever it names (a
flag's reviewers): `history` with a grant for a direct room (`granted_history`), `room-history` with
a grant for a community room (`granted_room_entries`); both check the grant in `grant_refused`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clubchat.node.relay_conn import Conn
from clubchat.node.relay_log import Accepted, RelayLog
from clubchat.protocol import messages as m
from clubchat.protocol.history_grant import Grant, HistoryGrant, eoa_signer, grant_domain
from clubchat.protocol.log_entry import LogEntry, direct_room

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer

RoomKey = tuple[int, str]  # (community id, room name), as clubchat.node.rooms keys rooms


def _sig_json(sig: bytes | None) -> str:
    return ',"sig":"0x' + sig.hex() + '"' if sig is not None else ""


def _record(id: str, sender: str, entry_json: str, sig_json: str) -> str:
    """A `logged` record's text (ids and addresses were validated: nothing to escape)."""
    return f'{{"id":"{id}","from":"{sender}","entry":{entry_json}{sig_json}}}'


def bad_range(start: int, end: int) -> str | None:
    """Why a history request for start..end is not answered, or None."""
    if end < start or end - start >= m.MAX_HISTORY:
        return f"ask for 1 to {m.MAX_HISTORY} entries, from <= to"
    return None


class RoomNotice:
    """A room post waiting for its entry to be durable (the `notify` of its `Accepted`): the
    sender's connection, the room, the post's time and the text the members get then."""

    __slots__ = ("conn", "key", "text", "time")

    def __init__(self, conn: Conn, key: RoomKey, time: int, text: str) -> None:
        self.conn, self.key, self.time, self.text = conn, key, time, text


class SignedHistory:
    """One relay's log-entry frames; `log.on_committed` is `logged`."""

    def __init__(self, relay: RelayServer, log: RelayLog) -> None:
        self.relay = relay
        self.log = log
        self._node_json = '"' + log.signer.operator + '"'  # EIP-55, computed once
        log.on_committed = self.logged

    def append(self, conn: Conn, env: dict[str, Any], raw: str, status: str, reached: list[Conn]) -> None:
        """Give an accepted envelope its log entry; `logged` tells sender and recipients once durable."""
        assert conn.address is not None
        to = env["to"].lower()
        room = conn.rooms.get(to)
        if room is None:
            if len(conn.rooms) >= 1_024:  # bound: a cache, not a record
                conn.rooms.clear()
            room = conn.rooms[to] = direct_room(conn.address, to)
        self.log.append(room, raw, conn.address, env["id"], (conn, status, reached), status == "stored")

    def entry_json(self, e: LogEntry | Accepted) -> str:
        """`LogEntry.to_json()` as compact JSON text, without re-checksumming the node per entry (an
        `Accepted` has the entry's fields: no `LogEntry` is built on the forwarding path)."""
        return (
            f'{{"node":{self._node_json},"room":"0x{e.room.hex()}","seq":{e.seq},'
            f'"prev":"0x{e.prev.hex()}","body":"0x{e.body.hex()}","time":{e.time}}}'
        )

    def record(self, id: str, sender: str, entry: LogEntry, sig: bytes | None) -> str:
        """One `logged` record: which envelope (`id`, `from`) the signed entry covers."""
        return _record(id, sender, self.entry_json(entry), _sig_json(sig))

    def append_room(
        self,
        conn: Conn,
        key: RoomKey,
        room: bytes,
        seq: int,
        id: str,
        time: int,
        text: str,
    ) -> None:
        """Give an accepted room post its log entry: `seq` is the one `next_seq` gave it (read and
        appended in one turn of the event loop), `text` what the members get once it is durable."""
        assert conn.address is not None
        accepted = self.log.append(room, text, conn.address, id, RoomNotice(conn, key, time, text))
        assert accepted.seq == seq, "a room post's seq is its entry's"

    def next_seq(self, room: bytes) -> int:
        """The seq the room's next entry gets."""
        return self.log.head(room)[0] + 1

    def logged(self, batch: list[Accepted]) -> None:
        """A batch of entries is durable: each sender gets its `sent` with the entry, each recipient
        connection one `logged` frame with the entries of what it received (in seq order); room
        posts are told by `_room_logged`."""
        push = self.relay._push
        received: dict[Conn, list[str]] = {}
        posts: list[Accepted] = []
        for a in batch:  # bound: the batch
            if a.notify.__class__ is RoomNotice:
                posts.append(a)
                continue
            conn, status, reached = a.notify
            entry_json = self.entry_json(a)
            sig_json = _sig_json(a.sig)
            push(conn, f'{{"type":"sent","id":"{a.id}","status":"{status}","entry":{entry_json}{sig_json}}}')
            if not reached:
                continue
            if a.shadow is not None:  # fork_for_tests: the recipients see the other chain
                record = self.record(a.id, a.sender, a.shadow, a.shadow_sig)
            else:
                record = _record(a.id, a.sender, entry_json, sig_json)
            for target in reached:  # bound: max_fanout
                received.setdefault(target, []).append(record)
        for target, records in received.items():  # bound: connections reached by the batch
            for i in range(0, len(records), m.MAX_LOGGED):
                push(target, '{"type":"logged","records":[' + ",".join(records[i : i + m.MAX_LOGGED]) + "]}")
        if posts:
            self._room_logged(posts)

    def _room_logged(self, batch: list[Accepted]) -> None:
        """Room posts' entries are durable: each post is retained and fanned out now (`Rooms.deliver`),
        each sender gets `room-sent` with its entry, each member connection a post reached one
        `room-logged` frame per room right after the posts (in seq order)."""
        push = self.relay._push
        rooms = self.relay.rooms
        assert rooms is not None
        received: dict[tuple[Conn, RoomKey], list[str]] = {}
        for a in batch:  # bound: the batch
            notice: RoomNotice = a.notify
            reached = rooms.deliver(notice.conn, notice.key, a.seq, notice.time, notice.text)
            entry_json = self.entry_json(a)
            sig_json = _sig_json(a.sig)
            push(
                notice.conn,
                f'{{"type":"room-sent","id":"{a.id}","seq":{a.seq},"delivered":{len(reached)},'
                f'"time":{notice.time},"entry":{entry_json}{sig_json}}}',
            )
            if not reached:
                continue
            if a.shadow is not None:  # fork_for_tests: the members see the other chain
                record = '{"entry":' + self.entry_json(a.shadow) + _sig_json(a.shadow_sig) + "}"
            else:
                record = '{"entry":' + entry_json + sig_json + "}"
            for target in reached:  # bound: max_connections_per_room
                received.setdefault((target, notice.key), []).append(record)
        for (target, (community, room)), records in received.items():  # bound: (connection, room) pairs
            for i in range(0, len(records), m.MAX_LOGGED):  # names matched ROOM_NAME_PATTERN: no escaping
                push(
                    target,
                    f'{{"type":"room-logged","community":{community},"room":"{room}","records":['
                    + ",".join(records[i : i + m.MAX_LOGGED])
                    + "]}",
                )

    async def _signed_records(self, room: bytes, start: int, end: int) -> str:
        """The durable entries start..end of `room` as `records` JSON (the last one signed)."""
        rows = await self.log.history(room, start, end)
        return ",".join(
            '{"entry":' + self.entry_json(entry) + _sig_json(sig) + "}"
            for entry, sig in rows  # bound: MAX_HISTORY
        )

    async def room_entries(self, conn: Conn, key: RoomKey, room: bytes, start: int, end: int) -> None:
        """Send `room-entries`: the room's entries start..end (a checked range, see `bad_range`)."""
        records = await self._signed_records(room, start, end)
        self.relay.stats["room-history"] += 1
        self.relay._push(
            conn,
            f'{{"type":"room-entries","community":{key[0]},"room":"{key[1]}","from":{start},'
            f'"records":[{records}]}}',
        )

    async def history(self, conn: Conn, frame: m.History) -> None:
        """Answer `history`: the entries of the direct room with `peer` in the range (one signature)."""
        assert conn.address is not None
        relay = self.relay
        wrong = bad_range(frame.start, frame.end)
        if wrong is not None:
            relay._error(conn, "bad-range", wrong)
            return
        await self._entries(conn, direct_room(conn.address, frame.peer), frame, "history")

    async def _entries(self, conn: Conn, room: bytes, frame: m.History, stat: str) -> None:
        """Send `entries`: the durable entries `frame.start`..`frame.end` (a checked range) of
        `room`, the direct room `frame` asked for (`peer` matched ADDRESS_PATTERN: no escaping)."""
        records = await self._signed_records(room, frame.start, frame.end)
        self.relay.stats[stat] += 1
        self.relay._push(
            conn, f'{{"type":"entries","peer":"{frame.peer}","from":{frame.start},"records":[{records}]}}'
        )

    async def grant_refused(
        self, conn: Conn, wire: Grant, not_member: Callable[[HistoryGrant], tuple[str, str] | None]
    ) -> tuple[str, str] | None:
        """Why `wire` does not open its room to `conn` as (error code, reason), or None when it does:
        this relay's operator, not expired, for `conn` (or anyone), a granter `not_member` finds
        no fault with (a member of the room the request names), and signed by that granter (EOA
        recovery, else EIP-1271 through the relay's verifier, as sign-in does)."""
        assert conn.address is not None
        relay, grant = self.relay, wire.grant
        operator = self.log.signer.operator
        if grant.node != operator:
            return "bad-grant", f"the grant is for the relay of {grant.node}, not this one ({operator})"
        if grant.expiry <= relay.clock():
            return "bad-grant", f"the grant expired at {grant.expiry} (unix seconds)"
        if not grant.for_anyone() and grant.grantee.lower() != conn.address.lower():
            return "bad-grant", f"the grant is for {grant.grantee}, not {conn.checksum_address}"
        refused = not_member(grant)
        if refused is not None:
            return refused
        domain = grant_domain(self.log.signer.domain.chain_id, self.log.signer.domain.verifying_contract)
        if eoa_signer(grant, domain, wire.signature) != grant.granter and not (
            relay.verifier is not None
            and await relay.verifier.is_valid_signature(grant.granter, grant.digest(domain), wire.signature)
        ):
            return "bad-grant", f"the grant is not signed by its granter {grant.granter}"
        return None

    async def granted_history(self, conn: Conn, frame: m.History) -> None:
        """Answer `history` with a member's grant (clubchat.protocol.history_grant) in place of
        membership: the room of the grant's granter and `peer`, for the grantee (or anyone, for a
        grant to the zero address) until its expiry; `bad-grant` with the reason otherwise."""
        assert conn.address is not None and frame.grant is not None
        relay, peer = self.relay, frame.peer
        wrong = bad_range(frame.start, frame.end)  # before any signature work
        if wrong is not None:
            relay._error(conn, "bad-range", wrong)
            return

        def not_member(grant: HistoryGrant) -> tuple[str, str] | None:
            if direct_room(grant.granter, peer) != grant.room:
                return "bad-grant", f"{grant.granter} is not a member of the granted room (with {peer})"
            return None

        refused = await self.grant_refused(conn, frame.grant, not_member)
        if refused is not None:
            relay._error(conn, *refused)
            return
        await self._entries(conn, frame.grant.grant.room, frame, "history:granted")

    async def granted_room_entries(
        self,
        conn: Conn,
        key: RoomKey,
        room: bytes,
        frame: m.RoomHistory,
        refusal: Callable[[int, str], tuple[str, str] | None],
    ) -> None:
        """Answer `room-history` with a member's grant in place of membership: `room-entries` of the
        community room `key` (id `room`, a checked range) when the grant is for that room and its
        granter is a member of the community now (`refusal(community, granter)` is None, as for a
        `room-join`); `bad-grant` with the reason otherwise (`membership-unavailable` while a
        fail-closed community's members cannot be confirmed: the relay's state, not the grant's)."""
        assert frame.grant is not None

        def not_member(grant: HistoryGrant) -> tuple[str, str] | None:
            if grant.room != room:
                return "bad-grant", (
                    f"the grant is for room 0x{grant.room.hex()}, not community {key[0]}'s room {key[1]}"
                )
            refused = refusal(key[0], grant.granter.lower())
            if refused is None:
                return None
            code = refused[0] if refused[0] == "membership-unavailable" else "bad-grant"
            return code, f"the granter is not a member of the room now: {refused[1]}"

        refused = await self.grant_refused(conn, frame.grant, not_member)
        if refused is not None:
            self.relay._error(conn, *refused)
            return
        self.relay.stats["room-history:granted"] += 1
        await self.room_entries(conn, key, room, frame.start, frame.end)
