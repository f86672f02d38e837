"""Key bundles a relay stores and serves: `publish-keys`, `revoke-keys`, `get-keys` -> `keys`.

A signed-in client publishes its own bundle (clubchat.crypto.bundle): the relay checks that the
statement names the signed-in address and this relay's chain, is signed by that wallet (EIP-191 or
EIP-1271, like sign-in), is not expired or revoked, and keeps the newest bundle per address. It
cannot forge one: clients check every bundle they fetch themselves. A revocation (signed by the
wallet) is kept too (at most MAX_REVOCATIONS per address) and drops a stored bundle that uses the
revoked key. With a `path` the bundles and revocations are kept in SQLite, so an offline user's
bundle survives a restart (a sender needs it to encrypt the message the mailbox stores).

A bundle replaced by one with another identity key (the wallet re-keyed) is still served, as
`previous`, for PREVIOUS_SECONDS (at most MAX_PREVIOUS per address): a message sealed with the old key
before the change and fetched from a mailbox later must still open, also for a recipient that never
saw the old bundle. A revocation drops it at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections import Counter
from pathlib import Path

from clubchat.crypto.bundle import (
    KeyBundleError,
    KeyStatement,
    RevocationStatement,
    verify_bundle,
    verify_revocation,
)
from clubchat.protocol import messages as m
from clubchat.protocol.codec import decode_object
from clubchat.protocol.siwe import ContractWalletVerifier

log = logging.getLogger("clubchat.keybundles")

MAX_REVOCATIONS = 8
MAX_PREVIOUS = 2
PREVIOUS_SECONDS = 8 * 86_400  # mailbox retention (7 days) plus a day
MAX_ADDRESSES = 200_000  # bundles kept; a new address beyond this is refused (existing ones update)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bundle (address TEXT PRIMARY KEY, frame TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS previous (address TEXT NOT NULL, key_id TEXT NOT NULL,
    replaced_at INTEGER NOT NULL, frame TEXT NOT NULL, PRIMARY KEY (address, key_id));
CREATE TABLE IF NOT EXISTS revocation (address TEXT NOT NULL, key_id TEXT NOT NULL, frame TEXT NOT NULL,
    PRIMARY KEY (address, key_id));
"""


