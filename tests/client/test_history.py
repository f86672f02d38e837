"""Client-side checks of signed relay history (clubchat.client.history): signatures with the node's
current or retired key, body, continuity, gaps filled with `history`, refusals and forks as evidence;
and on loopback, two members of a room at a forking relay compare heads and hold the two conflicting
signed entries `Disputes.prove_equivocation` takes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from clubchat.chain.eip712 import SECP256K1_N, Signature
from clubchat.client.history import HistoryBook, HistoryStore, NodeKeys, Problem, SignedEntry
from clubchat.client.relay_client import RelayClient
from clubchat.node.relay import RelayConfig
from clubchat.node.relay_log import RelayLog
from clubchat.protocol import messages as m
from clubchat.protocol.log_entry import ZERO32, LogEntry, direct_room, log_entry_signer, sign_log_entry
from tests.node.harness import LOG_CHAIN_ID, LOG_DISPUTES, LOG_NODE_KEY, LOG_OPERATOR, LOG_SIGNER, relay, run

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
old_key = Account.from_key("0x" + "3e" * 32)
stranger = Account.from_key("0x" + "5e" * 32)
operator, node_key, DISPUTES, CHAIN_ID, SIGNER = (
    LOG_OPERATOR,
    LOG_NODE_KEY,
    LOG_DISPUTES,
    LOG_CHAIN_ID,
    LOG_SIGNER,
)
ROOM = direct_room(alice.address, bob.address)
RELAY = "ws://relay.test"


def book(keys: NodeKeys | None = None) -> HistoryBook:
    return HistoryBook(CHAIN_ID, DISPUTES, keys or NodeKeys(retired=[(operator.address, node_key.address)]))


def chain(n: int, time: int = 1_700_000_000, texts: list[str] | None = None) -> list[LogEntry]:
    out: list[LogEntry] = []
    prev = ZERO32
    for i in range(n):
        body = keccak(text=texts[i] if texts else f"message {i}")
        e = LogEntry(operator.address, ROOM, i + 1, prev, body, time + i)
        out.append(e)
        prev = e.struct_hash()
    return out


def sig(entry: LogEntry, key: Any = node_key) -> bytes:
    return sign_log_entry(bytes(key.key), SIGNER.domain, entry).packed()


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


# -- unit: one entry at a time ------------------------------------------------------------------


def test_a_continuous_signed_chain_has_no_problems() -> None:
    b = book()
    entries = chain(5, texts=[f"t{i}" for i in range(5)])
    for i, e in enumerate(entries):
        assert b.record(RELAY, e, sig(e) if i in (2, 4) else None, text=f"t{i}") == []
    head = b.head(operator.address, ROOM)
    assert head is not None and head.entry == entries[-1]
    assert b.problems == [] and b.evidence == []


def test_a_signature_by_another_key_is_refused() -> None:
    b = book()
    (e,) = chain(1)
    problems = b.record(RELAY, e, sig(e, stranger))
    assert kinds(problems) == ["bad-signature"]
    assert b.head(operator.address, ROOM) is None  # not taken into the book


def test_a_retired_node_key_still_counts_and_the_current_one_is_asked_for() -> None:
    asked: list[str] = []

    def current(op: str) -> str:
        asked.append(op)
        return node_key.address

    keys = NodeKeys(current=current, retired=[(operator.address, old_key.address)])
    b = book(keys)
    e1, e2 = chain(2)
    assert b.record(RELAY, e1, sig(e1, old_key)) == []  # signed before the key was rotated
    assert b.record(RELAY, e2, sig(e2, node_key)) == []
    assert asked == [operator.address]  # read once, not per entry (a registry call each)
    assert keys.keys(operator.address) == {old_key.address, node_key.address}
    # Rotated again within the read's lifetime: an entry by the new key makes the client read again.
    newer = Account.from_key("0x" + "6e" * 32)

    def rotated(op: str) -> str:
        asked.append(op)
        return newer.address

    keys.current = rotated
    e3 = LogEntry(operator.address, ROOM, 3, e2.struct_hash(), keccak(text="3"), e2.time + 1)
    assert b.record(RELAY, e3, sig(e3, newer)) == []
    assert asked == [operator.address, operator.address]


def test_a_key_rotated_away_before_this_client_saw_it_counts_through_the_registry() -> None:
    """A fresh client (or `club report` replaying a store) never saw the old key: the registry's
    key record names the operator it was bound to. A stranger's key has no operator there."""
    bound = {old_key.address: operator.address}
    asked: list[str] = []

    def owner(key: str) -> str:
        asked.append(key)
        return bound.get(key, "0x" + "00" * 20)

    keys = NodeKeys(current=lambda op: node_key.address, owner=owner)
    b = book(keys)
    e1, e2 = chain(2)
    assert b.record(RELAY, e1, sig(e1, old_key)) == []
    assert b.record(RELAY, e2, sig(e2, old_key)) == []
    assert asked == [old_key.address]  # looked up once, then known
    (e3,) = chain(1, time=1_800_000_000)
    assert kinds(book(keys).record(RELAY, e3, sig(e3, stranger))) == ["bad-signature"]
    assert asked == [old_key.address, stranger.address]
    # Without the lookup the rotated key is refused (what the client did before).
    assert kinds(book(NodeKeys(current=lambda op: node_key.address)).record(RELAY, e1, sig(e1, old_key))) == [
        "bad-signature"
    ]


