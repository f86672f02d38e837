"""A NOTIFY node's durable ad state, in SQLite like the mailbox (WAL, `synchronous=FULL`, one thread):

- `preferences`: each user's newest signed `AdPreference` (opted in or out, and when);
- `deliveries`: one row per (user, campaign) this node delivered or queued: how many notifications
  it delivered (`count`, the count a receipt may name), how many the user has receipted, which
  target community qualified the user and which registry node the user stakes with (the
  settlement hints), when the last one was sent and when the row expires (the campaign's end).
  A row whose count exceeds its receipted count is pending: handed out again at every sign-in
  until the user receipts it or it expires; a receipted row below the campaign's per-user cap is
  raised by one (`repeat`) once the operator's spacing has passed; expired rows are swept;
- the receipts the users signed (`clubchat.ads.receipt_store.ReceiptStore`, its own file, so
  `club node settle --store <data-dir>/receipts.sqlite` reads it).

Bounds: at most `max_pending_per_user` pending rows per user (a further campaign is not queued for
that user until one is receipted or expires) and `max_rows` rows in all.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from clubchat.ads.receipt_store import ReceiptStore
from clubchat.chain.eip712 import Domain

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS preferences (
    user      TEXT PRIMARY KEY,   -- lower-case address
    enabled   INTEGER NOT NULL,
    issued    INTEGER NOT NULL,   -- unix seconds, from the signed preference
    signature BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    user      TEXT    NOT NULL,   -- lower-case address
    campaign  INTEGER NOT NULL,
    count     INTEGER NOT NULL,   -- notifications delivered (queued counts as delivered)
    receipted INTEGER NOT NULL,   -- highest count the user receipted
    target    INTEGER NOT NULL,   -- index of the target community that qualified the user
    expires   INTEGER NOT NULL,   -- unix seconds: the campaign's end
    PRIMARY KEY (user, campaign)
);
CREATE INDEX IF NOT EXISTS deliveries_expires ON deliveries (expires);
"""

# Columns added after the first release (a store written before gets them with these defaults).
_ADDED_COLUMNS = {
    "sent_at": "REAL NOT NULL DEFAULT 0",  # unix seconds the count was last raised
    "stake_node": "TEXT NOT NULL DEFAULT '0x0000000000000000000000000000000000000000'",
}


@dataclass(frozen=True)
class NotifyLimits:
    """Operator bounds of the notification queue."""

    max_pending_per_user: int = 64  # campaigns waiting for one user's receipt
    max_rows: int = 1_000_000  # delivery rows in all (~100 bytes each)

    def __post_init__(self) -> None:
        if self.max_pending_per_user <= 0 or self.max_rows <= 0:
            raise ValueError("notification queue limits must be positive")


@dataclass(frozen=True)
class Delivery:
    """One (user, campaign) row of `deliveries`."""

    campaign: int
    count: int
    receipted: int
    target: int
    stake_node: str = "0x0000000000000000000000000000000000000000"