class KeyBundles:
    """The bundles and revocations of one relay, in memory (and in SQLite when given a path)."""

    def __init__(
        self,
        chain_id: int,
        verifier: ContractWalletVerifier | None = None,
        path: Path | None = None,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.chain_id = chain_id
        self.verifier = verifier
        self.max_addresses = max_addresses
        self.bundles: dict[str, m.KeyBundle] = {}  # lower-case address -> newest bundle
        self.revocations: dict[str, dict[str, m.Revocation]] = {}  # address -> key id -> revocation
        # address -> key id -> (replaced at, bundle): bundles replaced by another identity key
        self.previous: dict[str, dict[str, tuple[int, m.KeyBundle]]] = {}
        self.now = 0  # the time of the last frame handled (previous bundles expire by it)
        self.stats: Counter[str] = Counter()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
            for address, frame in self._db.execute("SELECT address, frame FROM bundle"):
                self.bundles[address] = decode_object(m.KeyBundle, json.loads(frame))
            for address, key_id, frame in self._db.execute("SELECT address, key_id, frame FROM revocation"):
                self.revocations.setdefault(address, {})[key_id] = decode_object(
                    m.Revocation, json.loads(frame)
                )
            rows = self._db.execute("SELECT address, key_id, replaced_at, frame FROM previous")
            for address, key_id, at, frame in rows:
                bundle = decode_object(m.KeyBundle, json.loads(frame))
                self.previous.setdefault(address, {})[key_id] = (at, bundle)
        self._lock = asyncio.Lock()  # one write at a time (checks then store must not interleave)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _write(self, sql: str, *args: str) -> None:
        if self._db is not None:
            db = self._db
            await asyncio.to_thread(lambda: db.execute(sql, args))

    def keys(self, address: str) -> m.Keys:
        key = address.lower()
        previous = self.previous.get(key, {})
        return m.Keys(
            address=address,
            bundle=self.bundles.get(key),
            revocations=tuple(self.revocations.get(key, {}).values()),
            previous=tuple(b for at, b in previous.values() if at + PREVIOUS_SECONDS > self.now),
        )

    async def handle(self, frame: m.PublishKeys | m.RevokeKeys | m.GetKeys, signed_in: str, now: int) -> str:
        """The frame to answer `frame` from the signed-in address `signed_in` with."""
        self.now = max(self.now, now)
        if isinstance(frame, m.GetKeys):
            self.stats["get"] += 1
            return m.encode(self.keys(frame.address))
        try:
            async with self._lock:
                if isinstance(frame, m.PublishKeys):
                    await self._publish(frame.bundle, signed_in, now)
                else:
                    await self._revoke(frame.revocation, signed_in)
        except KeyBundleError as exc:
            self.stats["refused"] += 1
            return m.error_frame("bad-key-bundle", str(exc), signed_in.lower())
        return m.encode(self.keys(signed_in))

    async def _publish(self, bundle: m.KeyBundle, address: str, now: int) -> None:
        key = address.lower()
        revoked = frozenset(self.revocations.get(key, {}))
        checked = await verify_bundle(
            bundle, address=address, chain_id=self.chain_id, now=now, verifier=self.verifier, revoked=revoked
        )
        old = self.bundles.get(key)
        if old is None and len(self.bundles) >= self.max_addresses:
            raise KeyBundleError(
                "this relay holds as many key bundles as it accepts; publish on another relay"
            )
        if old is not None:
            current = KeyStatement.parse(old.statement)
            newer = checked.statement.issued_at > current.issued_at or (
                checked.key_id == current.key_id and bundle.prekey_expires >= old.prekey_expires
            )
            if not newer:
                raise KeyBundleError("this relay holds a newer key bundle for this address")
            if current.key_id != checked.key_id:
                await self._keep_previous(key, current.key_id, old, now)
        self.bundles[key] = bundle
        self.stats["published"] += 1
        await self._write("INSERT OR REPLACE INTO bundle VALUES (?, ?)", key, m.encode(bundle))

    async def _keep_previous(self, key: str, key_id: str, bundle: m.KeyBundle, now: int) -> None:
        held = self.previous.setdefault(key, {})
        held[key_id] = (now, bundle)
        for old in sorted(held, key=lambda k: held[k][0])[: max(0, len(held) - MAX_PREVIOUS)]:  # bound: 1
            del held[old]
            await self._write("DELETE FROM previous WHERE address = ? AND key_id = ?", key, old)
        await self._write(
            "INSERT OR REPLACE INTO previous VALUES (?, ?, ?, ?)", key, key_id, str(now), m.encode(bundle)
        )

    async def _revoke(self, revocation: m.Revocation, address: str) -> None:
        key = address.lower()
        st: RevocationStatement = await verify_revocation(
            revocation, address=address, chain_id=self.chain_id, verifier=self.verifier
        )
        held = self.revocations.setdefault(key, {})
        if st.key_id not in held and len(held) >= MAX_REVOCATIONS:
            raise KeyBundleError(f"this relay keeps at most {MAX_REVOCATIONS} revocations per address")
        held[st.key_id] = revocation
        await self._write(
            "INSERT OR REPLACE INTO revocation VALUES (?, ?, ?)", key, st.key_id, m.encode(revocation)
        )
        if self.previous.get(key, {}).pop(st.key_id, None) is not None:
            await self._write("DELETE FROM previous WHERE address = ? AND key_id = ?", key, st.key_id)
        old = self.bundles.get(key)
        if old is not None and KeyStatement.parse(old.statement).key_id == st.key_id:
            del self.bundles[key]
            await self._write("DELETE FROM bundle WHERE address = ?", key)
        self.stats["revoked"] += 1