def test_a_high_s_signature_is_refused() -> None:
    b = book()
    (e,) = chain(1)
    s = Signature(sig(e)[64], sig(e)[:32], sig(e)[32:64])
    twin = s.malleable_twin()
    assert int.from_bytes(twin.s, "big") > SECP256K1_N // 2
    assert kinds(b.record(RELAY, e, twin.packed())) == ["bad-signature"]


def test_an_entry_for_another_text_is_reported() -> None:
    b = book()
    (e,) = chain(1, texts=["what was sent"])
    assert kinds(b.record(RELAY, e, sig(e), text="something else")) == ["body-mismatch"]


def test_a_gap_is_reported_with_the_missing_seqs() -> None:
    b = book()
    entries = chain(5)
    b.record(RELAY, entries[0], sig(entries[0]))
    (problem,) = b.record(RELAY, entries[3], sig(entries[3]))
    assert problem.kind == "gap" and problem.missing == (2, 3)
    assert "missing" in problem.message
    # filled (as a history answer does): no more problems, continuity checked on both sides
    assert b.record(RELAY, entries[1], None) == []
    assert b.record(RELAY, entries[2], None) == []


def test_a_prev_mismatch_is_reported() -> None:
    b = book()
    e1, e2 = chain(2)
    bad = LogEntry(e2.node, e2.room, 2, b"\x07" * 32, e2.body, e2.time)
    b.record(RELAY, e1, sig(e1))
    (problem,) = b.record(RELAY, bad, sig(bad))
    assert problem.kind == "prev-mismatch"
    assert problem.missing == (1, 1)  # the client asks the relay for the entry `prev` names
    # The relay answers with its signed entry 1, which is not the one it signed before: a fork.
    other = LogEntry(e1.node, e1.room, 1, e1.prev, keccak(text="another first"), e1.time)
    (fork,) = b.record(RELAY, other, sig(other))
    assert fork.kind == "fork" and fork.evidence is not None and fork.evidence.kind == "equivocation"
    # An entry that arrives before one that does not follow it: ask for the earlier seq again.
    b2 = book()
    b2.record(RELAY, bad, sig(bad))
    (later,) = b2.record(RELAY, e1, sig(e1))
    assert later.kind == "prev-mismatch" and later.seq == 2 and later.missing == (1, 1)


