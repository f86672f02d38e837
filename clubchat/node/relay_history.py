"""The relay's frames about its signed history (clubchat.node.relay_log): giving an accepted
envelope its log entry, telling sender and recipients once the entry is durable (`sent` with the
entry, `logged` records), and answering `history`. Entries are written as compact JSON text by
hand: these frames follow every forwarded envelope, so they stay off `json.dumps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clubchat.node.relay_conn import Conn
from clubchat.node.relay_log import Accepted, RelayLog
from clubchat.protocol import messages as m
from clubchat.protocol.history_grant import eoa_signer, grant_domain
from clubchat.protocol.log_entry import LogEntry, direct_room

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer


def _sig_json(sig: bytes | None) -> str:
    return ',"sig":"0x' + sig.hex() + '"' if sig is not None else ""


def _record(id: str, sender: str, entry_json: str, sig_json: str) -> str:
    """A `logged` record's text (ids and addresses were validated: nothing to escape)."""
    return f'{{"id":"{id}","from":"{sender}","entry":{entry_json}{sig_json}}}'


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

    def logged(self, batch: list[Accepted]) -> None:
        """A batch of entries is durable: each sender gets its `sent` with the entry, each recipient
        connection one `logged` frame with the entries of what it received (in seq order)."""
        push = self.relay._push
        received: dict[Conn, list[str]] = {}
        for a in batch:  # bound: the batch
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

    async def history(self, conn: Conn, frame: m.History) -> None:
        """Answer `history`: the entries of the direct room with `peer` in the range (one signature)."""
        assert conn.address is not None
        relay = self.relay
        if frame.end < frame.start or frame.end - frame.start >= m.MAX_HISTORY:
            relay._error(conn, "bad-range", f"ask for 1 to {m.MAX_HISTORY} entries, from <= to")
            return
        room = direct_room(conn.address, frame.peer)
        rows = await self.log.history(room, frame.start, frame.end)
        records = [
            '{"entry":' + self.entry_json(entry) + _sig_json(sig) + "}"
            for entry, sig in rows  # bound: MAX_HISTORY
        ]
        relay.stats["history"] += 1
        relay._push(
            conn,
            '{"type":"entries","peer":"'
            + frame.peer
            + '","from":'
            + str(frame.start)
            + ',"records":['
            + ",".join(records)
            + "]}",
        )

    async def granted_history(self, conn: Conn, frame: m.History) -> None:
        """Answer `history` with a member's grant (clubchat.protocol.history_grant) in place of
        membership: the room of the grant's granter and `peer`, for the grantee (or anyone, for a
        grant to the zero address) until its expiry; `bad-grant` with the reason otherwise."""
        assert conn.address is not None and frame.grant is not None
        relay, wire = self.relay, frame.grant
        grant = wire.grant
        domain = grant_domain(self.log.signer.domain.chain_id, self.log.signer.domain.verifying_contract)
        if frame.end < frame.start or frame.end - frame.start >= m.MAX_HISTORY:  # before any signature work
            relay._error(conn, "bad-range", f"ask for 1 to {m.MAX_HISTORY} entries, from <= to")
            return
        if grant.node != self.log.signer.operator:
            why = f"the grant is for the relay of {grant.node}, not this one ({self.log.signer.operator})"
        elif grant.expiry <= relay.clock():
            why = f"the grant expired at {grant.expiry} (unix seconds)"
        elif not grant.for_anyone() and grant.grantee.lower() != conn.address.lower():
            why = f"the grant is for {grant.grantee}, not {conn.checksum_address}"
        elif direct_room(grant.granter, frame.peer) != grant.room:
            why = f"{grant.granter} is not a member of the granted room (with {frame.peer})"
        elif eoa_signer(grant, domain, wire.signature) != grant.granter and not (
            relay.verifier is not None
            and await relay.verifier.is_valid_signature(grant.granter, grant.digest(domain), wire.signature)
        ):
            why = f"the grant is not signed by its granter {grant.granter}"
        else:
            rows = await self.log.history(grant.room, frame.start, frame.end)
            relay.stats["history:granted"] += 1
            records = tuple(
                m.SignedRecord(m.LogRecord(**e.to_json()), None if sig is None else "0x" + sig.hex())
                for e, sig in rows  # bound: MAX_HISTORY
            )
            relay._push(conn, m.encode(m.Entries(peer=frame.peer, start=frame.start, records=records)))
            return
        relay._error(conn, "bad-grant", why)
