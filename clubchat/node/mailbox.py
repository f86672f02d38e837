"""NOTIFY node's offline mailbox: envelopes for addresses that are not connected, in SQLite (WAL).

A stored envelope survives a crash (`kill -9`) once `store` has returned: the write is committed
with `synchronous=FULL`. It is handed out on every sign-in of its recipient until the recipient
acknowledges it; only `delete` (an `ack`) removes it. All SQLite work runs on one dedicated
thread so the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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
"""


class Mailbox:
    """Durable store-until-acknowledged queue per recipient."""

    def __init__(self, path: Path | str, max_per_recipient: int = 1_000) -> None:
        self.path = Path(path)
        self.max_per_recipient = max_per_recipient
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailbox")
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed store survives power loss, not only kill -9
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("mailbox: open() it first")
        return self._db

    async def store(self, recipient: str, sender: str, id: str, frame: str) -> str:
        """Store durably; returns "stored", "duplicate" (already held) or "full"."""
        result: str = await self._run(self._store, recipient.lower(), sender.lower(), id, frame)
        return result

    def _store(self, recipient: str, sender: str, id: str, frame: str) -> str:
        db = self._conn()
        with db:  # one transaction: the count check and the insert see the same state
            db.execute("BEGIN IMMEDIATE")
            (held,) = db.execute("SELECT COUNT(*) FROM mailbox WHERE recipient = ?", (recipient,)).fetchone()
            if held >= self.max_per_recipient:
                return "full"
            cur = db.execute(
                "INSERT OR IGNORE INTO mailbox (recipient, sender, id, frame, stored_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (recipient, sender, id, frame, int(time.time())),
            )
            return "stored" if cur.rowcount == 1 else "duplicate"

    async def pending(self, recipient: str, limit: int = 1_000) -> list[str]:
        """Frames held for `recipient`, oldest first."""
        rows: list[str] = await self._run(self._pending, recipient.lower(), limit)
        return rows

    def _pending(self, recipient: str, limit: int) -> list[str]:
        cur = self._conn().execute(
            "SELECT frame FROM mailbox WHERE recipient = ? ORDER BY seq LIMIT ?", (recipient, limit)
        )
        return [row[0] for row in cur.fetchall()]

    async def delete(self, recipient: str, sender: str, id: str) -> bool:
        """Remove an acknowledged envelope; False when there was none."""
        deleted: bool = await self._run(self._delete, recipient.lower(), sender.lower(), id)
        return deleted

    def _delete(self, recipient: str, sender: str, id: str) -> bool:
        db = self._conn()
        with db:
            cur = db.execute(
                "DELETE FROM mailbox WHERE recipient = ? AND sender = ? AND id = ?", (recipient, sender, id)
            )
            return cur.rowcount == 1

    async def count(self, recipient: str | None = None) -> int:
        n: int = await self._run(self._count, recipient.lower() if recipient else None)
        return n

    def _count(self, recipient: str | None) -> int:
        db = self._conn()
        if recipient is None:
            return int(db.execute("SELECT COUNT(*) FROM mailbox").fetchone()[0])
        return int(db.execute("SELECT COUNT(*) FROM mailbox WHERE recipient = ?", (recipient,)).fetchone()[0])
