"""Members' clients check a relay's signed history of a community room (clubchat.communities.rooms
+ sealed, clubchat.client.history), on loopback relays with rooms and a signed log: every entry
verified as it comes (the sender's against the text the members got); a relay that drops a post for
a member is caught by the gap and asked, one that withholds the entries leaves refusal evidence; a
relay that forks a room is caught by two members comparing heads (sealed in the room, or in a direct
envelope), and the two signed entries prove the fork on the Disputes contract as `club report` does."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import boa
import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.cli import main
from clubchat.client.history import HistoryBook, HistoryStore, NodeKeys, SignedEntry, default_store_path
from clubchat.client.relay_client import RelayError
from clubchat.client.secure import Secure
from clubchat.communities.rooms import RoomClient
from clubchat.communities.sealed import SealedRoom, members_of
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_conn import Conn
from clubchat.node.relay_log import LogSigner, RelayLog
from clubchat.node.rooms import CacheView, Rooms
from clubchat.protocol import messages as m
from clubchat.protocol.log_entry import ZERO32, LogEntry, sign_log_entry
from clubchat.registry.words import node_record
from tests.client.test_disputes_cli import env  # noqa: F401 (the anvil deployment with Disputes)
from tests.crypto.test_rooms_e2e import ALICE, BOB, CAROL, CID, DAVE
from tests.crypto.test_rooms_e2e import _view as members_view
from tests.node.harness import LOG_CHAIN_ID, LOG_NODE_KEY, LOG_OPERATOR, LOG_SIGNER, relay, run
from tests.node.misbehaving_relay import WithholdingLog
from tests.utils.disputes import add_node, commit_fork, next_block, prove

ROOM = m.room_id(CID, m.DEFAULT_ROOM)


class DroppingRooms(Rooms):
    """Rooms that never hand post `seq` to `victim` (its entry still goes into the chain)."""

    victim = BOB.address.lower()
    dropped = 2

    def _fan_out(self, conn: Conn, key: tuple[int, str], seq: int, text: str) -> list[Conn]:
        if seq != self.dropped:
            return super()._fan_out(conn, key, seq, text)
        reached = []
        for target in tuple(self.subs.get(key, ())):  # bound: the room's connections
            if target is not conn and target.address != self.victim and self.relay._push(target, text):
                reached.append(target)
        return reached


@asynccontextmanager
async def room_relay(
    path: Path, log_class: type[RelayLog] = RelayLog, rooms: type[Rooms] = Rooms, **log: Any
) -> AsyncIterator[tuple[RelayServer, CacheView]]:
    relay_log = log_class(path, log.pop("signer", LOG_SIGNER), **log)
    await relay_log.open()
    view = members_view()
    try:
        async with relay(RelayConfig(chain_id=LOG_CHAIN_ID), log=relay_log) as server:
            rooms(server, view)
            yield server, view
    finally:
        await relay_log.close()


def book(
    told: list[str] | None = None, store: HistoryStore | None = None, signer: LogSigner = LOG_SIGNER
) -> HistoryBook:
    keys = NodeKeys(retired=[(signer.operator, signer.key_address)])
    on_problem: Callable[[Any], None] | None = (
        (lambda p: told.append(p.message)) if told is not None else None
    )
    return HistoryBook(signer.domain.chain_id, signer.domain.verifying_contract, keys, on_problem, store)


async def client(uri: str, who: LocalAccount, history: HistoryBook | None = None) -> RoomClient:
    c = await RoomClient.connect(uri, who, timeout=5, history=history or book())
    assert isinstance(c, RoomClient)
    return c


def sealed(body: str) -> m.RoomSealed:
    """A stand-in for a sealed room message (neither relay nor history check opens one)."""
    return m.RoomSealed(epoch=1, ct=base64.b64encode(body.encode()).decode())


async def settle(until: Callable[[], Any], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not until():
            await asyncio.sleep(0.02)


def head_seq(c: RoomClient, operator: str = LOG_OPERATOR.address) -> int:
    assert c.history is not None
    head = c.history.head(operator, ROOM)
    return head.entry.seq if head is not None else 0


def test_members_verify_room_entries_as_they_come(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with room_relay(tmp_path / "log.sqlite") as (server, _view):
            alice, bob, carol = [await client(server.uri, who) for who in (ALICE, BOB, CAROL)]
            for c in (alice, bob, carol):
                await c.join(CID)
            for i in range(3):
                sent = await alice.send_room(CID, sealed(f"post {i}"))
                assert sent.entry is not None and sent.entry.seq == sent.seq == i + 1
            chunk = m.RoomFileChunk(
                file_id="a" * 8 + "-0000-0000-0000-" + "0" * 12, index=0, size=3, data="YWJj"
            )
            await bob.send_file_chunk(CID, chunk)
            await carol.send_room(CID, sealed("from carol"))
            for c in (alice, bob, carol):
                await settle(lambda c=c: head_seq(c) == 5)
                assert c.history is not None and c.history.problems == [], c.history.problems
            heads = {c.history.head(LOG_OPERATOR.address, ROOM) for c in (alice, bob, carol)}  # type: ignore[union-attr]
            assert len(heads) == 1  # one chain, one signed head, for every member
            # the sender's check is a real one: a relay telling the sender another time than the
            # members got (so another text) is caught
            real = server.history._room_logged  # type: ignore[union-attr]

            def lying(batch: list[Any]) -> None:
                for a in batch:
                    a.notify.time += 1
                real(batch)

            server.history._room_logged = lying  # type: ignore[union-attr,method-assign]
            await alice.send_room(CID, sealed("the time is off"))
            assert alice.history is not None
            assert [p.kind for p in alice.history.problems] == ["body-mismatch"]
            await settle(lambda: head_seq(bob) == 6)
            assert bob.history is not None and bob.history.problems == []  # the members' text is the real one
            for c in (alice, bob, carol):
                await c.close()

    run(scenario())


def test_a_post_dropped_for_a_member_is_a_gap_the_client_asks_the_relay_to_fill(tmp_path: Path) -> None:
    async def scenario() -> None:
        told: list[str] = []
        async with room_relay(tmp_path / "log.sqlite", rooms=DroppingRooms) as (server, _view):
            alice, bob = await client(server.uri, ALICE), await client(server.uri, BOB, book(told))
            for c in (alice, bob):
                await c.join(CID)
            for i in range(3):
                await alice.send_room(CID, sealed(f"post {i}"))
            await settle(lambda: head_seq(bob) == 3 and server.stats["room-history"] >= 1)
            assert bob.history is not None
            await settle(lambda: 2 in bob.history._rooms[(LOG_OPERATOR.address, ROOM)].hashes)  # filled
            assert [p.kind for p in bob.history.problems] == ["gap"]
            assert bob.history.problems[0].missing == (2, 2) and "missing" in told[0]
            assert bob.history.evidence == []  # the relay produced the entry when asked
            got = [bob.room_inbox.get_nowait().seq for _ in range(bob.room_inbox.qsize())]
            assert got == [1, 3]  # the user was told a post is missing; its entry is here
            await alice.close()
            await bob.close()

    run(scenario())


def test_a_relay_that_withholds_a_rooms_entries_leaves_refusal_evidence(tmp_path: Path) -> None:
    async def scenario() -> None:
        told: list[str] = []
        store = HistoryStore(tmp_path / "bob.jsonl")
        async with room_relay(tmp_path / "log.sqlite", WithholdingLog, DroppingRooms) as (server, _view):
            alice, bob = await client(server.uri, ALICE), await client(server.uri, BOB, book(told, store))
            for c in (alice, bob):
                await c.join(CID)
            for i in range(3):
                await alice.send_room(CID, sealed(f"post {i}"))
            assert bob.history is not None
            await settle(lambda: bool(bob.history.evidence))
            (refusal,) = bob.history.evidence
            assert refusal.kind == "refusal" and refusal.missing == (2, 2) and refusal.a.entry.room == ROOM
            assert refusal.a.entry.seq == 3  # the signed later entry it cannot explain
            assert any("evidence against it" in t for t in told)
            assert [r["evidence"] for r in store.rows() if "evidence" in r] == [refusal.to_json()]
            await alice.close()
            await bob.close()

    run(scenario())


def test_room_history_from_the_client_serves_members_and_raises_for_others(tmp_path: Path) -> None:
    mallory = Account.from_key("0x" + "75" * 32)

    async def scenario() -> None:
        async with room_relay(tmp_path / "log.sqlite") as (server, _view):
            alice = await client(server.uri, ALICE)
            await alice.join(CID)
            for i in range(3):
                await alice.send_room(CID, sealed(f"post {i}"))
            dave = await client(server.uri, DAVE)
            answer = await dave.room_history(CID, m.DEFAULT_ROOM, 1, 3)
            assert [r.entry.seq for r in answer.records] == [1, 2, 3] and answer.records[-1].sig is not None
            assert dave.history is not None and head_seq(dave) == 3 and dave.history.problems == []
            outsider = await client(server.uri, mallory)
            with pytest.raises(RelayError, match="room history is for members only") as refused:
                await outsider.room_history(CID, m.DEFAULT_ROOM, 1, 3)
            assert refused.value.code == "not-member"
            for c in (alice, dave, outsider):
                await c.close()

    run(scenario())


async def sealed_member(uri: str, who: LocalAccount, view: CacheView, history: HistoryBook) -> SealedRoom:
    c = await client(uri, who, history)
    room = SealedRoom(c, Secure(who), CID, members_of(view, CID))
    await room.join()
    return room


def _fork_scenario(
    tmp_path: Path, signer: LogSigner, via_room: bool, clock: Callable[[], float] | None = None
) -> tuple[HistoryBook, HistoryStore, list[str]]:
    """A forking relay; Alice posts, Bob sends his signed head (sealed in the room, or in a direct
    envelope); returns Alice's book and store, and what she was told."""
    told: list[str] = []
    store = HistoryStore(tmp_path / "alice.jsonl")
    alices = book(told, store, signer)

    async def scenario() -> None:
        extra = {"clock": clock} if clock is not None else {}
        async with room_relay(tmp_path / "log.sqlite", fork_for_tests=True, signer=signer, **extra) as (
            server,
            view,
        ):
            alice = await sealed_member(server.uri, ALICE, view, alices)
            bob = await sealed_member(server.uri, BOB, view, book(signer=signer))
            await alice.send("the club meets at nine")
            post = await bob.next_post(10)
            assert post.payload == m.Text(body="the club meets at nine")
            await settle(lambda: head_seq(bob.client, signer.operator) == 1)
            assert bob.client.history is not None
            for b in (alices, bob.client.history):  # each member's view of the room is consistent alone
                assert [p for p in b.problems if p.room == ROOM] == []
            if via_room:
                assert await bob.send_head() is not None
            else:
                head = bob.client.room_head(CID)
                assert head is not None
                await bob.client.send_nowait(ALICE.address, head)
            await settle(
                lambda: any(e.kind == "equivocation" and e.a.entry.room == ROOM for e in alices.evidence)
            )
            assert alice.posts.empty()  # the head went to the history check, not to the application
            assert alice.client.inbox.empty() and alice.direct.empty()
            for r in (alice, bob):
                await r.close()
                await r.client.close()

    run(scenario())
    return alices, store, told


