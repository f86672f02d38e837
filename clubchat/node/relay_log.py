"""Signed relay history: every envelope a relay accepts gets a place in its room's hash chain.

A room is a community room id or, for a direct conversation, `direct_room(from, to)` (envelopes carry
no room id yet, so today every room is a direct one). Each accepted envelope becomes a `LogEntry`
(clubchat.protocol.log_entry) with the next `seq` of its room, `prev` = the previous entry's struct
hash and `body` = keccak256 of the envelope's exact text. The relay signs with its registered node
key, for the operator (`node`), in the Disputes contract's EIP-712 domain.

Batches, durability, and why a seq is never signed twice:
- `append` (the forwarding hot path, on the event loop) assigns the seq in memory and returns at
  once; nothing about the entry leaves the relay yet.
- The pending entries go to one SQLite transaction on the log's own thread, a batch at most every
  `batch_interval` s (0.05 by default) and at once when the last batch began longer ago than that
  (a lone envelope waits only for its commit; under load a batch gathers for `batch_interval`).
  The last entry of each room in the batch is signed (one signature covers the entries before it
  through `prev`), each room's entries of the batch are written as one row (a chunk: the first
  entry's `prev`, then `body` and `time` of each entry; the other fields follow from the chain and
  are recomputed when read), the new heads are written, and the commit returns after fsync (WAL,
  synchronous=FULL). Only then does `on_committed` hand the entries (and signatures) to the relay,
  which sends them with the `sent` acknowledgements and to the recipients. So every accepted
  envelope is covered by a signed, durable entry within `batch_interval` + one commit (well under
  the 1 s the protocol promises; `max_cover` measures it).
- A crash loses only seqs that were never published; a restarted relay continues from the persisted
  heads, so no seq anyone has seen is ever assigned to a different envelope.
- Room heads in memory are bounded (`max_heads`, least recently used first): a head leaves memory
  only once its entry is durable and no entry of its room is pending, and a room not in memory
  reads its head back from the `heads` table before its next seq is assigned.
- Re-signing a persisted entry (for the mailbox hand-out, or for `history`) signs the same struct
  hash again: never a conflicting statement.

`fork_for_tests` makes the relay misbehave on purpose (tests and the demo only; no CLI option sets
it): every entry is also shown to the recipients in a second, different but self-consistent chain
(its `time` one second later), signed too, so the two members of a room hold conflicting signed
entries for the same (room, seq) — the evidence the Disputes contract slashes for.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coincurve import PrivateKey
from eth_utils import to_checksum_address

from clubchat.aio import cancel_and_wait
from clubchat.chain.eip712 import Domain
from clubchat.protocol.log_entry import LOG_ENTRY_TYPEHASH, ZERO32, LogEntry, log_domain

try:  # libkeccak through pysha3: ~4x faster than pycryptodome's keccak on short inputs (hot path)
    from _pysha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return _keccak_256(data).digest()

except ImportError:  # pragma: no cover - the slower, always-present route
    from eth_utils import keccak as _eth_keccak

    def keccak(data: bytes) -> bytes:
        return bytes(_eth_keccak(data))


log = logging.getLogger("clubchat.relay_log")

Signed = tuple[LogEntry, bytes]  # an entry and a 65-byte signature over it

MAX_HISTORY = 256  # entries one `history` answer carries at most
MAX_HEADS = 100_000  # room heads kept in memory (about 150 bytes each); the rest are read back
# Entries waiting for their commit (~400 bytes each): a batch holds what 50 ms brought, so the queue
# reaches this only while commits fail; then envelopes are refused rather than held without bound.
MAX_PENDING = 50_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    room  BLOB    NOT NULL,  -- 32 bytes
    first INTEGER NOT NULL,  -- seq of the chunk's first entry (seqs count 1, 2, ... per room)
    last  INTEGER NOT NULL,  -- seq of its last entry
    prev  BLOB    NOT NULL,  -- struct hash of entry first - 1 (zero for seq 1)
    data  BLOB    NOT NULL,  -- per entry, in seq order: body (32 bytes) || time (8 bytes, big-endian)
    sig   BLOB,              -- 65 bytes r||s||v over entry `last` when its batch signed it
    PRIMARY KEY (room, first)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stored (  -- the entries of envelopes the mailbox keeps, by envelope
    sender TEXT    NOT NULL,  -- lower-case address of the envelope's `from`
    id     TEXT    NOT NULL,  -- the envelope id
    room   BLOB    NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (sender, id, room, seq)  -- (room, seq) alone is unique: an id a sender uses again
) WITHOUT ROWID;                         -- (after the replay window, to someone else) never collides
CREATE TABLE IF NOT EXISTS heads (
    room BLOB PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
) WITHOUT ROWID;
"""
CHUNK_ENTRY = 40  # bytes per entry in a chunk's `data`: body (32) and time (8)


