"""NOTIFY node's offline mailbox: envelopes for addresses that are not connected, in SQLite (WAL).

A stored envelope survives a crash (`kill -9`) once `store` has returned: the write is committed
with `synchronous=FULL`. It is handed out on every sign-in of its recipient until the recipient
acknowledges it (`delete`) or it is older than the operator's retention (`MailboxLimits.retention`,
removed by a periodic sweep). All SQLite work runs on one dedicated thread so the event loop never
blocks on disk.

Anyone with a (free) wallet may store, so every store passes quotas first (`MailboxLimits`): per
sender and recipient (one sender cannot lock others out of a mailbox), per recipient, per sender and
day, a total size cap for the node and a free-disk reserve. The bytes held for one recipient are
capped by the recipient's premium tier (`mailbox_quota_bytes`, passed by the relay from its tier
cache) when the relay knows the tiers, else by `per_recipient_bytes`. A refused store says which quota in its
reason (`REASON_*`); a disk that fills anyway gives the same `full` answer, never an exception.

Hand-out (`HandOut`): a signed-in recipient gets its stored envelopes within a budget of
unacknowledged bytes and envelopes, and the next ones as its acks come in, so 200 large stored
envelopes never overflow the relay's slow-reader limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from clubchat.aio import cancel_and_wait

log = logging.getLogger("clubchat.mailbox")

DAY = 86_400

# Reasons of a refused store; each starts with a tag a client can match (the error code is `mailbox-full`).
REASON_SENDER = "sender-quota"  # this sender holds enough unread envelopes for this recipient
REASON_RECIPIENT = "recipient-quota"  # the recipient's mailbox is full (count or bytes)
REASON_DAILY = "daily-quota"  # this sender stored its allowance for today (UTC day)
REASON_NODE = "node-full"  # the node's total mailbox size cap is reached
REASON_DISK = "disk-full"  # the disk is (nearly) full

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mailbox (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT    NOT NULL,   -- lower-case address
    sender    TEXT    NOT NULL,   -- lower-case address
    id        TEXT    NOT NULL,   -- envelope id, unique per sender
    frame     TEXT    NOT NULL,   -- the envelope's JSON text, forwarded unchanged
    stored_at INTEGER NOT NULL,   -- unix seconds
    UNIQUE (recipient, sender, id)
);
CREATE INDEX IF NOT EXISTS mailbox_recipient ON mailbox (recipient, seq);
-- what each sender stored per UTC day (kept after the envelopes are acked: a daily allowance)
CREATE TABLE IF NOT EXISTS sender_day (
    sender   TEXT    NOT NULL,    -- lower-case address
    day      INTEGER NOT NULL,    -- unix seconds // 86400
    messages INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    PRIMARY KEY (sender, day)
);
"""
# Added after the first release; `_open` migrates older databases.
_SIZE_COLUMN = "size INTEGER NOT NULL DEFAULT 0"  # bytes of `frame` (UTF-8)
_STORED_AT_INDEX = "CREATE INDEX IF NOT EXISTS mailbox_stored_at ON mailbox (stored_at)"


@dataclass(frozen=True)
class MailboxLimits:
    """Operator limits of the mailbox; defaults fit a small machine (1-2 GB of disk for the mailbox)."""

    per_recipient: int = 1_000  # envelopes held for one recipient
    per_recipient_bytes: int = 16 * 2**20  # bytes held for one recipient
    per_sender_per_recipient: int = 100  # envelopes one sender may hold for one recipient
    per_sender_per_day: int = 2_000  # envelopes one sender may store per UTC day
    per_sender_bytes_per_day: int = 64 * 2**20  # bytes one sender may store per UTC day
    total_bytes: int = 1 * 2**30  # all envelopes of the node together, bytes of envelope text
    min_free_disk: int = 128 * 2**20  # refuse stores when the disk has less free space, bytes
    retention: int = 7 * DAY  # seconds an envelope is kept when its recipient never acks it
    sweep_interval: float = 300.0  # seconds between sweeps of expired envelopes
    handout_count: int = 1_000  # unacknowledged envelopes handed to one connection at a time
    handout_bytes: int = 1 * 2**20  # unacknowledged bytes handed to one connection at a time

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"mailbox limit {name} must be positive, got {value}")


