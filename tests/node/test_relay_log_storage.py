"""How the relay log stores its chains: the hand-packed struct hash, chunks (one row per room per
batch, the entries' hashes recomputed when read), the envelope index of stored envelopes only, and
logs written in the older one-row-per-entry format.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from clubchat.chain.eip712 import Signature
from clubchat.node.relay_history import SignedHistory
from clubchat.node.relay_log import RelayLog, hash_prefix, keccak, struct_hash
from clubchat.protocol.log_entry import ZERO32, LogEntry, log_entry_signer, sign_log_entry
from tests.node.harness import LOG_NODE_KEY, LOG_SIGNER, run

words = st.binary(min_size=32, max_size=32)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(addresses, words, uint64.filter(bool), words, words, uint64)
def test_the_hand_packed_struct_hash_is_the_eth_abi_one(
    node: str, room: bytes, seq: int, prev: bytes, body: bytes, time: int
) -> None:
    entry = LogEntry(node, room, seq, prev, body, time)
    assert struct_hash(hash_prefix(node), room, seq, prev, body, time) == entry.struct_hash()


def _signer(entry: LogEntry, sig: bytes) -> str:
    return log_entry_signer(LOG_SIGNER.domain, entry, Signature(sig[64], sig[:32], sig[32:64]))


ROOMS = [bytes([i + 1]) * 32 for i in range(3)]


@given(
    batches=st.lists(
        st.lists(st.tuples(st.sampled_from(range(len(ROOMS))), st.booleans()), min_size=1, max_size=8),
        min_size=1,
        max_size=5,
    ),
    ranges=st.lists(st.tuples(st.integers(1, 30), st.integers(0, 12)), min_size=1, max_size=6),
)
def test_chunks_give_back_every_entry_and_signature(
    batches: list[list[tuple[int, bool]]], ranges: list[tuple[int, int]]
) -> None:
    """Entries appended in batches (each committed as one chunk per room) come back from `history`
    exactly, for any range: same fields, the batch's signature on a room's last entry of each batch,
    and a fresh signature on the answer's last entry; `stored` holds only the stored envelopes."""

    async def scenario(path: Path) -> None:
        log = RelayLog(path, LOG_SIGNER, batch_interval=3600)
        await log.open()
        try:
            appended: dict[bytes, list[LogEntry]] = {room: [] for room in ROOMS}
            sigs: dict[tuple[bytes, int], bytes] = {}
            stored = set()
            accepted = []
            n = 0
            for batch in batches:
                for room_i, is_stored in batch:
                    room = ROOMS[room_i]
                    a = log.append(room, f"envelope {n}", "0x" + "aa" * 20, f"id{n}", None, stored=is_stored)
                    accepted.append(a)
                    appended[room].append(a.entry)
                    if is_stored:
                        stored.add(("0x" + "aa" * 20, f"id{n}", room, a.seq))
                    n += 1
                await log._commit_pending()
            for a in accepted:
                if a.sig is not None:
                    sigs[(a.room, a.seq)] = a.sig
            for room, chain in appended.items():  # the chain as appended is continuous
                prev = ZERO32
                for e in chain:
                    assert e.prev == prev
                    prev = e.struct_hash()
                assert log.head(room) == ((chain[-1].seq, prev) if chain else (0, ZERO32))
            for room in ROOMS:
                for start, length in ranges:
                    got = await log.history(room, start, start + length)
                    want = [e for e in appended[room] if start <= e.seq <= start + length]
                    assert [e for e, _ in got] == want
                    for i, (e, sig) in enumerate(got):
                        if i < len(got) - 1:
                            assert sig == sigs.get((room, e.seq))  # only where its batch signed it
                        else:
                            assert sig is not None and _signer(e, sig) == LOG_NODE_KEY.address
            assert log._db is not None
            assert set(log._db.execute("SELECT sender, id, room, seq FROM stored").fetchall()) == stored
            chunks = log._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            assert chunks == sum(len({r for r, _ in batch}) for batch in batches)  # one per room per batch
        finally:
            await log.close()

    with tempfile.TemporaryDirectory() as tmp:
        run(scenario(Path(tmp) / "log.sqlite"))