def test_two_signed_entries_for_one_seq_are_equivocation_evidence() -> None:
    b = book()
    (mine,) = chain(1)
    (theirs,) = chain(1, time=1_700_000_001)  # same (node, room, seq), another entry
    b.record(RELAY, mine, sig(mine))
    (problem,) = b.compare_head(RELAY, theirs, sig(theirs))
    assert problem.kind == "fork" and "club report" in problem.message
    ev = problem.evidence
    assert ev is not None and ev.kind == "equivocation" and b.evidence == [ev]
    assert ev.b is not None
    assert (ev.a.entry.node, ev.a.entry.room, ev.a.entry.seq) == (
        ev.b.entry.node,
        ev.b.entry.room,
        ev.b.entry.seq,
    )
    assert ev.a.entry.struct_hash() != ev.b.entry.struct_hash()
    a, sig_a, bb, sig_b = ev.prove_args()
    assert a == mine.as_tuple() and bb == theirs.as_tuple() and len(sig_a) == len(sig_b) == 65
    # the same fork seen from the relay's side later (our own signed entry arrives) is caught too
    b2 = book()
    b2.compare_head(RELAY, theirs, sig(theirs))
    assert kinds(b2.record(RELAY, mine, sig(mine))) == ["fork"]
    assert b2.evidence and b2.evidence[0].kind == "equivocation"


def test_a_forged_head_from_a_member_is_not_evidence() -> None:
    b = book()
    (mine,) = chain(1)
    (theirs,) = chain(1, time=1_700_000_001)
    b.record(RELAY, mine, sig(mine))
    assert kinds(b.compare_head(RELAY, theirs, sig(theirs, stranger))) == ["bad-signature"]
    assert b.evidence == []


def test_a_relay_that_does_not_fill_a_gap_leaves_refusal_evidence(tmp_path: Path) -> None:
    b = book()
    b.store = HistoryStore(tmp_path / "history.jsonl")
    entries = chain(4)
    b.record(RELAY, entries[0], sig(entries[0]))
    b.record(RELAY, entries[3], sig(entries[3]))
    (problem,) = b.answered(RELAY, operator.address, ROOM, 2, 3, got=[])
    assert problem.kind == "refused" and problem.missing == (2, 3)
    assert problem.evidence is not None and problem.evidence.kind == "refusal"
    assert problem.evidence.a.entry == entries[3]  # the signed later entry the relay cannot explain
    with pytest.raises(ValueError, match="flag"):
        problem.evidence.prove_args()
    # Kept in the wallet's store with the signed entries: what a flag's evidence is made of.
    (kept,) = [r["evidence"] for r in b.store.rows() if "evidence" in r]
    assert kept == problem.evidence.to_json() and kept["missing"] == [2, 3]
    assert HistoryStore(b.store.path).replay(book()) == []  # not a fork: nothing for `club report`


# -- loopback: a real relay with a signed log ---------------------------------------------------


async def _started_log(path: Path, fork: bool = False) -> RelayLog:
    log = RelayLog(path, SIGNER, fork_for_tests=fork)
    await log.open()
    return log


async def _connect(uri: str, account: Any, told: list[str] | None = None) -> RelayClient:
    b = HistoryBook(
        CHAIN_ID,
        DISPUTES,
        NodeKeys(retired=[(operator.address, node_key.address)]),
        on_problem=(lambda p: told.append(p.message)) if told is not None else None,
    )
    return await RelayClient.connect(uri, account, history=b)