def _migrate(db: sqlite3.Connection) -> None:
    """A log written before chunks kept one `entries` row per entry: each becomes a one-entry chunk
    (with the signature it had) and is findable by envelope; then the old table goes. One transaction."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").fetchone() is None:
        return
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO chunks (room, first, last, prev, data, sig) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (room, seq, seq, prev, bytes(body) + int(t).to_bytes(8, "big"), sig)
                for room, seq, prev, body, t, sig in db.execute(
                    "SELECT room, seq, prev, body, time, sig FROM entries"
                )  # bound: the old table, once
            ),
        )
        db.execute("INSERT INTO stored (sender, id, room, seq) SELECT sender, id, room, seq FROM entries")
        db.execute("DROP TABLE entries")


class RelayLogError(RuntimeError):
    """The relay log cannot run as configured (a sentence saying what to do)."""

    @classmethod
    def no_disputes(cls) -> RelayLogError:
        return cls(
            "signed relay history needs the Disputes contract's address (its EIP-712 verifyingContract):"
            " use a deployment manifest with Disputes, or pass --disputes ADDRESS (or --no-relay-log)"
        )


@dataclass(frozen=True)
class LogSigner:
    """Who signs: the operator (`node` of every entry), its registered node key, and the domain."""

    operator: str
    node_key: bytes  # 32-byte secp256k1 private key, registered as the operator's node key
    domain: Domain

    @classmethod
    def create(cls, operator: str, node_key: bytes, chain_id: int, disputes: str | None) -> LogSigner:
        """The signer; RelayLogError when there is no Disputes address to bind the domain to."""
        if not disputes:
            raise RelayLogError.no_disputes()
        return cls(to_checksum_address(operator), node_key, log_domain(chain_id, disputes))

    @property
    def key_address(self) -> str:
        pub = PrivateKey(self.node_key).public_key.format(compressed=False)[1:]
        return to_checksum_address(keccak(pub)[12:])


class Accepted:
    """One accepted envelope's entry on its way to disk and to the room's members. The entry's fields
    are kept as plain attributes (a `LogEntry`, with its checks, is built only when asked for): this
    object is made once per forwarded envelope."""

    __slots__ = (
        "_node",
        "accepted_at",
        "body",
        "hash",
        "id",
        "notify",
        "prev",
        "room",
        "sender",
        "seq",
        "shadow",
        "shadow_sig",
        "sig",
        "stored",
        "time",
    )

    def __init__(
        self,
        node: str,
        room: bytes,
        seq: int,
        prev: bytes,
        body: bytes,
        time: int,
        hash: bytes,
        sender: str,
        id: str,
        notify: Any,
        accepted_at: float,
    ) -> None:
        self._node = node  # the operator (EIP-55), `node` of the entry
        self.room = room
        self.seq = seq
        self.prev = prev
        self.body = body
        self.time = time
        self.hash = hash  # the entry's struct hash
        self.sender = sender  # lower-case address
        self.id = id  # envelope id
        self.notify = notify  # what the relay needs to tell the sender and recipients (opaque here)
        self.accepted_at = accepted_at  # monotonic seconds, for `max_cover`
        self.sig: bytes | None = None  # 65 bytes, when this is its room's last entry of the batch
        self.shadow: LogEntry | None = None  # fork_for_tests: what the recipients are shown instead
        self.shadow_sig: bytes | None = None
        self.stored = False  # kept by the mailbox: findable by (sender, id) for its hand-out

    @property
    def entry(self) -> LogEntry:
        return LogEntry(self._node, self.room, self.seq, self.prev, self.body, self.time)


@dataclass
class _Head:
    seq: int
    hash: bytes


@dataclass
class LogStats:
    batches: int = 0
    entries: int = 0
    signatures: int = 0
    max_cover: float = 0.0  # longest accept -> durable and signed, seconds
    failed_commits: int = 0
    history_served: int = 0
    heads_read: int = 0  # heads read back from the table (rooms evicted from memory)


def hash_prefix(operator: str) -> bytes:
    """What every struct hash of `operator`'s entries starts with: the typehash and the node word
    (the address left-padded to 32 bytes)."""
    return LOG_ENTRY_TYPEHASH + bytes(12) + bytes.fromhex(operator[2:])


def struct_hash(prefix: bytes, room: bytes, seq: int, prev: bytes, body: bytes, time: int) -> bytes:
    """`LogEntry.struct_hash` without eth_abi (the hot path): every field of the type is one 32-byte
    word (bytes32 as is, uint64 big-endian), so the ABI encoding is their concatenation after
    `prefix` (`hash_prefix`)."""
    return keccak(b"".join((prefix, room, seq.to_bytes(32, "big"), prev, body, time.to_bytes(32, "big"))))


class RelayLog:
    """Per-room hash chains of accepted envelopes, persisted in SQLite and signed in batches."""

    def __init__(
        self,
        path: Path | str,
        signer: LogSigner,
        *,
        batch_interval: float = 0.05,
        clock: Callable[[], float] = time.time,
        fork_for_tests: bool = False,
        max_heads: int = MAX_HEADS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.path = Path(path)
        self.signer = signer
        self.batch_interval = batch_interval
        self.clock = clock
        self.fork_for_tests = fork_for_tests
        self.stats = LogStats()
        self.on_committed: Callable[[list[Accepted]], None] = lambda batch: None
        self._digest_prefix = b"\x19\x01" + signer.domain.separator()
        self._hash_prefix = hash_prefix(signer.operator)
        self._key = PrivateKey(signer.node_key)
        # Room heads in memory: the most recently used `max_heads` (LRU). Every head is in the
        # `heads` table once its entry is durable; only durable heads are evicted, and a room not in
        # memory reads its head back from there, so a seq is never reused.
        self.max_heads = max_heads
        self._heads: OrderedDict[bytes, _Head] = OrderedDict()
        self._reader: sqlite3.Connection | None = None  # reads evicted heads on the hot path
        self._shadow_heads: dict[bytes, _Head] = {}
        self._pending: list[Accepted] = []
        self.max_pending = max_pending
        self._wake = asyncio.Event()
        self._committed = asyncio.Condition()
        self._appended = 0  # entries appended so far
        self._durable = 0  # entries committed so far (in order: a batch is a prefix of what is left)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-log")
        self._db: sqlite3.Connection | None = None
        self._flusher: asyncio.Task[None] | None = None

    # -- life cycle -------------------------------------------------------------------------------

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def open(self) -> None:
        await self._run(self._open)
        self._flusher = asyncio.create_task(self._flush_loop())

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # fsync on every commit: a head is durable before any ack
        db.executescript(_SCHEMA)
        _migrate(db)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        mine = {"node": self.signer.operator, "domain": repr(self.signer.domain.as_typed_data())}
        if not meta:
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", mine.items())
        elif meta != mine:
            db.close()
            raise RelayLogError(
                f"{self.path} is the relay log of {meta.get('node')} in domain {meta.get('domain')};"
                " give this node its own --data-dir (a log's chains belong to one operator and one domain)"
            )
        self._db = db
        # Heads are read back on demand (the table may hold far more rooms than memory does).
        self._reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)

    async def close(self) -> None:
        """Commit what is pending, then stop."""
        if self._flusher is not None:
            await cancel_and_wait([self._flusher])
            self._flusher = None
        if self._pending and self._db is not None:
            await self._commit_pending()
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._pool.shutdown(wait=True)

    # -- the hot path -----------------------------------------------------------------------------

    def append(
        self, room: bytes, text: str, sender: str, id: str, notify: Any, stored: bool = False
    ) -> Accepted:
        """Give an accepted envelope the next place in `room` (in memory; durable with its batch);
        `stored`: the mailbox keeps it, so its hand-out will look its entry up by (sender, id)."""
        now = int(self.clock())
        head = self._heads.get(room)
        if head is not None:
            self._heads.move_to_end(room)
        else:
            head = self._read_head(room)
        if head is None:
            seq, prev = 1, ZERO32
        else:
            seq, prev = head.seq + 1, head.hash
        body = keccak(text.encode())
        h = struct_hash(self._hash_prefix, room, seq, prev, body, now)
        if head is None:
            self._heads[room] = _Head(seq, h)
        else:
            head.seq, head.hash = seq, h
        accepted = Accepted(
            self.signer.operator, room, seq, prev, body, now, h, sender, id, notify, time.monotonic()
        )
        if stored:
            accepted.stored = True
        if self.fork_for_tests:
            accepted.shadow = self._shadow(room, accepted.entry)
        self._pending.append(accepted)
        self._appended += 1
        if not self._wake.is_set():
            self._wake.set()
        return accepted

    def _cached_head(self, room: bytes) -> _Head | None:
        """The room's head from memory, or read back from the `heads` table (then kept in memory)."""
        head = self._heads.get(room)
        if head is not None:
            self._heads.move_to_end(room)
            return head
        return self._read_head(room)

    def _read_head(self, room: bytes) -> _Head | None:
        """A head not in memory, from the `heads` table (then kept in memory); None: a new room."""
        if self._reader is None:
            return None
        row = self._reader.execute("SELECT seq, hash FROM heads WHERE room = ?", (room,)).fetchone()
        if row is None:
            return None
        self.stats.heads_read += 1
        head = self._heads[room] = _Head(int(row[0]), bytes(row[1]))
        return head

    def _evict(self) -> None:
        """Forgets the least recently used heads beyond `max_heads` whose entries are all durable."""
        if len(self._heads) <= self.max_heads:
            return
        waiting = {a.room for a in self._pending}
        for room in list(self._heads):  # bound: the heads in memory, once
            if len(self._heads) <= self.max_heads:
                break
            if room not in waiting:
                del self._heads[room]

    def _shadow(self, room: bytes, entry: LogEntry) -> LogEntry:
        """fork_for_tests: the same envelope at the same seq in a second chain (time + 1)."""
        head = self._shadow_heads.get(room)
        prev = head.hash if head is not None else ZERO32
        shadow = LogEntry(entry.node, room, entry.seq, prev, entry.body, entry.time + 1)
        h = struct_hash(self._hash_prefix, room, shadow.seq, prev, shadow.body, shadow.time)
        self._shadow_heads[room] = _Head(shadow.seq, h)
        return shadow

    @property
    def backlogged(self) -> bool:
        """True when `max_pending` entries are not yet durable: the relay then refuses new envelopes
        (`history-unavailable`) instead of holding more in memory. Normal batches empty the queue every
        `batch_interval`; it fills only while commits fail (a full or failing disk), which are retried."""
        return self._appended - self._durable >= self.max_pending  # queued or in a commit attempt

    def head(self, room: bytes) -> tuple[int, bytes]:
        """(seq, struct hash) of the room's latest entry, (0, zero) for a room with none."""
        head = self._cached_head(room)
        return (head.seq, head.hash) if head is not None else (0, ZERO32)

    # -- batches ----------------------------------------------------------------------------------

    def sign_digest(self, entry_hash: bytes) -> bytes:
        """65-byte r||s||v (v 27/28, low s: libsecp256k1) over the EIP-712 digest of a struct hash."""
        raw = self._key.sign_recoverable(keccak(self._digest_prefix + entry_hash), hasher=None)
        return raw[:64] + bytes([raw[64] + 27])

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        started = -math.inf
        while True:  # owned by open/close
            await self._wake.wait()
            wait = started + self.batch_interval - loop.time()
            if wait > 0:  # let a batch gather: at most one batch (one signature per room) per interval
                await asyncio.sleep(wait)
            self._wake.clear()
            started = loop.time()
            await self._commit_pending()

    async def _commit_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self._run(self._commit, batch)
        except (sqlite3.Error, OSError) as exc:
            # Nothing of this batch was published: keep it (in order) and try again; the senders
            # get no `sent` until it is durable.
            self.stats.failed_commits += 1
            log.error("relay log: commit failed (%s); retrying in 1 s", exc)
            self._pending[:0] = batch
            await asyncio.sleep(1.0)
            self._wake.set()
            return
        now = time.monotonic()
        cover = now - batch[0].accepted_at
        self.stats.max_cover = max(self.stats.max_cover, cover)
        self.stats.batches += 1
        self.stats.entries += len(batch)
        async with self._committed:
            self._durable += len(batch)
            self._committed.notify_all()
        self._evict()
        try:
            self.on_committed(batch)
        except Exception:  # a relay bug must not stop the log
            log.exception("relay log: delivering signed entries failed")

    def _commit(self, batch: list[Accepted]) -> None:
        """On the log's thread: sign each room's last entry, write entries and heads, commit (fsync)."""
        db = self._db
        if db is None:
            raise sqlite3.OperationalError("relay log is closed")
        last: dict[bytes, Accepted] = {}
        for a in batch:  # bound: the batch
            last[a.room] = a
            if a.shadow is not None:
                s = a.shadow
                a.shadow_sig = self.sign_digest(
                    struct_hash(self._hash_prefix, s.room, s.seq, s.prev, s.body, s.time)
                )
        for a in last.values():  # bound: rooms in the batch; libsecp256k1 releases the GIL
            a.sig = self.sign_digest(a.hash)
        self.stats.signatures += len(last)
        chunks: dict[bytes, tuple[Accepted, list[bytes]]] = {}
        for a in batch:  # bound: the batch; a room's entries in a batch have consecutive seqs
            chunk = chunks.get(a.room)
            if chunk is None:
                chunks[a.room] = (a, [a.body + a.time.to_bytes(8, "big")])
            else:
                chunk[1].append(a.body + a.time.to_bytes(8, "big"))
        rows = [
            (room, first.seq, last[room].seq, first.prev, b"".join(data), last[room].sig)
            for room, (first, data) in chunks.items()
        ]
        stored = [(a.sender, a.id, a.room, a.seq) for a in batch if a.stored]
        heads = [(a.room, a.seq, a.hash) for a in last.values()]
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO chunks (room, first, last, prev, data, sig) VALUES (?, ?, ?, ?, ?, ?)", rows
            )
            if stored:
                db.executemany("INSERT INTO stored (sender, id, room, seq) VALUES (?, ?, ?, ?)", stored)
            db.executemany(
                "INSERT INTO heads (room, seq, hash) VALUES (?, ?, ?)"
                " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                heads,
            )

    async def sync(self) -> None:
        """Return once everything appended so far is durable (and signed where its batch ends)."""
        target = self._appended
        if self._durable >= target:
            return
        self._wake.set()
        async with self._committed:
            await self._committed.wait_for(lambda: self._durable >= target)

    # -- reading the log back ---------------------------------------------------------------------

    async def history(self, room: bytes, start: int, end: int) -> list[tuple[LogEntry, bytes | None]]:
        """Durable entries of `room` with start <= seq <= end (at most MAX_HISTORY), in seq order, with
        the signatures their batches had; the last one is always signed (a new signature over the
        same entry when its batch did not end there), so one signature covers the whole answer."""
        await self.sync()
        end = min(end, start + MAX_HISTORY - 1)
        rows: list[tuple[LogEntry, bytes | None]] = await self._run(self._history, room, start, end)
        self.stats.history_served += len(rows)
        return rows

    def _entries(self, room: bytes, start: int, end: int) -> list[tuple[LogEntry, bytes, bytes | None]]:
        """(entry, struct hash, signature its batch gave it) for the durable entries of `room` with
        start <= seq <= end, in seq order, rebuilt from the chunks that hold them."""
        db = self._db
        assert db is not None
        cur = db.execute(
            "SELECT first, last, prev, data, sig FROM chunks WHERE room = ? AND first <= ? AND first >="
            " COALESCE((SELECT first FROM chunks WHERE room = ? AND first <= ? ORDER BY first DESC LIMIT 1),"
            " 1)"
            " ORDER BY first",
            (room, end, room, start),
        )
        out: list[tuple[LogEntry, bytes, bytes | None]] = []
        for (
            first,
            last,
            prev,
            data,
            sig,
        ) in cur.fetchall():  # bound: chunks holding <= end - start + 1 entries
            prev = bytes(prev)
            for seq in range(first, min(last, end) + 1):  # bound: the chunk's entries up to `end`
                i = (seq - first) * CHUNK_ENTRY
                body, t = bytes(data[i : i + 32]), int.from_bytes(data[i + 32 : i + CHUNK_ENTRY], "big")
                h = struct_hash(self._hash_prefix, room, seq, prev, body, t)
                if seq >= start:
                    entry = LogEntry(self.signer.operator, room, seq, prev, body, t)
                    out.append((entry, h, bytes(sig) if seq == last and sig is not None else None))
                prev = h
        return out

    def _history(self, room: bytes, start: int, end: int) -> list[tuple[LogEntry, bytes | None]]:
        out = [(entry, sig) for entry, _, sig in self._entries(room, start, end)]  # bound: MAX_HISTORY
        if out and out[-1][1] is None:  # one signature per answer at most: bounded work per request
            entry = out[-1][0]
            out[-1] = (entry, self.sign_digest(entry.struct_hash()))
        return out

    async def entries_for(
        self, envelopes: list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[LogEntry, bytes]]:
        """The signed entries of envelopes by (lower-case sender, id) — for the mailbox hand-out;
        envelopes stored before the log existed have none."""
        if not envelopes:
            return {}
        await self.sync()
        found: dict[tuple[str, str], Signed] = await self._run(self._entries_for, envelopes)
        return found

    def _entries_for(self, envelopes: list[tuple[str, str]]) -> dict[tuple[str, str], Signed]:
        db = self._db
        assert db is not None
        out = {}
        for sender, id in envelopes:  # bound: one hand-out batch
            row = db.execute(
                "SELECT room, seq FROM stored WHERE sender = ? AND id = ? ORDER BY seq DESC LIMIT 1",
                (sender, id),
            ).fetchone()
            if row is None:
                continue
            room, seq = bytes(row[0]), row[1]
            found = self._entries(room, seq, seq)
            if not found:
                continue
            entry, h, sig = found[0]
            out[(sender, id)] = (entry, sig if sig is not None else self.sign_digest(h))
        return out

    def status(self) -> dict[str, Any]:
        s = self.stats
        return {
            "rooms_in_memory": len(self._heads),
            "heads_read_back": s.heads_read,
            "pending": len(self._pending),
            "batches": s.batches,
            "entries": s.entries,
            "signatures": s.signatures,
            "max_cover_s": round(s.max_cover, 4),
            "failed_commits": s.failed_commits,
            "history_served": s.history_served,
        }
