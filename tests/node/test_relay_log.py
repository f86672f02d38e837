"""Signed relay history at the relay: per-room hash chains, batch signing, durability, `history`.

Every accepted envelope gets the next seq of its room; the sender's `sent` and the recipient's
`logged` carry the entry; each room's last entry of a batch is signed with the node key in the
Disputes domain; the heads are durable (fsync) before anyone hears of them, so a relay killed with
SIGKILL and restarted never gives a seq anyone saw to another envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from clubchat.chain.eip712 import Signature
from clubchat.node.mailbox import Mailbox
from clubchat.node.relay import RelayConfig
from clubchat.node.relay_log import LogSigner, RelayLog, RelayLogError, keccak
from clubchat.protocol import messages as m
from clubchat.protocol.log_entry import ZERO32, LogEntry, direct_room, log_entry_signer
from tests.node.harness import LOG_DISPUTES, LOG_NODE_KEY, LOG_OPERATOR, LOG_SIGNER, Raw, envelope, relay, run
from tests.node.process import REPO, NodeProcess

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
carol = Account.from_key("0x" + "c3" * 32)
operator, node_key, DISPUTES, SIGNER = LOG_OPERATOR, LOG_NODE_KEY, LOG_DISPUTES, LOG_SIGNER


@asynccontextmanager
async def relay_log(path: Path, **kwargs: Any) -> AsyncIterator[RelayLog]:
    log = RelayLog(path, kwargs.pop("signer", SIGNER), **kwargs)
    await log.open()
    try:
        yield log
    finally:
        await log.close()


def entry_of(obj: dict[str, Any]) -> LogEntry:
    return LogEntry.from_json(obj["entry"])


def signer_of(entry: LogEntry, sig_hex: str) -> str:
    raw = bytes.fromhex(sig_hex[2:])
    return log_entry_signer(SIGNER.domain, entry, Signature(raw[64], raw[:32], raw[32:64]))


async def signed_in(uri: str, account: Any) -> Raw:
    raw = await Raw.open(uri)
    await raw.sign_in(account)
    return raw


async def _frames_until(raw: Raw, kind: str, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Read frames until `n` of `kind` came; returns those."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(got) < n:
            obj = await raw.obj()
            if obj["type"] == kind:
                got.append(obj)
    return got


def test_accepted_envelopes_form_a_signed_chain_per_room(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite") as log, relay(RelayConfig(), log=log) as server:
            a, b = await signed_in(server.uri, alice), await signed_in(server.uri, bob)
            texts = [envelope(alice.address, bob.address, f"c{i}") for i in range(6)]
            for t in texts:
                await a.send(t)
            sent = await _frames_until(a, "sent", 6)
            logged = [r for f in await _frames_until(b, "logged", 1) for r in f["records"]]
            while len(logged) < 6:
                logged += (await _frames_until(b, "logged", 1))[0]["records"]
            entries = [entry_of(s) for s in sent]
            room = direct_room(alice.address, bob.address)
            assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
            assert all(e.room == room and e.node == operator.address for e in entries)
            assert entries[0].prev == ZERO32
            for before, after in itertools.pairwise(entries):
                assert after.prev == before.struct_hash()  # continuity
            assert [e.body for e in entries] == [keccak(t.encode()) for t in texts]  # the exact text
            # the recipient is shown the same entries, for the same envelopes
            assert [(r["id"], LogEntry.from_json(r["entry"])) for r in logged] == [
                (s["id"], e) for s, e in zip(sent, entries, strict=True)
            ]
            signed = [(e, s["sig"]) for e, s in zip(entries, sent, strict=True) if "sig" in s]
            assert signed and signed[-1][0].seq == 6  # the last entry of the last batch is signed
            assert all(signer_of(e, sig) == node_key.address for e, sig in signed)
            # a reply in the same room continues the chain; another room starts its own
            await b.send(envelope(bob.address, alice.address, "reply"))
            (reply,) = await _frames_until(b, "sent", 1)
            assert entry_of(reply).seq == 7 and entry_of(reply).prev == entries[-1].struct_hash()
            c = await Raw.open(server.uri)
            await c.sign_in(carol)
            await a.send(envelope(alice.address, carol.address, "other-room"))
            (other,) = await _frames_until(a, "sent", 1)
            assert entry_of(other).seq == 1 and entry_of(other).room == direct_room(
                alice.address, carol.address
            )

    run(scenario())


def test_every_entry_is_covered_by_a_durable_signature_within_a_second(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite") as log, relay(RelayConfig(), log=log) as server:
            a, _bob = await signed_in(server.uri, alice), await signed_in(server.uri, bob)
            n = 300
            sent_at = {}
            for i in range(n):
                sent_at[f"v{i}"] = time.monotonic()
                await a.send(envelope(alice.address, bob.address, f"v{i}"))
            acks = []
            async with asyncio.timeout(20):
                while len(acks) < n:
                    obj = await a.obj()
                    if obj["type"] == "sent":
                        acks.append((obj, time.monotonic()))
            # covered: the ack's own signature or a later signed entry of the room (through prev)
            signed_at = [t for obj, t in acks if "sig" in obj]
            assert acks[-1][0].get("sig"), "the last entry of the last batch is signed"
            cover = []
            for obj, t in acks:
                later = next(s for s in signed_at if s >= t)
                cover.append(later - sent_at[obj["id"]])
            assert max(cover) <= 1.0, max(cover)
            assert log.stats.max_cover <= 1.0
            assert log.stats.signatures < n  # batches: fewer signatures than entries
            # durable before announced: every acked entry is on disk
            db = sqlite3.connect(tmp_path / "log.sqlite")
            (count,) = db.execute("SELECT SUM(last - first + 1) FROM chunks").fetchone()
            db.close()
            assert count == n

    run(scenario())


def test_the_log_is_fsynced_before_its_entries_are_announced(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []

    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite", batch_interval=0.01) as log:
            assert log._db is not None
            assert log._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync per commit
            assert log._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

            def committed(batch: list[Any]) -> None:  # another connection already sees the rows
                other = sqlite3.connect(tmp_path / "log.sqlite")
                (head,) = other.execute("SELECT MAX(last) FROM chunks").fetchone()
                other.close()
                seen.append((batch[-1].entry.seq, head))

            log.on_committed = committed
            room = direct_room(alice.address, bob.address)
            for i in range(5):
                log.append(room, f"text {i}", alice.address.lower(), f"f{i}", None)
                await asyncio.sleep(0.03)
            await log.sync()

    run(scenario())
    assert seen and all(seq == head for seq, head in seen)


def test_while_commits_fail_the_relay_holds_a_bounded_backlog_then_refuses(tmp_path: Path) -> None:
    """A failing disk: the log keeps the entries it accepted (no `sent` until they are durable) and
    retries; once `max_pending` wait, further envelopes are refused with `history-unavailable`
    instead of being held without bound; when the disk recovers the backlog commits in order."""

    async def scenario() -> None:
        async with (
            relay_log(tmp_path / "log.sqlite", max_pending=3) as log,
            relay(RelayConfig(), log=log) as server,
        ):
            a, b = await signed_in(server.uri, alice), await signed_in(server.uri, bob)
            commit = log._commit

            def failing(batch: list[Any]) -> None:
                time.sleep(0.2)  # an attempt in progress still counts against the backlog
                raise sqlite3.OperationalError("disk I/O error")

            log._commit = failing  # type: ignore[method-assign]
            for i in range(3):
                await a.send(envelope(alice.address, bob.address, f"d{i}"))
            await _frames_until(b, "envelope", 3)  # forwarded live; entries wait for the disk
            await a.send(envelope(alice.address, bob.address, "over"))
            (error,) = await _frames_until(a, "error", 1)
            assert (error["code"], error["id"]) == ("history-unavailable", "over")
            assert log.backlogged
            log._commit = commit  # type: ignore[method-assign]
            sent = await _frames_until(a, "sent", 3)
            assert log.stats.failed_commits >= 1
            assert [(s["id"], entry_of(s).seq) for s in sent] == [("d0", 1), ("d1", 2), ("d2", 3)]
            await a.send(envelope(alice.address, bob.address, "again"))
            (later,) = await _frames_until(a, "sent", 1)
            assert entry_of(later).seq == 4 and not log.backlogged

    run(scenario())


def test_a_relay_without_a_disputes_address_says_what_to_do() -> None:
    with pytest.raises(RelayLogError, match="Disputes contract's address"):
        LogSigner.create(operator.address, bytes(node_key.key), 31337, None)


def test_a_log_of_another_operator_is_refused(tmp_path: Path) -> None:
    other = LogSigner.create(alice.address, bytes(node_key.key), 31337, DISPUTES)

    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite"):
            pass
        with pytest.raises(RelayLogError, match="own --data-dir"):
            async with relay_log(tmp_path / "log.sqlite", signer=other):
                pass

    run(scenario())


def test_history_returns_missing_entries_with_one_signature(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite") as log, relay(RelayConfig(), log=log) as server:
            a, b = await signed_in(server.uri, alice), await signed_in(server.uri, bob)
            for i in range(5):
                await a.send(envelope(alice.address, bob.address, f"h{i}"))
            sent = [entry_of(s) for s in await _frames_until(a, "sent", 5)]
            await b.send(m.encode(m.History(peer=alice.address, start=2, end=4)))
            (answer,) = await _frames_until(b, "entries", 1)
            got = [LogEntry.from_json(r["entry"]) for r in answer["records"]]
            assert got == sent[1:4]
            assert "sig" in answer["records"][-1]  # one signature covers the answer
            assert signer_of(got[-1], answer["records"][-1]["sig"]) == node_key.address
            # beyond the head: nothing to give (a client records a short answer as evidence)
            await b.send(m.encode(m.History(peer=alice.address, start=6, end=9)))
            (empty,) = await _frames_until(b, "entries", 1)
            assert empty["records"] == []
            # a range too long or reversed is refused
            await b.send(m.encode(m.History(peer=alice.address, start=1, end=1 + m.MAX_HISTORY)))
            assert (await b.obj())["code"] == "bad-range"
            await b.send(m.encode(m.History(peer=alice.address, start=3, end=2)))
            assert (await b.obj())["code"] == "bad-range"
            # only members read a room: carol asking "with alice" gets the carol-alice room (empty)
            c = await Raw.open(server.uri)
            await c.sign_in(carol)
            await c.send(m.encode(m.History(peer=alice.address, start=1, end=5)))
            assert (await _frames_until(c, "entries", 1))[0]["records"] == []

    run(scenario())


def test_history_without_a_log_is_not_offered() -> None:
    async def scenario() -> None:
        async with relay() as server:
            b = await Raw.open(server.uri)
            await b.sign_in(bob)
            await b.send(m.encode(m.History(peer=alice.address, start=1, end=2)))
            reply = await b.obj()
            assert reply["code"] == "not-offered"

    run(scenario())


def test_stored_envelopes_come_with_their_signed_entries(tmp_path: Path) -> None:
    async def scenario() -> None:
        box = Mailbox(tmp_path / "mb.sqlite")
        await box.open()
        try:
            async with (
                relay_log(tmp_path / "log.sqlite") as log,
                relay(RelayConfig(), mailbox=box, log=log) as server,
            ):
                a = await Raw.open(server.uri)
                await a.sign_in(alice)
                texts = [envelope(alice.address, bob.address, f"s{i}") for i in range(3)]
                for t in texts:
                    await a.send(t)
                sent = await _frames_until(a, "sent", 3)
                assert {s["status"] for s in sent} == {"stored"}
                b = await Raw.open(server.uri)
                await b.sign_in(bob)
                (logged,) = await _frames_until(b, "logged", 1)
                records = logged["records"]
                assert [r["id"] for r in records] == ["s0", "s1", "s2"]
                for r, s, t in zip(records, sent, texts, strict=True):
                    entry = LogEntry.from_json(r["entry"])
                    assert entry == entry_of(s) and entry.body == keccak(t.encode())
                    assert signer_of(entry, r["sig"]) == node_key.address  # each one signed
        finally:
            await box.close()

    run(scenario())


_WRITER = """
import asyncio, sys
from pathlib import Path
from clubchat.node.relay_log import LogSigner, RelayLog
signer = LogSigner.create(sys.argv[2], bytes.fromhex(sys.argv[3]), 31337, sys.argv[4])
room = bytes.fromhex(sys.argv[5])