async def _settle(client: RelayClient, until: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not until():
            await asyncio.sleep(0.02)


def test_members_verify_a_relays_history_as_it_comes(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = await _started_log(tmp_path / "log.sqlite")
        try:
            async with relay(RelayConfig(), log=log) as server:
                a, b = await _connect(server.uri, alice), await _connect(server.uri, bob)
                for i in range(5):
                    await a.send(bob.address, m.Text(body=f"hello {i}"))
                await b.send(alice.address, m.Text(body="hi back"))
                assert a.history is not None and b.history is not None
                await _settle(b, lambda: (h := b.history.head(operator.address, ROOM)) and h.entry.seq == 6)
                await _settle(a, lambda: (h := a.history.head(operator.address, ROOM)) and h.entry.seq == 6)
                assert a.history.problems == [] and b.history.problems == []
                assert a.history.head(operator.address, ROOM) == b.history.head(operator.address, ROOM)
                await a.close()
                await b.close()
        finally:
            await log.close()

    run(scenario())


def test_a_gap_is_filled_through_history_and_a_refusal_is_evidence(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = await _started_log(tmp_path / "log.sqlite")
        told: list[str] = []
        try:
            async with relay(RelayConfig(), log=log) as server:
                bob_client = await RelayClient.connect(server.uri, bob)
                a1 = await _connect(server.uri, alice, told)
                a2 = await RelayClient.connect(server.uri, alice)  # another session: a1 sees none of it
                await a1.send(bob.address, m.Text(body="one"))
                await a2.send(bob.address, m.Text(body="two"))
                await a2.send(bob.address, m.Text(body="three"))
                await a1.send(bob.address, m.Text(body="four"))
                assert a1.history is not None
                # a1 saw seq 1 and 4: a gap, asked and filled, nothing refused
                await _settle(a1, lambda: server.stats["history"] >= 1)
                await asyncio.sleep(0.3)
                assert [p.kind for p in a1.history.problems] == ["gap"]
                assert any("missing" in t for t in told)
                assert a1.history.evidence == []
                # now the relay "loses" entries 5-6 before a1 asks for them
                await a2.send(bob.address, m.Text(body="five"))
                await a2.send(bob.address, m.Text(body="six"))
                await log.sync()
                db = sqlite3.connect(tmp_path / "log.sqlite")
                with db:
                    db.execute("DELETE FROM chunks WHERE first >= 5")  # the chunks holding 5 and 6
                db.close()
                await a1.send(bob.address, m.Text(body="seven"))
                await _settle(a1, lambda: any(p.kind == "refused" for p in a1.history.problems))
                (refusal,) = a1.history.evidence
                assert refusal.kind == "refusal" and refusal.missing == (5, 6)
                assert any("evidence against it" in t for t in told)  # the user is told
                for c in (a1, a2, bob_client):
                    await c.close()
        finally:
            await log.close()

    run(scenario())


def test_two_members_detect_a_forking_relay_by_comparing_heads(tmp_path: Path) -> None:
    """The misbehaving relay (fork_for_tests) signs one entry for the sender and another for the
    recipient at the same (room, seq); Bob sends Alice his head through the relay; Alice's client
    holds both signed entries: the evidence `Disputes.prove_equivocation` takes."""

    async def scenario() -> None:
        log = await _started_log(tmp_path / "log.sqlite", fork=True)
        told: list[str] = []
        try:
            async with relay(RelayConfig(), log=log) as server:
                a, b = await _connect(server.uri, alice, told), await _connect(server.uri, bob)
                await a.send(bob.address, m.Text(body="the contract says 100"))
                assert a.history is not None and b.history is not None
                await _settle(b, lambda: b.history.head(operator.address, ROOM) is not None)
                await _settle(a, lambda: a.history.head(operator.address, ROOM) is not None)
                assert a.history.problems == [] and b.history.problems == []  # each view is consistent
                assert await b.send_head(alice.address) is not None
                await _settle(a, lambda: bool(a.history.evidence))
                (ev,) = a.history.evidence
                assert ev.kind == "equivocation" and ev.b is not None
                for signed in (ev.a, ev.b):
                    s = Signature(signed.sig[64], signed.sig[:32], signed.sig[32:64])
                    assert log_entry_signer(SIGNER.domain, signed.entry, s) == node_key.address
                assert ev.a.entry.seq == ev.b.entry.seq == 1 and ev.a.entry.room == ev.b.entry.room == ROOM
                assert ev.a.entry.struct_hash() != ev.b.entry.struct_hash()
                assert any("signed two different histories" in t for t in told)
                assert isinstance(ev.a, SignedEntry) and ev.to_json()["kind"] == "equivocation"
                assert a.inbox.empty()  # the head went to the history check, not to the application
                await a.close()
                await b.close()
        finally:
            await log.close()

    run(scenario())


def test_a_head_of_a_room_the_sender_does_not_share_is_ignored(tmp_path: Path) -> None:
    """A member speaks only for the room it shares with this client: a validly signed head of another
    room (Bob's conversation with a stranger) is neither compared nor kept; one of their own room is."""

    async def scenario() -> None:
        log = await _started_log(tmp_path / "log.sqlite")
        try:
            async with relay(RelayConfig(), log=log) as server:
                a, b = await _connect(server.uri, alice), await _connect(server.uri, bob)
                assert a.history is not None
                await a.send(bob.address, m.Text(body="hello"))
                await _settle(a, lambda: a.history.head(operator.address, ROOM) is not None)
                elsewhere = direct_room(bob.address, stranger.address)
                other = LogEntry(operator.address, elsewhere, 1, ZERO32, keccak(text="x"), 1)
                theirs = m.Head(server.uri, SignedEntry(other, sig(other)).record(), "0x" + sig(other).hex())
                assert await a.take_head(bob.address, theirs) == []
                assert a.history.head(operator.address, other.room) is None and a.history.problems == []
                # The same head of their own room at a place Alice holds differently: a fork.
                (mine,) = chain(1)
                own = m.Head(server.uri, SignedEntry(mine, sig(mine)).record(), "0x" + sig(mine).hex())
                assert [p.kind for p in await a.take_head(bob.address, own)] == ["fork"]
                await a.close()
                await b.close()
        finally:
            await log.close()

    run(scenario())


# -- the client's store: forks found across runs -------------------------------------------------


def test_store_finds_a_fork_across_runs(tmp_path: Path) -> None:

    path = tmp_path / "history.jsonl"
    entries = chain(3)
    first_run = HistoryBook(
        CHAIN_ID, DISPUTES, NodeKeys(retired=[(operator.address, node_key.address)]), store=HistoryStore(path)
    )
    for e in entries:
        first_run.record(RELAY, e, sig(e))
    assert first_run.evidence == []
    # A later run: the relay signs a different entry at seq 2 (the process that saw seq 2 is gone).
    forked = LogEntry(
        operator.address, ROOM, 2, entries[0].struct_hash(), keccak(text="other"), entries[1].time
    )
    second_run = HistoryBook(
        CHAIN_ID, DISPUTES, NodeKeys(retired=[(operator.address, node_key.address)]), store=HistoryStore(path)
    )
    assert second_run.record(RELAY, forked, sig(forked)) == []  # alone, this run sees nothing wrong
    # Replaying the store into a fresh book finds the two signed entries of seq 2.
    found = HistoryStore(path).replay(book())
    assert len(found) == 1
    ev = found[0]
    assert ev.kind == "equivocation" and ev.node == operator.address and ev.b is not None
    assert {ev.a.entry, ev.b.entry} == {entries[1], forked}
    assert all(
        log_entry_signer(SIGNER.domain, s.entry, s.signature()) == node_key.address for s in (ev.a, ev.b)
    )


def test_store_keeps_evidence_and_survives_a_cut_line(tmp_path: Path) -> None:

    path = tmp_path / "history.jsonl"
    store = HistoryStore(path, max_lines=4)
    b = HistoryBook(CHAIN_ID, DISPUTES, NodeKeys(retired=[(operator.address, node_key.address)]), store=store)
    e1, e2 = chain(2)
    other = LogEntry(operator.address, ROOM, 2, e1.struct_hash(), keccak(text="fork"), e2.time)
    b.record(RELAY, e1, sig(e1))
    b.record(RELAY, e2, sig(e2))
    b.record(RELAY, other, sig(other))  # the fork in one run: evidence, stored at once
    assert len(b.evidence) == 1
    for e in chain(8)[2:]:  # more entries than the store keeps
        b.record(RELAY, e, sig(e))
    store._compact()
    with path.open("a") as fh:
        fh.write('{"relay": "ws://cut')  # a crash mid-write
    rows = store.rows()
    assert len(rows) == 4 and sum("evidence" in r for r in rows) == 1
    found = store.replay(book())
    assert len(found) == 1 and found[0].b is not None