def test_members_catch_a_forking_relay_by_comparing_room_heads(tmp_path: Path) -> None:
    for via_room in (True, False):
        path = tmp_path / ("room" if via_room else "direct")
        path.mkdir()
        alices, store, told = _fork_scenario(path, LOG_SIGNER, via_room)
        (ev,) = [e for e in alices.evidence if e.kind == "equivocation" and e.a.entry.room == ROOM]
        assert (
            ev.b is not None
            and ev.a.entry.room == ev.b.entry.room == ROOM
            and ev.a.entry.seq == ev.b.entry.seq == 1
        )
        assert ev.a.entry.struct_hash() != ev.b.entry.struct_hash()
        assert any("signed two different histories" in t for t in told)
        # what `club report` reads: the fork is in Alice's store
        (found,) = [e for e in store.replay(book()) if e.a.entry.room == ROOM]
        assert {found.a.entry, found.b.entry} == {ev.a.entry, ev.b.entry}  # type: ignore[union-attr]


def test_a_room_fork_proves_on_the_disputes_contract(
    directory, tmp_path: Path, token, protocol, params
) -> None:
    """The room fork two members caught, signed by a registered node's key in the deployment's
    domain, slashes and jails the node through commit + prove_equivocation (`club report`'s calls)."""
    registry, disputes = protocol["NodeRegistry"], protocol["Disputes"]
    treasury = str(protocol["Timelock"].address)
    node = add_node(token, registry, treasury, "room-forker", 2 * params.registry.min_self_stake_per_kind_wei)
    signer = LogSigner.create(
        node.operator, bytes(node.key.key), int(disputes.eip712Domain()[3]), str(disputes.address)
    )
    chain_now = boa.env.evm.patch.timestamp
    _, store, _ = _fork_scenario(tmp_path, signer, True, clock=lambda: chain_now)

    (ev,) = [e for e in store.replay(book(signer=signer)) if e.a.entry.room == ROOM]
    assert ev.b is not None
    reporter = str(boa.env.generate_address("room-reporter"))
    commit_fork(disputes, reporter, ev.a.entry)
    next_block()
    cut = prove(disputes, reporter, ev.a.entry, ev.a.sig, ev.b.entry, ev.b.sig)
    assert cut > 0 and directory.nodes(node.operator).jailed
    assert disputes.proven(disputes.evidence_id(node.operator, ROOM, 1))