# The format before chunks: one row per entry, every entry findable by (sender, id).
_OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    room BLOB NOT NULL, seq INTEGER NOT NULL, prev BLOB NOT NULL, body BLOB NOT NULL, time INTEGER NOT NULL,
    hash BLOB NOT NULL, sig BLOB, sender TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (room, seq)
) WITHOUT ROWID;
CREATE INDEX entries_envelope ON entries (sender, id);
CREATE TABLE heads (room BLOB PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL) WITHOUT ROWID;
"""


def test_a_log_in_the_one_row_per_entry_format_is_read_and_continued(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    room = ROOMS[0]
    chain: list[LogEntry] = []
    prev = ZERO32
    for seq in range(1, 6):
        e = LogEntry(LOG_SIGNER.operator, room, seq, prev, keccak(f"old {seq}".encode()), 1_700_000_000 + seq)
        chain.append(e)
        prev = e.struct_hash()
    old_sig = sign_log_entry(bytes(LOG_NODE_KEY.key), LOG_SIGNER.domain, chain[2])
    sig3 = bytes(old_sig.r + old_sig.s + bytes([old_sig.v]))
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("node", LOG_SIGNER.operator), ("domain", repr(LOG_SIGNER.domain.as_typed_data()))],
    )
    db.executemany(
        "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                room,
                e.seq,
                e.prev,
                e.body,
                e.time,
                e.struct_hash(),
                sig3 if e.seq == 3 else None,
                "0x" + "bb" * 20,
                f"o{e.seq}",
            )
            for e in chain
        ],
    )
    db.execute("INSERT INTO heads VALUES (?, ?, ?)", (room, 5, chain[-1].struct_hash()))
    db.commit()
    db.close()

    async def scenario() -> None:
        log = RelayLog(path, LOG_SIGNER, batch_interval=0.01)
        await log.open()
        try:
            got = await log.history(room, 1, 5)
            assert [e for e, _ in got] == chain
            assert [sig for _, sig in got][:4] == [None, None, sig3, None]  # the signature it had
            assert got[-1][1] is not None and _signer(chain[-1], got[-1][1]) == LOG_NODE_KEY.address
            found = await log.entries_for([("0x" + "bb" * 20, "o2")])
            entry, sig = found[("0x" + "bb" * 20, "o2")]
            assert entry == chain[1] and _signer(entry, sig) == LOG_NODE_KEY.address
            new = log.append(room, "new", "0x" + "bb" * 20, "n1", None)
            assert new.seq == 6 and new.prev == chain[-1].struct_hash()
            await log.sync()
            assert [e for e, _ in await log.history(room, 5, 6)] == [chain[-1], new.entry]
            assert log._db is not None
            assert log._db.execute("SELECT name FROM sqlite_master WHERE name = 'entries'").fetchone() is None
        finally:
            await log.close()

    run(scenario())


@given(
    words, st.integers(1, 2**64 - 1), words, words, uint64, st.none() | st.binary(min_size=65, max_size=65)
)
def test_hand_written_entry_frames_are_the_json_encoders(
    room: bytes, seq: int, prev: bytes, body: bytes, time: int, sig: bytes | None
) -> None:
    """The `sent` / `logged` texts the relay writes by hand are exactly `json.dumps` of the entry."""

    class _Relay:  # SignedHistory reads nothing else of it here
        pass

    class _Log:
        signer = LOG_SIGNER
        on_committed = None

    history = SignedHistory(_Relay(), _Log())  # type: ignore[arg-type]
    entry = LogEntry(LOG_SIGNER.operator, room, seq, prev, body, time)
    assert history.entry_json(entry) == json.dumps(entry.to_json(), separators=(",", ":"))
    record = {"id": "m-1", "from": "0x" + "ab" * 20, "entry": entry.to_json()}
    if sig is not None:
        record["sig"] = "0x" + sig.hex()
    assert history.record("m-1", "0x" + "ab" * 20, entry, sig) == json.dumps(record, separators=(",", ":"))


def test_an_envelope_id_used_again_in_another_room_is_stored_and_found(tmp_path: Path) -> None:
    """A sender may use an id again once the replay window is over, to someone else; both stored
    entries go in (same seq in two rooms included: no commit fails), and the hand-out finds a
    signed entry for it."""

    async def scenario() -> None:
        log = RelayLog(tmp_path / "log.sqlite", LOG_SIGNER, batch_interval=3600)
        await log.open()
        try:
            sender = "0x" + "aa" * 20
            first = log.append(ROOMS[0], "to bob", sender, "same-id", None, stored=True)
            await log._commit_pending()
            again = log.append(ROOMS[1], "to carol", sender, "same-id", None, stored=True)
            await log._commit_pending()
            assert first.seq == again.seq == 1 and log.stats.failed_commits == 0
            entry, sig = (await log.entries_for([(sender, "same-id")]))[(sender, "same-id")]
            assert entry.room in (ROOMS[0], ROOMS[1]) and _signer(entry, sig) == LOG_NODE_KEY.address
        finally:
            await log.close()

    run(scenario())