class NotifyStore:
    """Preferences, deliveries and receipts of one NOTIFY node; every call runs on one thread."""

    def __init__(self, data_dir: Path, domain: Domain, limits: NotifyLimits | None = None) -> None:
        self.path = data_dir / "notify.sqlite"
        self.receipts_path = data_dir / "receipts.sqlite"
        self.domain = domain
        self.limits = limits or NotifyLimits()
        self.refused = 0  # queue offers refused by the bounds
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify-store")
        self._db: sqlite3.Connection | None = None
        self.receipts: ReceiptStore | None = None
        self._rows = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the store's thread (where every SQLite call of the node's ads runs)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def open(self) -> None:
        await self.run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        have = {str(r[1]) for r in db.execute("PRAGMA table_info(deliveries)")}
        for column, decl in _ADDED_COLUMNS.items():  # bound: two columns
            if column not in have:
                db.execute(f"ALTER TABLE deliveries ADD COLUMN {column} {decl}")
        db.execute("CREATE INDEX IF NOT EXISTS deliveries_campaign ON deliveries (campaign, sent_at)")
        self._db = db
        self._rows = int(db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])
        self.receipts = ReceiptStore(self.receipts_path, self.domain)

    async def close(self) -> None:
        def _close() -> None:
            if self._db is not None:
                self._db.close()
            if self.receipts is not None:
                self.receipts.close()

        await self.run(_close)
        self._pool.shutdown(wait=True)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "open() the store first"
        return self._db

    # -- preferences (store thread) -------------------------------------------------------------

    def set_preference(self, user: str, enabled: bool, issued: int, signature: bytes) -> bool:
        """Keep the preference if it is newer than the one held; opting out drops the user's queue."""
        user = user.lower()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT issued FROM preferences WHERE user=?", (user,)).fetchone()
            if row is not None and int(row[0]) >= issued:
                self.db.execute("ROLLBACK")
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO preferences VALUES (?, ?, ?, ?)",
                (user, int(enabled), issued, signature),
            )
            if not enabled:
                dropped = self.db.execute(
                    "DELETE FROM deliveries WHERE user=? AND count > receipted", (user,)
                ).rowcount
                self._rows -= dropped
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True

    def preference(self, user: str) -> tuple[bool, int] | None:
        """(enabled, issued) held for `user`, or None."""
        row = self.db.execute(
            "SELECT enabled, issued FROM preferences WHERE user=?", (user.lower(),)
        ).fetchone()
        return None if row is None else (bool(row[0]), int(row[1]))

    def opted_in(self) -> list[str]:
        """Every user whose newest preference is an opt-in (lower-case)."""
        return [str(r[0]) for r in self.db.execute("SELECT user FROM preferences WHERE enabled=1")]

    # -- deliveries (store thread) --------------------------------------------------------------

    def _queue_full(self, user: str) -> bool:
        pending = self.db.execute(
            "SELECT COUNT(*) FROM deliveries WHERE user=? AND count > receipted", (user,)
        ).fetchone()[0]
        if int(pending) >= self.limits.max_pending_per_user:
            self.refused += 1
            return True
        return False

    def offer(
        self, campaign: int, expires: int, users: list[tuple[str, int, str]], now: float = 0.0
    ) -> list[str]:
        """Record one notification of `campaign` for each (user, target, stake node) not offered it
        before and opted in, within the bounds, in one transaction; returns the users it was
        recorded for."""
        taken: list[str] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for user, target, stake_node in users:  # bound: the opted-in users given
                user = user.lower()
                if self._rows >= self.limits.max_rows:
                    self.refused += 1
                    continue
                if self._queue_full(user):
                    continue
                added = self.db.execute(  # only while opted in: an opt-out may have come in meanwhile
                    "INSERT OR IGNORE INTO deliveries "
                    "(user, campaign, count, receipted, target, expires, sent_at, stake_node) "
                    "SELECT ?, ?, 1, 0, ?, ?, ?, ? "
                    "WHERE EXISTS (SELECT 1 FROM preferences WHERE user=? AND enabled=1)",
                    (user, campaign, target, expires, now, stake_node, user),
                ).rowcount
                if added:
                    self._rows += 1
                    taken.append(user)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return taken

    def due_again(self, campaign: int, cap: int, sent_by: float) -> list[str]:
        """Users whose last notification of `campaign` is receipted, below `cap`, and was sent
        at `sent_by` or before (lower-case): the ones a further notification may go to."""
        return [
            str(r[0])
            for r in self.db.execute(
                "SELECT user FROM deliveries WHERE campaign=? AND sent_at <= ? AND count = receipted "
                "AND count < ?",
                (campaign, sent_by, cap),
            )
        ]

    def repeat(self, campaign: int, users: list[tuple[str, int, str]], cap: int, now: float) -> list[int]:
        """Raise by one the count of each (user, target, stake node)'s receipted row of `campaign`
        below `cap`, while opted in and within the queue bound, refreshing the settlement hints (the
        user may have moved community or stake); returns the new counts (0: not raised)."""
        counts: list[int] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for user, target, stake_node in users:  # bound: the users given
                user = user.lower()
                row = None
                if not self._queue_full(user):
                    row = self.db.execute(
                        "UPDATE deliveries SET count = count + 1, sent_at = ?, target = ?, stake_node = ? "
                        "WHERE user=? AND campaign=? AND count = receipted AND count < ? "
                        "AND EXISTS (SELECT 1 FROM preferences WHERE user=? AND enabled=1) "
                        "RETURNING count",
                        (now, target, stake_node, user, campaign, cap, user),
                    ).fetchone()
                counts.append(0 if row is None else int(row[0]))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return counts

    def offered(self, campaign: int) -> set[str]:
        """The users `campaign` was recorded for (lower-case)."""
        return {
            str(r[0]) for r in self.db.execute("SELECT user FROM deliveries WHERE campaign=?", (campaign,))
        }

    def pending(self, user: str, now: int) -> list[Delivery]:
        """`user`'s rows not receipted in full and not expired, oldest campaign first."""
        rows = self.db.execute(
            "SELECT campaign, count, receipted, target, stake_node FROM deliveries "
            "WHERE user=? AND count > receipted AND expires > ? ORDER BY campaign",
            (user.lower(), now),
        ).fetchall()
        return [Delivery(int(c), int(k), int(r), int(t), str(n)) for c, k, r, t, n in rows]

    def delivery(self, user: str, campaign: int) -> Delivery | None:
        row = self.db.execute(
            "SELECT campaign, count, receipted, target, stake_node FROM deliveries "
            "WHERE user=? AND campaign=?",
            (user.lower(), campaign),
        ).fetchone()
        return (
            None if row is None else Delivery(int(row[0]), int(row[1]), int(row[2]), int(row[3]), str(row[4]))
        )

    def mark_receipted(self, user: str, campaign: int, count: int) -> None:
        """Note the receipt (already durable in the receipt store). Without its own fsync: lost in a
        power cut, the row is only handed out once more and the client signs the same count again."""
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self.db.execute(
                "UPDATE deliveries SET receipted=MAX(receipted, ?) WHERE user=? AND campaign=?",
                (count, user.lower(), campaign),
            )
        finally:
            self.db.execute("PRAGMA synchronous=FULL")

    def sweep(self, now: int) -> int:
        """Drop rows whose campaign has ended; returns how many."""
        dropped = int(self.db.execute("DELETE FROM deliveries WHERE expires <= ?", (now,)).rowcount)
        self._rows -= dropped
        return dropped