def test_one_fork_seen_again_is_one_piece_of_evidence(tmp_path: Path) -> None:
    """A member's head compared, then the relay's own entry for that place asked for again (a gap
    or prev mismatch does that): still one fork, kept once, one proof for `club report`."""

    def signed(body: bytes) -> SignedEntry:
        e = LogEntry(LOG_OPERATOR.address, ROOM, 1, ZERO32, body * 32, 1_700_000_000)
        return SignedEntry(e, sign_log_entry(bytes(LOG_NODE_KEY.key), LOG_SIGNER.domain, e).packed())

    mine, theirs = signed(b"\x01"), signed(b"\x02")
    store = HistoryStore(tmp_path / "store.jsonl")
    b = book(store=store)
    b.record("ws://r", mine.entry, mine.sig)
    b.compare_head("ws://r", theirs.entry, theirs.sig)
    b.record("ws://r", mine.entry, mine.sig)  # the relay's answer to `room-history`, again
    b.compare_head("ws://r", theirs.entry, theirs.sig)  # the head sent again
    assert len(b.evidence) == 1 and len([r for r in store.rows() if "evidence" in r]) == 1
    assert len([r for r in store.rows() if r.get("foreign")]) == 1  # the same head twice: kept once
    assert len(store.replay(book())) == 1