@dataclass(frozen=True)
class StoreResult:
    """Answer of `Mailbox.store`: `reason` (a `REASON_*` tag and a sentence) when `full`."""

    status: Literal["stored", "duplicate", "full"]
    reason: str = ""


@dataclass(frozen=True)
class Held:
    """One stored envelope as `Mailbox.batch` returns it."""

    seq: int
    sender: str
    id: str
    size: int
    frame: str


class Mailbox:
    """Durable store-until-acknowledged queue per recipient, with quotas and expiry."""

    def __init__(
        self,
        path: Path | str,
        limits: MailboxLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.limits = limits or MailboxLimits()
        self.clock = clock
        self.total_bytes = 0  # bytes of all held envelopes; kept in step by the mailbox thread
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailbox")
        self._db: sqlite3.Connection | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def open(self) -> None:
        await self._run(self._open)
        self._sweeper = asyncio.create_task(self._sweep_loop())

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed store survives power loss, not only kill -9
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA journal_size_limit=8388608")  # the WAL shrinks back to 8 MiB after checkpoints
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(mailbox)")}
        if "size" not in columns:  # a database from before the quotas
            db.execute(f"ALTER TABLE mailbox ADD COLUMN {_SIZE_COLUMN}")
            db.execute("UPDATE mailbox SET size = length(CAST(frame AS BLOB))")
        db.execute(_STORED_AT_INDEX)
        self.total_bytes = int(db.execute("SELECT COALESCE(SUM(size), 0) FROM mailbox").fetchone()[0])
        self._db = db

    async def close(self) -> None:
        if self._sweeper is not None:
            await cancel_and_wait([self._sweeper])
            self._sweeper = None
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("mailbox: open() it first")
        return self._db

    # -- store ------------------------------------------------------------------------------------

    async def store(
        self, recipient: str, sender: str, id: str, frame: str, recipient_bytes: int | None = None
    ) -> StoreResult:
        """Store durably unless a quota refuses; "duplicate" when this envelope is already held.
        `recipient_bytes`: the recipient tier's mailbox quota (None: `per_recipient_bytes`)."""
        result: StoreResult = await self._run(
            self._store, recipient.lower(), sender.lower(), id, frame, recipient_bytes
        )
        return result

    def _store(
        self, recipient: str, sender: str, id: str, frame: str, recipient_bytes: int | None = None
    ) -> StoreResult:
        db = self._conn()
        size = len(frame.encode())
        now = int(self.clock())
        try:
            with db:  # one transaction: the quota checks and the insert see the same state
                db.execute("BEGIN IMMEDIATE")
                held = db.execute(
                    "SELECT 1 FROM mailbox WHERE recipient = ? AND sender = ? AND id = ?",
                    (recipient, sender, id),
                ).fetchone()
                if held is not None:
                    return StoreResult("duplicate")
                refused = self._quota(db, (recipient, recipient_bytes), sender, size, now)
                if refused is not None:
                    return StoreResult("full", refused)
                db.execute(
                    "INSERT INTO mailbox (recipient, sender, id, frame, stored_at, size)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (recipient, sender, id, frame, now, size),
                )
                db.execute(
                    "INSERT INTO sender_day (sender, day, messages, bytes) VALUES (?, ?, 1, ?)"
                    " ON CONFLICT (sender, day) DO UPDATE SET messages = messages + 1, bytes = bytes + ?",
                    (sender, now // DAY, size, size),
                )
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_FULL:
                raise
            log.warning("mailbox: the disk is full (%s)", exc)  # the transaction was rolled back
            return StoreResult("full", f"{REASON_DISK}: this node's disk is full; try another NOTIFY node")
        self.total_bytes += size
        return StoreResult("stored")

    def _quota(
        self, db: sqlite3.Connection, to: tuple[str, int | None], sender: str, size: int, now: int
    ) -> str | None:
        """The reason a store of `size` bytes is refused, or None. Checked cheapest-to-blame first.
        `to`: the recipient and its tier's byte quota (None: the node's `per_recipient_bytes`)."""
        lim = self.limits
        recipient, tier_bytes = to
        (mine,) = db.execute(
            "SELECT COUNT(*) FROM mailbox WHERE recipient = ? AND sender = ?", (recipient, sender)
        ).fetchone()
        if mine >= lim.per_sender_per_recipient:
            return (
                f"{REASON_SENDER}: you hold {mine} unread messages for this recipient (limit"
                f" {lim.per_sender_per_recipient}); send more once they read them"
            )
        count, held_bytes = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM mailbox WHERE recipient = ?", (recipient,)
        ).fetchone()
        if count >= lim.per_recipient:
            return f"{REASON_RECIPIENT}: the recipient's mailbox is full; try again after they read it"
        if held_bytes + size > (lim.per_recipient_bytes if tier_bytes is None else tier_bytes):
            held = "its tier's" if tier_bytes is not None else "this node's"
            return (
                f"{REASON_RECIPIENT}: the recipient's mailbox is full ({held} quota of "
                f"{lim.per_recipient_bytes if tier_bytes is None else tier_bytes:,} bytes); "
                "try again after they read it"
            )
        day = db.execute(
            "SELECT messages, bytes FROM sender_day WHERE sender = ? AND day = ?", (sender, now // DAY)
        ).fetchone()
        if day is not None and (
            day[0] >= lim.per_sender_per_day or day[1] + size > lim.per_sender_bytes_per_day
        ):
            return f"{REASON_DAILY}: you stored this node's daily allowance of offline messages; try tomorrow"
        if self.total_bytes + size > lim.total_bytes:
            return f"{REASON_NODE}: this node's mailbox is full; try another NOTIFY node"
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return None
        if st.f_bavail * st.f_frsize < lim.min_free_disk + size:
            return f"{REASON_DISK}: this node's disk is nearly full; try another NOTIFY node"
        return None

    # -- hand-out ---------------------------------------------------------------------------------

    async def batch(
        self, recipient: str, after: int, limit: int, max_bytes: int, at_least_one: bool
    ) -> list[Held]:
        """Unexpired envelopes for `recipient` with seq > `after`, oldest first: at most `limit` of them
        and `max_bytes` together (but one even when larger if `at_least_one`, so a hand-out progresses)."""
        rows: list[Held] = await self._run(
            self._batch, recipient.lower(), after, limit, max_bytes, at_least_one
        )
        return rows

    def _batch(
        self, recipient: str, after: int, limit: int, max_bytes: int, at_least_one: bool
    ) -> list[Held]:
        db = self._conn()
        cutoff = int(self.clock()) - self.limits.retention
        heads = db.execute(
            "SELECT seq, size FROM mailbox WHERE recipient = ? AND seq > ? AND stored_at >= ?"
            " ORDER BY seq LIMIT ?",
            (recipient, after, cutoff, limit),
        ).fetchall()
        last, total = None, 0
        for seq, size in heads:  # bound: `limit` rows
            if total + size > max_bytes and not (last is None and at_least_one):
                break
            last, total = seq, total + size
        if last is None:
            return []
        cur = db.execute(
            "SELECT seq, sender, id, size, frame FROM mailbox"
            " WHERE recipient = ? AND seq > ? AND seq <= ? AND stored_at >= ? ORDER BY seq",
            (recipient, after, last, cutoff),
        )
        return [Held(*row) for row in cur.fetchall()]

    def hand_out(self, recipient: str, max_count: int | None = None, max_bytes: int | None = None) -> HandOut:
        """A hand-out of `recipient`'s envelopes to one connection (budgets default to the limits)."""
        return HandOut(
            self,
            recipient.lower(),
            min(max_count or self.limits.handout_count, self.limits.handout_count),
            min(max_bytes or self.limits.handout_bytes, self.limits.handout_bytes),
        )

    async def pending(self, recipient: str, limit: int = 1_000) -> list[str]:
        """Frames held for `recipient`, oldest first (all of them up to `limit`, whatever their size)."""
        return [h.frame for h in await self.batch(recipient, 0, limit, 2**62, True)]

    # -- delete and expiry ------------------------------------------------------------------------

    async def delete(self, recipient: str, sender: str, id: str) -> bool:
        """Remove an acknowledged envelope; False when there was none."""
        deleted: bool = await self._run(self._delete, recipient.lower(), sender.lower(), id)
        return deleted

    def _delete(self, recipient: str, sender: str, id: str) -> bool:
        db = self._conn()
        with db:
            row = db.execute(
                "DELETE FROM mailbox WHERE recipient = ? AND sender = ? AND id = ? RETURNING size",
                (recipient, sender, id),
            ).fetchone()
        if row is None:
            return False
        self.total_bytes -= int(row[0])
        return True

    async def sweep(self) -> int:
        """Delete envelopes older than the retention and past daily counters; returns how many envelopes."""
        n: int = await self._run(self._sweep)
        return n

    def _sweep(self) -> int:
        db = self._conn()
        now = int(self.clock())
        cutoff = now - self.limits.retention
        with db:
            db.execute("BEGIN IMMEDIATE")
            n, freed = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM mailbox WHERE stored_at < ?", (cutoff,)
            ).fetchone()
            db.execute("DELETE FROM mailbox WHERE stored_at < ?", (cutoff,))
            db.execute("DELETE FROM sender_day WHERE day < ?", (now // DAY - 1,))
        self.total_bytes -= int(freed)
        if n:
            log.info("mailbox: %d envelopes expired (%d bytes)", n, freed)
        return int(n)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.limits.sweep_interval)
            try:
                await self.sweep()
            except sqlite3.Error as exc:  # a failed sweep is retried next time; serving goes on
                log.warning("mailbox: sweep failed: %s", exc)

    async def count(self, recipient: str | None = None) -> int:
        n: int = await self._run(self._count, recipient.lower() if recipient else None)
        return n

    def _count(self, recipient: str | None) -> int:
        db = self._conn()
        if recipient is None:
            return int(db.execute("SELECT COUNT(*) FROM mailbox").fetchone()[0])
        return int(db.execute("SELECT COUNT(*) FROM mailbox WHERE recipient = ?", (recipient,)).fetchone()[0])

    def disk_bytes(self) -> int:
        """Bytes of the database files on disk (main file, WAL and shared memory)."""
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())


class HandOut:
    """Stored envelopes handed to one signed-in connection: at most `max_count` envelopes and
    `max_bytes` unacknowledged at a time; `next()` gives the following ones as acks free the budget."""

    def __init__(self, box: Mailbox, recipient: str, max_count: int, max_bytes: int) -> None:
        self.box = box
        self.recipient = recipient
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.cursor = 0  # seq of the last envelope handed out
        self.unacked: dict[tuple[str, str], int] = {}  # (sender, id) -> bytes
        self.unacked_bytes = 0
        self._lock = asyncio.Lock()  # concurrent acks must not hand the same envelopes out twice

    def __len__(self) -> int:
        return len(self.unacked)

    def holds(self, sender: str, id: str) -> bool:
        return (sender.lower(), id) in self.unacked

    def acked(self, sender: str, id: str) -> bool:
        """Release an envelope's budget; False when this hand-out did not give it out."""
        size = self.unacked.pop((sender.lower(), id), None)
        if size is None:
            return False
        self.unacked_bytes -= size
        return True

    def give_back(self, rows: list[Held]) -> None:
        """Undo handing out `rows`, the tail of the last `next()` (the relay could not queue them):
        they come again, in order, from the next `next()`."""
        if not rows:
            return
        for row in rows:  # bound: one batch
            self.acked(row.sender, row.id)
        self.cursor = rows[0].seq - 1  # the batch query takes seq > cursor

    async def next(self) -> list[Held]:
        """The next envelopes that fit the budget (none when it is used up or nothing is left)."""
        async with self._lock:
            room_count = self.max_count - len(self.unacked)
            room_bytes = self.max_bytes - self.unacked_bytes
            if room_count <= 0 or room_bytes <= 0:
                return []
            rows = await self.box.batch(
                self.recipient, self.cursor, room_count, room_bytes, at_least_one=not self.unacked
            )
            for row in rows:
                self.cursor = row.seq
                self.unacked[(row.sender, row.id)] = row.size
                self.unacked_bytes += row.size
            return rows
