"""Community room posts in a relay's signed history (clubchat.node.rooms + relay_history): every
accepted `room-send` / `room-file` is an entry of the room id's chain whose seq is the post's and
whose body hashes the exact text the members got; the sender's `room-sent` waits for the durable
entry and carries it, the members get `room-logged`; `room-history` serves members only; a join's
replayed posts come with their entries; a relay killed with SIGKILL never gives a room seq anyone
saw to another post; a member's history grant opens `room-history` to a non-member (a flag's
reviewer) while its granter is a member, and a grant that does not hold is refused with the reason."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from clubchat.chain.eip712 import Signature
from clubchat.client.history import SignedEntry
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import RelayLog
from clubchat.node.rooms import Rooms
from clubchat.protocol import messages as m
from clubchat.protocol.history_grant import ANYONE, Grant, HistoryGrant
from clubchat.protocol.log_entry import ZERO32, LogEntry, direct_room, log_entry_signer
from tests.crypto.test_rooms_e2e import ALICE, BOB, CAROL, CID, DAVE, OWNER
from tests.crypto.test_rooms_e2e import _view as members_view
from tests.node.harness import LOG_NODE_KEY, LOG_OPERATOR, LOG_SIGNER, Raw, envelope, relay, run
from tests.node.process import REPO
from tests.node.test_history_grant import DOMAIN as GRANT_DOMAIN
from tests.node.test_history_grant import WALLET, WALLET_SIG, Wallets, _grant

MALLORY = Account.from_key("0x" + "75" * 32)  # not a member
ROOM = m.room_id(CID, m.DEFAULT_ROOM)


@asynccontextmanager
async def signed_rooms(
    path: Path, verifier: Any = None, **log: Any
) -> AsyncIterator[tuple[RelayServer, Rooms, RelayLog]]:
    """A relay with rooms over `members_view()` and a signed history in `path` (`verifier`: its
    EIP-1271 verifier)."""
    relay_log = RelayLog(path, LOG_SIGNER, **log)
    await relay_log.open()
    try:
        async with relay(RelayConfig(), log=relay_log, verifier=verifier) as server:
            yield server, Rooms(server, members_view()), relay_log
    finally:
        await relay_log.close()


async def member(uri: str, who: Any, join: bool = True) -> Raw:
    raw = await Raw.open(uri)
    await raw.sign_in(who)
    if join:
        await raw.send(m.encode(m.RoomJoin(CID, m.DEFAULT_ROOM)))
        assert (await raw.obj())["type"] == "room-joined"
    return raw


def sealed(body: str) -> m.RoomSealed:
    """A stand-in for a sealed room message (a relay never opens one)."""
    return m.RoomSealed(epoch=1, ct=base64.b64encode(body.encode()).decode())


def post(id: str, body: str) -> str:
    return m.encode(m.RoomSend(CID, m.DEFAULT_ROOM, id=id, payload=sealed(body)))


async def posted(raw: Raw, tag: str, n: int) -> list[LogEntry]:
    """`raw` posts `n` messages; the entries of their `room-sent`s."""
    for i in range(n):
        await raw.send(post(f"{tag}-{i:04d}", f"post {i}"))
    return [LogEntry.from_json(o["entry"]) for o, _ in await frames(raw, {"room-sent"}, n)]


async def frames(
    raw: Raw, kinds: set[str], n: int, timeout: float = 10.0
) -> list[tuple[dict[str, Any], str]]:
    """The next `n` frames of the given types (object and exact text), skipping others."""
    got: list[tuple[dict[str, Any], str]] = []
    async with asyncio.timeout(timeout):
        while len(got) < n:
            text = await raw.ws.recv()
            assert isinstance(text, str)
            obj = json.loads(text)
            if obj["type"] in kinds:
                got.append((obj, text))
    return got


async def ask_posts(uri: str, who: Any, n: int) -> SignedEntry:
    """`who`, a member, joins the room, posts `n` messages and leaves: the relay's signed entry of the
    last (the head it showed)."""
    raw = await member(uri, who)
    for i in range(n):
        await raw.send(post(f"head-{i:04d}", f"post {i}"))
    sent = [o for o, _ in await frames(raw, {"room-sent"}, n)]
    await raw.close()
    assert "sig" in sent[-1], "the last post of the batch is signed"
    return SignedEntry(LogEntry.from_json(sent[-1]["entry"]), bytes.fromhex(sent[-1]["sig"][2:]))


def signer(entry: LogEntry, sig_hex: str) -> str:
    raw = bytes.fromhex(sig_hex[2:])
    return log_entry_signer(LOG_SIGNER.domain, entry, Signature(raw[64], raw[:32], raw[32:64]))


def check_chain(entries: list[LogEntry], start_prev: bytes = ZERO32) -> None:
    prev = start_prev
    for e in entries:
        assert e.prev == prev, f"entry {e.seq} does not follow the one before"
        prev = e.struct_hash()


def test_room_posts_are_signed_entries_of_the_room_chain_within_a_second(tmp_path: Path) -> None:
    """Posts and a file chunk: each is an entry of the room id's chain (seq = the post's seq, body =
    keccak256 of the text every member got), durable and signed within a second; the sender's
    `room-sent` carries it; members get `room-logged`; a direct envelope in the same batch keeps its
    own chain and its `sent`."""

    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite") as (server, _rooms, log):
            alice, bob, carol = [await member(server.uri, who) for who in (ALICE, BOB, CAROL)]
            began = time.monotonic()
            for i in range(3):
                await alice.send(post(f"p-{i:04d}", f"post {i}"))
            chunk = m.RoomFileChunk(
                file_id="f" * 8 + "-0000-0000-0000-" + "0" * 12, index=0, size=3, data="YWJj"
            )
            await alice.send(m.encode(m.RoomFile(CID, m.DEFAULT_ROOM, id="file-0001", file=chunk)))
            await alice.send(envelope(ALICE.address, BOB.address, "direct-1"))
            sent = await frames(alice, {"room-sent", "sent"}, 5)
            room_sent = [o for o, _ in sent if o["type"] == "room-sent"]
            (direct,) = [o for o, _ in sent if o["type"] == "sent"]
            received = {}
            for who in (bob, carol):
                got = await frames(who, {"room-message", "room-file-chunk", "room-logged"}, 5)
                texts = {o["seq"]: t for o, t in got if o["type"] != "room-logged"}
                records = [r for o, _ in got if o["type"] == "room-logged" for r in o["records"]]
                assert sorted(texts) == [1, 2, 3, 4] and len(records) == 4
                for r in records:  # body: the exact text this member got
                    entry = LogEntry.from_json(r["entry"])
                    assert entry.body == keccak(text=texts[entry.seq])
                received[who] = (texts, records)
            covered = time.monotonic() - began
            assert covered < 1.0 and log.stats.max_cover < 1.0
            entries = [LogEntry.from_json(o["entry"]) for o in room_sent]
            assert [e.seq for e in entries] == [o["seq"] for o in room_sent] == [1, 2, 3, 4]
            assert all(e.room == ROOM and e.node == LOG_OPERATOR.address for e in entries)
            check_chain(entries)
            assert room_sent[-1].get("sig") is not None  # the last of the room's batch is signed
            for o, e in zip(room_sent, entries, strict=True):
                if "sig" in o:
                    assert signer(e, o["sig"]) == LOG_NODE_KEY.address
            texts, records = received[bob]
            assert [LogEntry.from_json(r["entry"]) for r in records] == entries  # one chain for everyone
            assert records[-1]["sig"] == room_sent[-1]["sig"]
            # The sender rebuilds the members' text from its own post and the relay's time.
            first = m.RoomMessage(
                CID, m.DEFAULT_ROOM, 1, "p-0000", ALICE.address, room_sent[0]["time"], sealed("post 0")
            )
            assert m.encode(first) == texts[1] and keccak(text=texts[1]) == entries[0].body
            assert room_sent[0]["delivered"] == 2
            # The direct envelope is in its own room's chain, acknowledged as before.
            d = LogEntry.from_json(direct["entry"])
            assert d.room == direct_room(ALICE.address, BOB.address) and d.seq == 1
            assert log.head(ROOM)[0] == 4
            for c in (alice, bob, carol):
                await c.close()

    run(scenario())


def test_room_posts_are_refused_while_the_log_cannot_commit(tmp_path: Path) -> None:
    """A failing disk: posts wait for their durable entries (nothing fanned out or acknowledged);
    once `max_pending` wait, a further post is refused with `history-unavailable`; when the disk
    recovers the waiting posts go out with seqs 1, 2 and the next post gets 3."""

    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite", max_pending=2) as (server, _rooms, log):
            alice = await member(server.uri, ALICE)
            commit = log._commit

            def failing(batch: list[Any]) -> None:
                time.sleep(0.2)  # an attempt in progress still counts against the backlog
                raise sqlite3.OperationalError("disk I/O error")

            log._commit = failing  # type: ignore[method-assign]
            await alice.send(post("w-0000", "post 0"))
            await alice.send(post("w-0001", "post 1"))
            await alice.send(post("w-0002", "post 2"))
            ((error, _),) = await frames(alice, {"error", "room-sent"}, 1)
            assert (error["type"], error["code"], error["id"]) == ("error", "history-unavailable", "w-0002")
            log._commit = commit  # type: ignore[method-assign]
            sent = [o for o, _ in await frames(alice, {"room-sent"}, 2)]
            assert [(o["id"], o["seq"]) for o in sent] == [("w-0000", 1), ("w-0001", 2)]
            assert [e.seq for e in await posted(alice, "x", 1)] == [3]
            await alice.close()

    run(scenario())


def test_room_history_serves_members_and_refuses_everyone_else(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite") as (server, rooms, _log):
            alice = await member(server.uri, ALICE)
            sent = await posted(alice, "h", 5)
            # a member who never joined the room here may still ask (membership is what counts)
            dave = await member(server.uri, DAVE, join=False)
            await dave.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=2, end=4)))
            ((answer, _),) = await frames(dave, {"room-entries"}, 1)
            assert (answer["community"], answer["room"], answer["from"]) == (CID, m.DEFAULT_ROOM, 2)
            got = [LogEntry.from_json(r["entry"]) for r in answer["records"]]
            assert got == sent[1:4]
            assert "sig" in answer["records"][-1]  # one signature covers the answer
            assert signer(got[-1], answer["records"][-1]["sig"]) == LOG_NODE_KEY.address
            # past the head: what there is
            await dave.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=5, end=9)))
            ((answer, _),) = await frames(dave, {"room-entries"}, 1)
            assert [r["entry"]["seq"] for r in answer["records"]] == [5]
            # a non-member is refused with the reason, and gets no entries
            mallory = await member(server.uri, MALLORY, join=False)
            await mallory.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=1, end=5)))
            refusal = await mallory.obj()
            assert refusal["type"] == "error" and refusal["code"] == "not-member"
            assert refusal["reason"].startswith("room history is for members only:")
            assert MALLORY.address in refusal["reason"]
            # a banned member too
            rooms.view.membership.apply(
                "Banned", {"community_id": CID, "account": BOB.address, "by": OWNER.address}
            )
            bob = await member(server.uri, BOB, join=False)
            await bob.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=1, end=1)))
            assert (await bob.obj())["code"] == "banned"
            # an unknown community, and a range too long
            await dave.send(m.encode(m.RoomHistory(CID + 1, m.DEFAULT_ROOM, start=1, end=1)))
            assert (await dave.obj())["code"] == "not-member"
            await dave.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=1, end=1 + m.MAX_HISTORY)))
            too_long = await dave.obj()
            assert too_long["code"] == "bad-range" and str(m.MAX_HISTORY) in too_long["reason"]
            assert server.stats["room-history"] == 2
            for c in (alice, dave, mallory, bob):
                await c.close()

    run(scenario())


def test_room_history_without_a_signed_history_is_not_offered() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig()) as server:
            Rooms(server, members_view())
            alice = await member(server.uri, ALICE)
            await alice.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=1, end=1)))
            refusal = await alice.obj()
            assert refusal["code"] == "not-offered" and "no signed history" in refusal["reason"]
            await alice.send(post("plain-001", "no log"))  # without a log: acknowledged at once
            (sent,) = await frames(alice, {"room-sent"}, 1)
            assert "entry" not in sent[0] and sent[0]["seq"] == 1
            await alice.close()

    run(scenario())


def test_a_join_replays_retained_posts_with_their_entries(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite") as (server, _rooms, _log):
            alice = await member(server.uri, ALICE)
            sent = await posted(alice, "r", 4)
            carol = await Raw.open(server.uri)
            await carol.sign_in(CAROL)
            await carol.send(m.encode(m.RoomJoin(CID, m.DEFAULT_ROOM, since=1)))
            got = await frames(carol, {"room-joined", "room-message", "room-entries"}, 5)
            assert got[0][0] == {**got[0][0], "type": "room-joined", "seq": 4}
            texts = {o["seq"]: t for o, t in got if o["type"] == "room-message"}
            ((entries, _),) = [(o, t) for o, t in got if o["type"] == "room-entries"]
            assert sorted(texts) == [2, 3, 4] and entries["from"] == 2
            replayed = [LogEntry.from_json(r["entry"]) for r in entries["records"]]
            assert replayed == sent[1:]
            assert all(e.body == keccak(text=texts[e.seq]) for e in replayed)
            assert "sig" in entries["records"][-1]
            for c in (alice, carol):
                await c.close()

    run(scenario())


_ROOM_RELAY = """
import asyncio, json, sys
from pathlib import Path
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import RelayLog
from clubchat.node.rooms import Rooms
from tests.node.harness import LOG_SIGNER
from tests.crypto.test_rooms_e2e import _view as members_view

