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

One-time prekeys (`publish-one-time`, `claim-one-time`): a signed-in client adds X25519 one-time
prekeys for the bundle stored here, each signed by that bundle's Ed25519 key (checked here as the
client would: `verify_one_time`), at most MAX_ONE_TIME held per address and MAX_ONE_TIME_TOTAL in
all. A claim hands out the oldest one and deletes it (from SQLite too, before the answer goes out),
so no one-time prekey is ever handed out twice, also across a restart. When none is left the answer
says so (`key` None) and the sender falls back to the signed prekey; a signed-in address claims at
most CLAIMS_PER_HOUR (beyond that it is answered as if none were left), which bounds how fast one
wallet can drain another's stock. A bundle with another identity key, or a revocation, drops the
address's one-time prekeys (they are signed by the old key).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

from eth_account import Account

from clubchat.aio import cancel_and_wait
from clubchat.client.reconnect import CONNECT_ERRORS
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.crypto.bundle import (
    KeyBundleError,
    KeyStatement,
    RevocationStatement,
    verify_bundle,
    verify_one_time,
    verify_revocation,
)
from clubchat.protocol import messages as m
from clubchat.protocol.codec import decode_object
from clubchat.protocol.siwe import ContractWalletVerifier
from clubchat.registry.discovery import RENDEZVOUS_K, Discovery, rendezvous

log = logging.getLogger("clubchat.keybundles")

MAX_REVOCATIONS = 8
MAX_PREVIOUS = 2
PREVIOUS_SECONDS = 8 * 86_400  # mailbox retention (7 days) plus a day
MAX_ADDRESSES = 200_000  # bundles kept; a new address beyond this is refused (existing ones update)
MAX_ONE_TIME = m.MAX_ONE_TIME_BATCH  # one-time prekeys held per address
MAX_ONE_TIME_TOTAL = 1_000_000  # held in all (about 200 MB): beyond it new ones are refused
CLAIMS_PER_HOUR = 120  # one-time prekeys one signed-in address may claim per hour, all targets
MAX_CLAIMERS = 100_000  # addresses whose claims of the current hour are counted (oldest forgotten)
MAX_CONNECTIONS = 64  # connections a replicator keeps open to other relays (oldest closed first)
REUSE_SECONDS = 600  # a replicator's connection signs in again after this long (sign-ins expire)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bundle (address TEXT PRIMARY KEY, frame TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS previous (address TEXT NOT NULL, key_id TEXT NOT NULL,
    replaced_at INTEGER NOT NULL, frame TEXT NOT NULL, PRIMARY KEY (address, key_id));
CREATE TABLE IF NOT EXISTS revocation (address TEXT NOT NULL, key_id TEXT NOT NULL, frame TEXT NOT NULL,
    PRIMARY KEY (address, key_id));
CREATE TABLE IF NOT EXISTS one_time (address TEXT NOT NULL, key TEXT NOT NULL, signature TEXT NOT NULL,
    PRIMARY KEY (address, key));