@contextmanager
def relay_thread(
    path: Path, signer: LogSigner, listener: HistoryBook | None = None, admin: str | None = None
) -> Iterator[str]:
    """A relay with rooms and a signed history on its own event loop thread (for `club` commands);
    with a `listener` book, the relay forks every room and BOB follows the room there with it; an
    `admin` is one of the community's admins (who post in broadcast rooms)."""
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[str] = concurrent.futures.Future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with room_relay(path, signer=signer, fork_for_tests=listener is not None) as (server, view):
            if admin is not None:
                view.membership.apply("RolesChanged", {"community_id": CID, "account": admin, "roles": 1})
            bob = await sealed_member(server.uri, BOB, view, listener) if listener is not None else None
            started.set_result(server.uri)
            await stop.wait()
            if bob is not None:
                await bob.close()
                await bob.client.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield started.result(10)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


@pytest.mark.integration
def test_club_room_checks_room_entries_and_club_report_proves_a_room_fork(
    env,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`club room send` on a deployment with Disputes checks the relay's signed room entries against
    the registry's node key and keeps them in the wallet's store (where `club report` looks for
    forks); a relay signing with a key that is not its operator's is reported to the user; a relay
    that forks the room is caught by a listening member through the head the sender posts, and
    `club report` slashes it."""
    c, nodes = env
    op, key = nodes[1]
    disputes = c.manifest.contract(c.w3, "Disputes")
    chain_id = int(c.w3.eth.chain_id)
    monkeypatch.setenv("CLUB_HISTORY_DIR", str(tmp_path / "history"))
    rpc = c.w3.provider.endpoint_uri  # type: ignore[attr-defined]

    def club(*argv: str, key: LocalAccount = ALICE) -> str:
        chain = ["--rpc-url", rpc, "--network", str(c.manifest_path), "--key", key.key.hex()]
        result = CliRunner().invoke(main, [*argv, *chain], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def send(uri: str, text: str) -> str:
        return club("room", "send", str(CID), text, "--relay", uri, "--member", BOB.address)

    honest = LogSigner.create(op.address, bytes(key.key), chain_id, disputes.address)
    with relay_thread(tmp_path / "honest.sqlite", honest) as uri:
        out = send(uri, "signed by the node key")
        assert "warning" not in out
    store = HistoryStore(default_store_path(chain_id, disputes.address, ALICE.address))
    kept = [r for r in store.rows() if "entry" in r and r["entry"]["room"] == "0x" + ROOM.hex()]
    assert [r["entry"]["seq"] for r in kept] == [1, 2]  # the text, then the head posted after it
    assert all(r["relay"] == uri and r["entry"]["node"] == op.address for r in kept)
    stranger = LogSigner.create(op.address, bytes(LOG_NODE_KEY.key), chain_id, disputes.address)
    with relay_thread(tmp_path / "stranger.sqlite", stranger) as uri:
        out = send(uri, "signed by another key")
    assert "warning: relay" in out and "its signature is not the node's key" in out
    # A relay that shows the members another history than the sender: `club room send` posts the
    # sender's signed head after the text, the member listening holds both signed entries of the
    # fork in its store, and `club report` proves it on chain.
    forker, forker_key = nodes[2]
    forking = LogSigner.create(forker.address, bytes(forker_key.key), chain_id, disputes.address)
    bobs_store = HistoryStore(tmp_path / "bob.jsonl")
    bobs = book(store=bobs_store, signer=forking)
    with relay_thread(tmp_path / "forking.sqlite", forking, listener=bobs) as uri:
        send(uri, "the club meets at nine")
        deadline = time.monotonic() + 10
        while not any(e.kind == "equivocation" and e.a.entry.room == ROOM for e in bobs.evidence):
            assert time.monotonic() < deadline, bobs.problems
            time.sleep(0.05)
    reporter = Account.from_key("0x" + "7e" * 32)
    c.fund(reporter.address, 0)
    out = club("report", "--store", str(bobs_store.path), key=reporter)
    assert f"fork of {forker.address} proven" in out
    assert node_record(c.registry, forker.address)[3] is True  # jailed


class Poster(threading.Thread):
    """ALICE in the room on her own event loop, with a HistoryBook keeping what she is shown (and the
    heads other members post) in `store`: once BOB's keys are on the relay (his listener joined) she
    posts `texts` to `room`, `gap` seconds apart, then stays until `done` is set."""

    def __init__(
        self, uri: str, signer: LogSigner, store: HistoryStore, texts: list[str], room: str, gap: float
    ) -> None:
        super().__init__(daemon=True)
        self.uri, self.texts, self.room, self.gap = uri, texts, room, gap
        self.book = book(store=store, signer=signer)
        self.joined, self.done = threading.Event(), threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(asyncio.wait_for(self._go(), 60))
        except BaseException as exc:
            self.error = exc

    async def _go(self) -> None:
        c = await client(self.uri, ALICE, self.book)
        room = SealedRoom(c, Secure(ALICE), CID, lambda: [ALICE.address, BOB.address], self.room)
        await room.join()
        self.joined.set()
        while (await c.get_keys(BOB.address)).bundle is None:  # bound: the 60 s timeout
            await asyncio.sleep(0.05)
        for text in self.texts:  # bound: the texts given
            await room.send(text)
            await asyncio.sleep(self.gap)
        while not self.done.is_set():  # bound: the 60 s timeout
            await asyncio.sleep(0.05)
        await room.close()
        await c.close()


def _bob_listens(
    c: Any,
    signer: LogSigner,
    uri: str,
    store: HistoryStore,
    texts: list[str],
    *extra: str,
    room: str = "",
    gap: float = 0.1,
) -> list[dict[str, Any]]:
    """`club room listen` as BOB (who never posts) with the options `extra` while ALICE posts
    `texts`, `gap` seconds apart (a `Poster` keeping what she sees in `store`); returns the JSON
    lines it printed."""
    alice = Poster(uri, signer, store, texts, room or m.DEFAULT_ROOM, gap)
    alice.start()
    assert alice.joined.wait(20)
    rooms = ["--room", room] if room else []
    argv = ["room", "listen", str(CID), "--relay", uri, "--member", ALICE.address, *rooms, *extra]
    argv += ["--rpc-url", c.w3.provider.endpoint_uri, "--network", str(c.manifest_path)]
    try:
        result = CliRunner().invoke(main, [*argv, "--key", BOB.key.hex()], catch_exceptions=False)
    finally:
        alice.done.set()
        alice.join(30)
    assert alice.error is None, alice.error
    assert alice.book.problems == []  # an honest relay: each head agrees with Alice's history
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


LISTEN_SECONDS = 5.0


def _honest(
    c: Any, node: tuple[LocalAccount, LocalAccount], monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> LogSigner:
    """The signer of a relay run for `node` (operator, node key) of the deployment; the wallets'
    stores under `tmp`."""
    op, key = node
    monkeypatch.setenv("CLUB_HISTORY_DIR", str(tmp / "history"))
    disputes = c.manifest.address("Disputes")
    return LogSigner.create(op.address, bytes(key.key), int(c.w3.eth.chain_id), disputes)


@pytest.mark.integration
def test_club_room_listen_posts_its_head_when_posts_arrived_at_most_once_per_interval(
    env,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`club room listen` (BOB, who never posts) posts his signed head of the room after members'
    posts arrived, at most once every `--head-every` seconds, and none while the room is quiet; ALICE
    opens each head and compares it with her own history. With `--no-head` he posts none."""
    c, nodes = env
    signer = _honest(c, nodes[3], monkeypatch, tmp_path)
    every = 1.5
    texts = [f"post {i}" for i in range(12)]
    alices = HistoryStore(tmp_path / "alice.jsonl")
    with relay_thread(tmp_path / "room.sqlite", signer) as uri:
        events = _bob_listens(
            c, signer, uri, alices, texts, "--seconds", str(LISTEN_SECONDS), "--head-every", str(every)
        )
    messages = [e for e in events if e["event"] == "message"]
    heads = [e for e in events if e["event"] == "head"]
    assert [e["text"] for e in messages] == texts  # heads go to the history check, not to the listener
    # Twelve posts, and at most one head per interval of the run plus one when it stops.
    assert 1 <= len(heads) <= 1 + int(LISTEN_SECONDS / every) < len(texts), heads
    assert all(h["relay"] == uri for h in heads)
    # Each head follows a post that arrived after the one before it (none for a quiet room or for
    # a head of its own), and the last one covers the last post.
    seqs = [e["seq"] for e in messages]
    for before, after in itertools.pairwise(heads):
        assert any(before["post"] < s <= after["seq"] for s in seqs), (heads, seqs)
    assert heads[-1]["seq"] >= seqs[-1]
    # Alice opened every head Bob posted and compared it: the signed entries Bob held, as he named them.
    foreign = [r["entry"]["seq"] for r in alices.rows() if r.get("foreign")]
    assert foreign == [h["seq"] for h in heads]

    quiet = HistoryStore(tmp_path / "alice-quiet.jsonl")
    with relay_thread(tmp_path / "quiet.sqlite", signer) as uri:
        events = _bob_listens(c, signer, uri, quiet, texts[:3], "--seconds", str(LISTEN_SECONDS), "--no-head")
    assert [e["text"] for e in events if e["event"] == "message"] == texts[:3]
    assert [e for e in events if e["event"] == "head"] == []
    assert [r for r in quiet.rows() if r.get("foreign")] == []


@pytest.mark.integration
def test_club_room_listen_stops_posting_heads_where_the_relay_refuses_them(
    env,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a broadcast room only admins post: BOB's listener is refused its head once, says so in one
    `head-refused` line, asks no more (later posts arrive after the refusal) and follows on."""
    c, nodes = env
    signer = _honest(c, nodes[3], monkeypatch, tmp_path)
    texts = [f"news {i}" for i in range(4)]
    store = HistoryStore(tmp_path / "alice.jsonl")
    with relay_thread(tmp_path / "broadcast.sqlite", signer, admin=ALICE.address) as uri:
        # posts over 1.6 s and a head due every 0.3 s: without the stop, a refusal per interval
        extra = ("--seconds", "4", "--head-every", "0.3")
        events = _bob_listens(c, signer, uri, store, texts, *extra, room="broadcast:news", gap=0.4)
    assert [e["text"] for e in events if e["event"] == "message"] == texts
    (refused,) = [e for e in events if e["event"] == "head-refused"]
    assert refused["relay"] == uri and "admins-only" in refused["reason"]
    assert [e for e in events if e["event"] == "head"] == []
    assert [r for r in store.rows() if r.get("foreign")] == []