async def main():
    log = RelayLog(Path(sys.argv[1]), signer, batch_interval=0.005)
    await log.open()
    def committed(batch):
        for a in batch:
            print(a.entry.seq, a.hash.hex(), flush=True)
    log.on_committed = committed
    i = 0
    while True:
        for _ in range(20):
            log.append(room, f"envelope {i}", "0x" + "aa" * 20, f"k{i}", None)
            i += 1
        await asyncio.sleep(0.002)

asyncio.run(main())
"""


@pytest.mark.integration
def test_a_relay_killed_with_sigkill_never_reuses_a_seq(tmp_path: Path) -> None:
    """kill -9 in the middle of a stream of batches: every seq that was announced is on disk with the
    same hash, and the restarted log continues after it."""
    room = direct_room(alice.address, bob.address)
    path = tmp_path / "log.sqlite"
    args = [path, operator.address, bytes(node_key.key).hex(), DISPUTES, room.hex()]
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    announced: dict[int, str] = {}
    deadline = time.monotonic() + 20
    while len(announced) < 400 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seq, h = line.split()
        announced[int(seq)] = h
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for line in proc.stdout:  # announced before the kill landed
        if not line.endswith("\n"):
            break  # the kill cut this announcement short: the writer never finished saying it
        seq, h = line.split()
        announced[int(seq)] = h
    assert len(announced) >= 400, "the writer did not get going"

    async def read_back() -> dict[int, str]:  # the chain as the restarted log rebuilds it from its chunks
        async with relay_log(path) as log:
            head, head_hash = log.head(room)
            chain = await log._run(log._entries, room, 1, head)
            assert [e.seq for e, _, _ in chain] == list(range(1, head + 1)) and chain[-1][1] == head_hash
            return {e.seq: h.hex() for e, h, _ in chain}

    on_disk = run(read_back())
    assert all(on_disk.get(seq) == h for seq, h in announced.items())

    async def restart() -> int:
        async with relay_log(path) as log:
            seq, _ = log.head(room)
            accepted = log.append(room, "after the restart", alice.address.lower(), "after", None)
            await log.sync()
            assert accepted.entry.prev == bytes.fromhex(on_disk[seq])
            return accepted.entry.seq

    assert run(restart()) == max(on_disk) + 1 > max(announced)


def test_struct_hash_on_the_hot_path_matches_the_spec(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite") as log:
            room = direct_room(alice.address, bob.address)
            for i in range(3):
                a = log.append(room, json.dumps({"i": i}), alice.address.lower(), f"x{i}", None)
                assert a.hash == a.entry.struct_hash()  # the eth_abi route of clubchat.protocol.log_entry
            await log.sync()

    run(scenario())


LOG_ARGS = (
    "--operator",
    operator.address,
    "--node-key",
    "0x" + bytes(node_key.key).hex(),
    "--disputes",
    DISPUTES,
)


@pytest.mark.integration
def test_a_node_process_killed_with_sigkill_continues_its_chains_after_restart(tmp_path: Path) -> None:
    """`club node run` with signed history, killed with SIGKILL while Alice streams envelopes to Bob:
    every entry Alice got in a `sent` is in the restarted node's history unchanged, and new entries
    continue after it."""
    confirmed: dict[int, LogEntry] = {}

    async def stream(uri: str, seconds: float) -> None:
        a, _bob = await signed_in(uri, alice), await signed_in(uri, bob)
        i = 0
        with contextlib.suppress(Exception):  # the kill ends it
            async with asyncio.timeout(seconds):
                while True:
                    await a.send(envelope(alice.address, bob.address, f"k{i}"))
                    i += 1
                    while True:
                        obj = await a.obj()
                        if obj["type"] == "sent":
                            e = entry_of(obj)
                            confirmed[e.seq] = e
                            break

    node = NodeProcess(tmp_path, "--kinds", "relay", *LOG_ARGS)
    killer = threading.Timer(1.5, node.kill)  # in the middle of the stream
    try:
        killer.start()
        run(stream(node.uri, 6.0))
    finally:
        killer.join()
        node.kill()
    assert len(confirmed) > 10
    node = NodeProcess(tmp_path, "--kinds", "relay", *LOG_ARGS)

    async def after() -> tuple[list[LogEntry], LogEntry]:
        a, b = await signed_in(node.uri, alice), await signed_in(node.uri, bob)
        top = max(confirmed)
        await b.send(m.encode(m.History(peer=alice.address, start=max(1, top - 200), end=top)))
        (answer,) = await _frames_until(b, "entries", 1)
        await a.send(envelope(alice.address, bob.address, "after-restart"))
        (sent,) = await _frames_until(a, "sent", 1)
        return [LogEntry.from_json(r["entry"]) for r in answer["records"]], entry_of(sent)

    try:
        history, new = run(after())
    finally:
        node.stop()
    assert all(confirmed[e.seq] == e for e in history if e.seq in confirmed)
    assert {e.seq for e in history} >= {s for s in confirmed if s >= max(1, max(confirmed) - 200)}
    assert new.seq > max(confirmed)


def test_club_node_run_says_what_signed_history_needs(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from clubchat.node.cli import node as node_cli

    runner = CliRunner()
    no_disputes = runner.invoke(node_cli, ["run", "--data-dir", str(tmp_path), "--relay-log"])
    assert no_disputes.exit_code == 2 and "Disputes contract's address" in no_disputes.output
    no_operator = runner.invoke(node_cli, ["run", "--data-dir", str(tmp_path), "--disputes", DISPUTES])
    assert no_operator.exit_code == 2 and "needs --operator" in no_operator.output
    no_key = runner.invoke(
        node_cli, ["run", "--data-dir", str(tmp_path), "--disputes", DISPUTES, "--operator", operator.address]
    )
    assert no_key.exit_code == 2 and "signed relay history needs --node-key" in no_key.output


def test_room_heads_are_bounded_in_memory_and_read_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite", batch_interval=0.001, max_heads=3) as log:
            rooms = [bytes([i]) * 32 for i in range(10)]
            for room in rooms:
                log.append(room, f"first {room.hex()}", "0x" + "aa" * 20, "id-" + room.hex()[:8], None)
            await log.sync()
            assert log.status()["rooms_in_memory"] == 3  # the rest are durable and evicted
            # A room evicted from memory continues its chain from the table: seq 2, prev = seq 1's hash.
            first_hash = log.head(rooms[0])[1]
            again = log.append(rooms[0], "second", "0x" + "aa" * 20, "id-second", None)
            assert again.entry.seq == 2 and again.entry.prev == first_hash
            assert log.status()["heads_read_back"] >= 1
            await log.sync()
            assert log.head(rooms[0]) == (2, again.hash)
            # Rooms with entries still pending are never evicted, however many rooms go by.
            pending = log.append(rooms[1], "pending", "0x" + "aa" * 20, "id-pending", None)
            log._evict()
            assert log.head(rooms[1]) == (2, pending.hash)

    run(scenario())


def test_a_batch_starts_at_once_after_a_quiet_interval_and_at_most_once_per_interval(tmp_path: Path) -> None:
    """A lone envelope is durable after its commit, not after a whole batch interval; under a stream,
    batches (and so signatures per room) come at most once per interval."""

    async def scenario() -> None:
        async with relay_log(tmp_path / "log.sqlite", batch_interval=2.0) as log:
            room = direct_room(alice.address, bob.address)
            t0 = time.monotonic()
            log.append(room, "lone", alice.address.lower(), "lone", None)
            await log.sync()
            assert time.monotonic() - t0 < 1.0  # the old schedule waited the whole 2 s first
            for i in range(5):  # a stream right after: gathered into one batch, 2 s after the first
                log.append(room, f"stream {i}", alice.address.lower(), f"s{i}", None)
                await asyncio.sleep(0.02)
            await log.sync()
            assert time.monotonic() - t0 >= 2.0
            assert log.stats.batches == 2 and log.stats.signatures == 2

    run(scenario())