"""


class KeyBundles:
    """The bundles and revocations of one relay, in memory (and in SQLite when given a path)."""

    # the frames handled here
    FRAMES = (m.PublishKeys, m.RevokeKeys, m.GetKeys, m.PublishOneTime, m.ClaimOneTime, m.ReplicateKeys)

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
        # address -> one-time prekeys (hex key -> prekey), oldest first; `one_time_total` counts them all
        self.one_time: dict[str, OrderedDict[str, m.OneTimePrekey]] = {}
        self.one_time_total = 0
        self.max_one_time_total = MAX_ONE_TIME_TOTAL
        self._claims: OrderedDict[str, tuple[int, int]] = OrderedDict()  # claimer -> (hour, claims)
        self.now = 0  # the time of the last frame handled (previous bundles expire by it)
        self.replicator: Replicator | None = None  # copies what clients publish here to other relays
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
            for address, key, sig in self._db.execute(
                "SELECT address, key, signature FROM one_time ORDER BY rowid"
            ):
                self.one_time.setdefault(address, OrderedDict())[key] = m.OneTimePrekey(
                    key=key, signature=sig
                )
                self.one_time_total += 1
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

    async def handle(
        self,
        frame: m.PublishKeys | m.RevokeKeys | m.GetKeys | m.PublishOneTime | m.ClaimOneTime | m.ReplicateKeys,
        signed_in: str,
        now: int,
    ) -> str:
        """The frame to answer `frame` from the signed-in address `signed_in` with."""
        self.now = max(self.now, now)
        if isinstance(frame, m.GetKeys):
            self.stats["get"] += 1
            return m.encode(self.keys(frame.address))
        if isinstance(frame, m.ClaimOneTime):
            async with self._lock:  # one SQLite write at a time
                return m.encode(await self._claim(frame.address, signed_in, now))
        address = signed_in
        try:
            async with self._lock:
                if isinstance(frame, m.PublishOneTime):
                    return m.encode(m.OneTimeStock(count=await self._add_one_time(frame.keys, signed_in)))
                if isinstance(frame, m.ReplicateKeys):  # checked as if the address's wallet sent it
                    address = frame.address
                    for revocation in frame.revocations:  # bound: 8
                        await self._revoke(revocation, address)
                    if frame.bundle is not None:
                        await self._publish(frame.bundle, address, now)
                    self.stats["replicated-in"] += 1
                elif isinstance(frame, m.PublishKeys):
                    await self._publish(frame.bundle, signed_in, now)
                else:
                    await self._revoke(frame.revocation, signed_in)
        except KeyBundleError as exc:
            self.stats["refused"] += 1
            id = "one-time-stock" if isinstance(frame, m.PublishOneTime) else address.lower()
            return m.error_frame("bad-key-bundle", str(exc), id)
        keys = self.keys(address)
        if self.replicator is not None and isinstance(frame, m.PublishKeys | m.RevokeKeys):
            self.replicator.offer(keys)  # not what came from another relay: no echo between relays
        return m.encode(keys)

    async def _add_one_time(self, keys: tuple[m.OneTimePrekey, ...], address: str) -> int:
        """Keep one-time prekeys of `address`'s stored bundle; how many it holds now."""
        key = address.lower()
        bundle = self.bundles.get(key)
        if bundle is None and keys:
            raise KeyBundleError("publish a key bundle on this relay before its one-time prekeys")
        held = self.one_time.setdefault(key, OrderedDict())
        if bundle is not None:
            statement = KeyStatement.parse(bundle.statement)
            for one_time in keys:  # bound: MAX_ONE_TIME_BATCH
                verify_one_time(statement, one_time)
        new = [k for k in keys if k.key not in held]
        if len(held) + len(new) > MAX_ONE_TIME:
            raise KeyBundleError(
                f"this relay holds at most {MAX_ONE_TIME} one-time prekeys per address ({len(held)} now)"
            )
        if self.one_time_total + len(new) > self.max_one_time_total:
            raise KeyBundleError("this relay holds as many one-time prekeys as it accepts")
        for one_time in new:  # bound: MAX_ONE_TIME_BATCH
            held[one_time.key] = one_time
            self.one_time_total += 1
            await self._write("INSERT INTO one_time VALUES (?, ?, ?)", key, one_time.key, one_time.signature)
        self.stats["one-time-added"] += len(new)
        return len(held)

    async def _claim(self, target: str, claimer: str, now: int) -> m.OneTimeClaimed:
        """One of `target`'s one-time prekeys, deleted for good before it is handed out (None: none
        left, or `claimer` claimed CLAIMS_PER_HOUR this hour already)."""
        hour, claims = self._claims.pop(claimer.lower(), (now // 3600, 0))
        if hour != now // 3600:
            hour, claims = now // 3600, 0
        self._claims[claimer.lower()] = (hour, claims + 1)
        while len(self._claims) > MAX_CLAIMERS:  # bound: one over
            self._claims.popitem(last=False)
        held = self.one_time.get(target.lower())
        if not held or claims >= CLAIMS_PER_HOUR:
            self.stats["one-time-none"] += 1
            return m.OneTimeClaimed(address=target)
        _, one_time = held.popitem(last=False)  # taken before any await: two claims never share one
        self.one_time_total -= 1
        await self._write("DELETE FROM one_time WHERE address = ? AND key = ?", target.lower(), one_time.key)
        self.stats["one-time-claimed"] += 1
        return m.OneTimeClaimed(address=target, key=one_time)

    async def _drop_one_time(self, key: str) -> None:
        """Forget `key`'s one-time prekeys (its bundle is gone or has another identity key)."""
        held = self.one_time.pop(key, None)
        if held:
            self.one_time_total -= len(held)
            await self._write("DELETE FROM one_time WHERE address = ?", key)

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
                await self._drop_one_time(key)
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
            await self._drop_one_time(key)
        self.stats["revoked"] += 1


class Replicator:
    """Copies the keys clients publish on this relay to each address's other rendezvous relays.

    `offer(keys)` (after a client's `publish-keys` or `revoke-keys` was accepted here) queues the
    address's bundle and revocations, at most MAX_PENDING addresses (a newer offer replaces a queued
    one; beyond the bound the oldest is dropped, `stats["dropped"]`). One task (`start`, `stop`)
    works through the queue: it finds the address's rendezvous relays as its clients do (the
    registry's `sample(RELAY, keccak256(address), k)`: clubchat.registry.discovery.rendezvous), and
    sends each other one a `replicate-keys` over a connection signed in with a throwaway wallet
    (the copy needs no identity: the receiving relay checks the bundle's wallet signature, expiry and
    revocations exactly as for a publish from that wallet, and its per-address limits apply), kept
    open for later copies (at most MAX_CONNECTIONS, each for REUSE_SECONDS). Copies
    received that way are not copied on, so relays never echo each other; a relay that is down misses
    the copy and gets the bundle at the owner's next sign-in there (clients still fall back to
    asking the other relays). One-time prekeys are never copied: each relay holds its own.
    """

    MAX_PENDING = 10_000

    def __init__(
        self, discovery: Discovery, own_uri: str, k: int = RENDEZVOUS_K, timeout: float = 5.0
    ) -> None:
        self.discovery, self.own_uri, self.k, self.timeout = discovery, own_uri, k, timeout
        self.account = Account.create()  # signs in to other relays; carries no authority
        self.pending: OrderedDict[str, m.Keys] = OrderedDict()  # lower-case address -> keys to copy
        self.stats: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # a copy is under way
        # relay uri -> (signed-in connection, when it signed in), oldest first
        self._clients: dict[str, tuple[RelayClient, float]] = {}

    def offer(self, keys: m.Keys) -> None:
        if keys.bundle is None and not keys.revocations:
            return
        self.pending.pop(keys.address.lower(), None)
        self.pending[keys.address.lower()] = keys
        while len(self.pending) > self.MAX_PENDING:  # bound: one over
            self.pending.popitem(last=False)
            self.stats["dropped"] += 1
        self._wake.set()

    @classmethod
    def attach(cls, relay: Any, discovery: Discovery) -> Replicator:
        """A replicator for `relay` (a RelayServer), hooked to its key bundles; run it (`run`, or
        `start` for a task it owns)."""
        replicator = cls(discovery, relay.uri)
        relay.keybundles.replicator = replicator
        return replicator

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def drain(self) -> None:
        """Wait until every queued copy was attempted (tests, shutdown)."""
        while self.pending or self._busy:  # bound: the queue, each copy has timeouts
            await asyncio.sleep(0.01)

    async def run(self) -> None:
        """Copy what is queued until cancelled; the kept connections are closed then."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self.pending:  # bound: the queue
                    _, keys = self.pending.popitem(last=False)
                    self._busy = True
                    try:
                        await self._copy(keys)
                    except Exception:  # a bug must cost one copy, never the loop
                        log.exception("keybundles: replicating the keys of %s failed", keys.address)
                    finally:
                        self._busy = False
        finally:
            for uri in list(self._clients):  # bound: MAX_CONNECTIONS
                await self._drop(uri)

    async def _copy(self, keys: m.Keys) -> None:
        uris = await asyncio.to_thread(rendezvous, self.discovery, keys.address, self.k)
        for uri in uris:  # bound: k relays
            if uri == self.own_uri:
                continue
            client = await self._client(uri)
            if client is None:
                continue
            try:
                await client.replicate_keys(keys.address, keys.bundle, keys.revocations)
                self.stats["copied"] += 1
            except (RelayError, TimeoutError) as exc:
                self.stats["refused"] += 1
                log.info("keybundles: relay %s refused the keys of %s (%s)", uri, keys.address, exc)
                if isinstance(exc, TimeoutError) or exc.code in ("closed", "unauthenticated"):
                    await self._drop(uri)

    async def _client(self, uri: str) -> RelayClient | None:
        """A signed-in connection to `uri`, kept for later copies (a sign-in per copy would run into
        the receiving relay's per-IP sign-in rate); None when it cannot be reached."""
        held = self._clients.get(uri)
        if held is not None and not held[0].closed.is_set() and time.monotonic() - held[1] < REUSE_SECONDS:
            return held[0]
        await self._drop(uri)
        try:
            client = await RelayClient.connect(uri, self.account, timeout=self.timeout)
        except CONNECT_ERRORS as exc:
            self.stats["unreachable"] += 1
            log.info("keybundles: relay %s unreachable for a copy (%s)", uri, exc)
            return None
        self._clients[uri] = (client, time.monotonic())
        self.stats["connected"] += 1
        while len(self._clients) > MAX_CONNECTIONS:  # bound: one over
            await self._drop(next(iter(self._clients)))
        return client

    async def _drop(self, uri: str) -> None:
        held = self._clients.pop(uri, None)
        if held is not None:
            await held[0].close()