async def main():
    log = RelayLog(Path(sys.argv[1]), LOG_SIGNER)  # batches every 50 ms: posts in flight at the kill
    await log.open()
    server = RelayServer(RelayConfig(), log=log)
    await server.start()
    Rooms(server, members_view())
    print(json.dumps({"uri": server.uri}), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


class RoomRelayProcess:
    """A relay with rooms and a signed history in its own process (killed with SIGKILL by tests)."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ROOM_RELAY, str(db)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.kill()
            raise RuntimeError("the room relay did not start")
        self.uri: str = json.loads(line)["uri"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.mark.integration
def test_a_room_relay_killed_with_sigkill_never_reuses_a_room_seq(tmp_path: Path) -> None:
    """kill -9 while Alice streams posts (many in flight, batches committing): every entry she got in
    a `room-sent` is in the restarted relay's room history unchanged, every post Bob got has the
    entry of its seq there (a post reaches members only once durable), and the room's seq continues
    after all of it (`room-joined`, the next post)."""
    db = tmp_path / "log.sqlite"
    confirmed: dict[int, LogEntry] = {}
    seen_by_bob: dict[int, str] = {}

    async def stream(relay_process: RoomRelayProcess) -> None:
        alice, bob = await member(relay_process.uri, ALICE), await member(relay_process.uri, BOB)

        async def send() -> None:
            for i in range(100_000):  # bound: the kill ends it
                await alice.send(post(f"s-{i:05d}", f"stream {i}"))
                if i % 10 == 9:
                    await asyncio.sleep(0.002)

        async def acks() -> None:
            while True:
                obj = json.loads(await alice.ws.recv())
                if obj["type"] == "room-sent":
                    e = LogEntry.from_json(obj["entry"])
                    assert e.seq == obj["seq"]
                    confirmed[e.seq] = e
                    if len(confirmed) == 200:  # posts in flight and batches committing
                        await asyncio.get_running_loop().run_in_executor(None, relay_process.kill)

        async def posts() -> None:
            while True:
                text = await bob.ws.recv()
                assert isinstance(text, str)
                obj = json.loads(text)
                if obj["type"] == "room-message":
                    seen_by_bob[obj["seq"]] = text

        tasks = [asyncio.create_task(c()) for c in (send, acks, posts)]
        await asyncio.wait(tasks, timeout=30, return_when=asyncio.ALL_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    first = RoomRelayProcess(db)
    try:
        run(stream(first))
    finally:
        first.kill()
    assert len(confirmed) >= 200 and len(seen_by_bob) >= 200
    again = RoomRelayProcess(db)

    async def after() -> tuple[list[LogEntry], dict[str, Any], LogEntry]:
        bob = await Raw.open(again.uri)
        await bob.sign_in(BOB)
        await bob.send(m.encode(m.RoomJoin(CID, m.DEFAULT_ROOM)))
        joined = await bob.obj()
        top = max([*confirmed, *seen_by_bob])
        records: list[dict[str, Any]] = []
        for start in range(1, top + 1, m.MAX_HISTORY):  # bound: top / MAX_HISTORY requests
            end = min(top, start + m.MAX_HISTORY - 1)
            await bob.send(m.encode(m.RoomHistory(CID, m.DEFAULT_ROOM, start=start, end=end)))
            ((answer, _),) = await frames(bob, {"room-entries"}, 1)
            records += answer["records"]
        alice = await member(again.uri, ALICE)
        await alice.send(post("after-restart", "after"))
        ((sent, _),) = await frames(alice, {"room-sent"}, 1)
        for c in (alice, bob):
            await c.close()
        return [LogEntry.from_json(r["entry"]) for r in records], joined, LogEntry.from_json(sent["entry"])

    try:
        history, joined, new = run(after())
    finally:
        again.kill()
    by_seq = {e.seq: e for e in history}
    check_chain(history)
    assert all(by_seq[s] == e for s, e in confirmed.items())  # every confirmed entry, unchanged
    assert all(keccak(text=t) == by_seq[s].body for s, t in seen_by_bob.items())  # no seq Bob saw reused
    assert joined["seq"] == max(by_seq) >= max([*confirmed, *seen_by_bob])  # the room's seq survived
    assert new.seq == joined["seq"] + 1 and new.prev == by_seq[joined["seq"]].struct_hash()


def room_grant(signer: Any = ALICE, **fields: Any) -> Grant:
    """A member's grant to read the community room (Alice's unless told; `fields` as `_grant`'s)."""
    return _grant(signer, **{"room": ROOM, **fields})


async def ask_granted(
    uri: str, grant: Grant, who: Any = MALLORY, end: int = 3, name: str = m.DEFAULT_ROOM
) -> Any:
    """`who` (no member unless told) asks for entries 1..`end` of room `name` with `grant`: the answer."""
    raw = await member(uri, who, join=False)
    await raw.send(m.encode(m.RoomHistory(CID, name, start=1, end=end, grant=grant)))
    ((answer, _),) = await frames(raw, {"room-entries", "error"}, 1)
    await raw.close()
    return answer


def test_a_members_grant_opens_room_history_to_a_non_member(tmp_path: Path) -> None:
    """Mallory, no member, gets the room's signed entries with Alice's grant, exactly what a member
    gets; a grant naming her serves her; the range bound still holds and is checked before the
    signature."""

    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite") as (server, _rooms, _log):
            alice = await member(server.uri, ALICE)
            sent = await posted(alice, "g", 3)
            answer = await ask_granted(server.uri, room_grant())
            assert answer["type"] == "room-entries", answer
            assert (answer["community"], answer["room"], answer["from"]) == (CID, m.DEFAULT_ROOM, 1)
            got = [LogEntry.from_json(r["entry"]) for r in answer["records"]]
            assert got == sent and got[0].room == ROOM
            assert signer(got[-1], answer["records"][-1]["sig"]) == LOG_NODE_KEY.address
            named = await ask_granted(server.uri, room_grant(BOB, grantee=MALLORY.address), end=2)
            assert [r["entry"]["seq"] for r in named["records"]] == [1, 2]
            too_long = await ask_granted(server.uri, room_grant(), end=1 + m.MAX_HISTORY)
            assert too_long["code"] == "bad-range"
            forged = await ask_granted(
                server.uri, room_grant(MALLORY, granter=ALICE.address), end=1 + m.MAX_HISTORY
            )
            assert forged["code"] == "bad-range"
            assert server.stats["room-history:granted"] == 2 and server.stats["room-history"] == 2
            await alice.close()

    run(scenario())


@pytest.mark.parametrize(
    ("grant", "code", "why"),
    [
        # Mallory grants the room in her own name: she is no member of the community.
        (
            lambda: room_grant(MALLORY),
            "bad-grant",
            f"not a member of the room now: {MALLORY.address} is not a member",
        ),
        # Mallory signs in Alice's name: forged.
        (
            lambda: room_grant(MALLORY, granter=ALICE.address),
            "bad-grant",
            f"not signed by its granter {ALICE.address}",
        ),
        # Alice's signature, the expiry raised afterwards: the signature does not cover it.
        (
            lambda: Grant.of(
                HistoryGrant(LOG_OPERATOR.address, ROOM, ALICE.address, ANYONE, int(time.time()) + 10**6),
                room_grant().signature,
            ),
            "bad-grant",
            "not signed by its granter",
        ),
        (lambda: room_grant(expiry=int(time.time()) - 1), "bad-grant", "the grant expired at"),
        (
            lambda: room_grant(node=DAVE.address),
            "bad-grant",
            f"is for the relay of {DAVE.address}, not this one",
        ),
        (
            lambda: room_grant(grantee=DAVE.address),
            "bad-grant",
            f"the grant is for {DAVE.address}, not {MALLORY.address}",
        ),
        # Alice's grant for another room of the community (or for a direct room) opens only that room.
        (
            lambda: room_grant(room=m.room_id(CID, "other")),
            "bad-grant",
            f"not community {CID}'s room general",
        ),
        (lambda: room_grant(room=direct_room(ALICE.address, BOB.address)), "bad-grant", "not community"),
    ],
)
def test_a_room_grant_that_does_not_hold_is_refused_with_the_reason(
    tmp_path: Path, grant: Any, code: str, why: str
) -> None:
    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite") as (server, _rooms, _log):
            alice = await member(server.uri, ALICE)
            await posted(alice, "r", 2)
            answer = await ask_granted(server.uri, grant())
            assert answer["type"] == "error" and answer["code"] == code, answer
            assert why in answer["reason"], answer["reason"]
            assert server.stats["room-history:granted"] == 0 and server.stats["room-history"] == 0
            await alice.close()

    run(scenario())


def test_a_room_grant_holds_only_while_its_granter_is_a_member(tmp_path: Path) -> None:
    """Membership is checked when the grant is used, as for a `room-join`: a granter banned since,
    or whose membership expired, opens nothing; a fail-closed community whose members cannot be
    confirmed answers `membership-unavailable` (the relay's state, not the grant's)."""

    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite") as (server, rooms, _log):
            alice = await member(server.uri, ALICE)
            await posted(alice, "b", 2)
            by_bob, by_carol = room_grant(BOB), room_grant(CAROL)
            assert (await ask_granted(server.uri, by_bob))["type"] == "room-entries"
            membership = rooms.view.membership
            membership.apply("Banned", {"community_id": CID, "account": BOB.address, "by": OWNER.address})
            banned = await ask_granted(server.uri, by_bob)
            assert (
                banned["code"] == "bad-grant" and f"community {CID} banned {BOB.address}" in banned["reason"]
            )
            membership.apply("MemberJoined", {"community_id": CID, "account": CAROL.address, "expires_at": 1})
            expired = await ask_granted(server.uri, by_carol)
            assert expired["code"] == "bad-grant" and "not a member of community" in expired["reason"]
            rooms.view.synced_at = -math.inf  # the RPC went away: community CID fails closed
            stale = await ask_granted(server.uri, room_grant())
            assert stale["code"] == "membership-unavailable", stale
            assert server.stats["room-history:granted"] == 1
            await alice.close()

    run(scenario())


def test_a_contract_wallet_members_room_grant_is_checked_with_eip1271(tmp_path: Path) -> None:
    wallets = Wallets()
    g = HistoryGrant(LOG_OPERATOR.address, ROOM, WALLET, ANYONE, int(time.time()) + 600)

    async def scenario() -> None:
        async with signed_rooms(tmp_path / "log.sqlite", verifier=wallets) as (server, rooms, _log):
            rooms.view.membership.apply(
                "MemberJoined", {"community_id": CID, "account": WALLET, "expires_at": 2**64 - 1}
            )
            alice = await member(server.uri, ALICE)
            await posted(alice, "w", 1)
            ok = await ask_granted(server.uri, Grant.of(g, WALLET_SIG), end=1)
            assert [r["entry"]["seq"] for r in ok["records"]] == [1]
            assert wallets.asked == [(WALLET, g.digest(GRANT_DOMAIN))]
            bad = await ask_granted(server.uri, Grant.of(g, b"\x02" * 97), end=1)
            assert bad["code"] == "bad-grant" and f"not signed by its granter {WALLET}" in bad["reason"]
            await alice.close()

    run(scenario())
