"""End-to-end encryption over relay connections: what a client sends is sealed, what it reads is opened.

`Secure(account)` is one wallet's encryption layer for the client (`Listener`, `place_call`,
`send_message` all use it; there is no plaintext path): `ready(client)` publishes this device's key
bundle on a relay once per connection (again after a prekey rotation); `peer(client, address)`
fetches, verifies (wallet signature, expiry, revocations, prekey signature) and pins (trust on
first use) a peer's bundle from that relay, or, when that relay holds none and a `discovery` is
given, from another of the peer's rendezvous relays (every device publishes on all of its own);
`send(client, to, payload)` seals and sends; `open(client, got)` returns the envelope with its
payload decrypted (its caller acknowledges a stored one, `RelayClient.ack`, once it processed it),
or None when it was refused (plaintext, tampered, wrong key, replayed: logged and acknowledged; the
sender's keys not found: left for the next sign-in). Payloads travel in Double Ratchet sessions
(clubchat.crypto.session), whose state is kept in the encrypted keystore after every message when
there is a keystore directory, read and written under the keystore's lock (processes sharing it
take turns).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from eth_account.signers.local import LocalAccount

from clubchat.client.reconnect import CONNECT_ERRORS
from clubchat.client.relay_client import Received, RelayClient, RelayError, new_envelope_id
from clubchat.crypto import keystore
from clubchat.crypto.bundle import (
    KeyBundleError,
    VerifiedBundle,
    verify_bundle,
    verify_one_time,
    verify_revocation,
)
from clubchat.crypto.padding import PaddingError
from clubchat.crypto.session import DecryptError, KeyChange, Sealer
from clubchat.node.eip1271 import Eip1271Verifier
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import ContractWalletVerifier
from clubchat.registry.discovery import Discovery, previous_rendezvous, rendezvous

log = logging.getLogger("clubchat.secure")


_SEALERS: dict[tuple[str, int], Sealer] = {}  # (lower-case address, chain id) -> sealer
_VERIFIERS: dict[int, tuple[Any, Eip1271Verifier]] = {}  # id(w3) -> (w3, its verifier)
# sealer -> the keystore's sessions and pins files as this process last read or wrote them
# (clubchat.crypto.keystore)
_Stamp = tuple[int, int] | None
_STAMPS: weakref.WeakKeyDictionary[Sealer, tuple[_Stamp, _Stamp]] = weakref.WeakKeyDictionary()
REFETCH_SECONDS = 300  # a pinned bundle is fetched again after this long (the peer may have rotated)
RENDEZVOUS_K = 2  # rendezvous relays per address asked for a bundle the relay at hand lacks
ONE_TIME_BATCH = 32  # one-time prekeys a relay is brought back to (its limit per address)
ONE_TIME_LOW = 8  # below this stock a connection publishes more


def contract_wallets(discovery: object) -> ContractWalletVerifier | None:
    """An EIP-1271 verifier on the chain `discovery` reads (one per web3 connection, shared), so
    bundles of contract wallets can be checked; None for a discovery without a chain (in memory)."""
    w3 = getattr(getattr(discovery, "contract", None), "w3", None)
    if w3 is None:
        return None
    held = _VERIFIERS.get(id(w3))
    if held is None or held[0] is not w3:
        held = _VERIFIERS[id(w3)] = (w3, Eip1271Verifier(w3))
    return held[1]


class NoKeysError(RelayError):
    """The peer has no valid key bundle on this relay: nothing can be encrypted to it there."""

    def __init__(self, reason: str) -> None:
        super().__init__("no-keys", reason)


class Secure:
    """One wallet's end-to-end encryption: its device keys, pinned peers and replay window."""

    def __init__(
        self,
        account: LocalAccount,
        verifier: ContractWalletVerifier | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        self.account = account
        self.verifier = verifier  # for peers that are contract wallets (EIP-1271)
        self.discovery = discovery  # finds a peer's other rendezvous relays when one lacks its bundle
        # connection -> the prekey id of the bundle it holds from us (republished after a rotation)
        self._published: weakref.WeakKeyDictionary[RelayClient, str] = weakref.WeakKeyDictionary()
        self._fetched: dict[str, float] = {}  # lower-case address -> when its bundle was last fetched
        self.refused: list[str] = []  # reasons of refused incoming payloads, the last 64

    def sealer(self, chain_id: int) -> Sealer:
        """This wallet's sealer on `chain_id`: one per process, so pins and the replay window are
        shared by every Listener, call and message of the wallet (pins are kept in the keystore
        directory when there is one)."""
        key = (self.account.address.lower(), chain_id)
        sealer = _SEALERS.get(key)
        device = keystore.device_for(self.account, chain_id)  # rotates the prekey when due
        if sealer is None:
            sealer = _SEALERS[key] = Sealer(device)
            sealer.restore(keystore.load_pins(self.account.address, chain_id))
            sessions = keystore.load_sessions(self.account.address, chain_id)
            if sessions is not None:
                sealer.restore_sessions(sessions)
        sealer.use_device(device)
        return sealer

    def key_changes(self) -> list[KeyChange]:
        """Every identity-key change of a pinned peer this wallet's sealers saw (oldest first)."""
        me = self.account.address.lower()
        return [c for (address, _), s in _SEALERS.items() if address == me for c in s.key_changes]

    async def ready(self, client: RelayClient) -> None:
        """Publish this device's bundle on `client`'s relay (once per connection, and again when the
        prekey rotated: a relay's sign-in lasts an hour at most, and each sign-in publishes)."""
        device = self.sealer(client.chain_id).device
        current = device.prekeys[-1].id
        if self._published.get(client) == current:
            return
        await client.publish_keys(device.bundle())
        self._published[client] = current
        await self._replenish(client)

    async def _replenish(self, client: RelayClient) -> None:
        """Bring the relay's stock of this device's one-time prekeys back to ONE_TIME_BATCH when it
        fell below ONE_TIME_LOW (every connection asks once; each relay gets keys of its own)."""
        try:
            stock = await client.publish_one_time()
            if stock >= ONE_TIME_LOW:
                return
            with self._sessions(client.chain_id) as sealer:  # the private halves, kept before publishing
                batch = sealer.new_one_time(ONE_TIME_BATCH - stock)
            await client.publish_one_time(batch)
        except (RelayError, TimeoutError) as exc:  # senders fall back to the signed prekey
            log.info("one-time prekeys not published on %s: %s", client.uri, exc)

    async def _claim_one_time(self, client: RelayClient, peer: VerifiedBundle) -> bytes | None:
        """One of `peer`'s one-time prekeys from `client`'s relay, checked against its bundle; None
        (the session opens to the signed prekey) when the relay has none left or it does not check."""
        try:
            claimed = await client.claim_one_time(peer.address)
            return None if claimed is None else verify_one_time(peer.statement, claimed)
        except (RelayError, TimeoutError, KeyBundleError) as exc:
            log.info("no one-time prekey of %s from %s: %s", peer.address, client.uri, exc)
            return None

    async def peer(self, client: RelayClient, address: str, *, key_id: str | None = None) -> VerifiedBundle:
        """`address`'s bundle: the pinned one (if it has `key_id`, when given), else fetched from
        `client`'s relay, verified and pinned. Raises NoKeysError when there is no valid one. With
        `key_id` (opening what that key sealed) the bundle's prekey may have expired; without it
        (sealing to the peer) it must be current."""
        sealer = self.sealer(client.chain_id)
        pinned = sealer.pinned.get(address.lower())
        now = int(time.time())
        if (
            pinned is not None
            and (key_id is None or pinned.key_id == key_id)
            and now - self._fetched.get(address.lower(), 0) < REFETCH_SECONDS
            and (key_id is not None or pinned.prekey_expires > now)
            and pinned.statement.expires_at > now
        ):
            return pinned
        keys = await client.get_keys(address)
        if keys.bundle is None:  # this relay has none (new in the peer's set, or restarted): ask others
            other = await self._keys_elsewhere(client, address)
            if other is not None:  # the revocations of both count
                keys = replace(other, revocations=(*keys.revocations, *other.revocations))
        self._fetched[address.lower()] = now
        revoked: set[str] = set()
        for rev in keys.revocations:  # bound: a relay sends at most 8, two relays 16
            try:
                st = await verify_revocation(
                    rev, address=address, chain_id=client.chain_id, verifier=self.verifier
                )
            except KeyBundleError as exc:
                log.warning("ignoring a revocation for %s: %s", address, exc)
                continue
            revoked.add(st.key_id)
            sealer.unpin(address, st.key_id)
        if keys.bundle is None:
            raise NoKeysError(f"{address} has published no encryption keys on {client.uri}")
        try:
            bundle = await verify_bundle(
                keys.bundle,
                address=address,
                chain_id=client.chain_id,
                now=now,
                verifier=self.verifier,
                revoked=frozenset(revoked),
                prekey_needed=key_id is None,
            )
            pinned_now = sealer.pin(bundle)
        except KeyBundleError as exc:
            raise NoKeysError(f"the key bundle of {address} on {client.uri} is refused: {exc}") from None
        if pinned_now is bundle:  # a new pin: keep it for the next run (with a keystore directory)
            with self._sessions(client.chain_id, save=False) as sealer:  # other processes' pins too
                pins = {peer: b.wire for peer, b in sealer.pinned.items()}
                keystore.save_pins(self.account.address, client.chain_id, pins)
        if key_id is not None and pinned_now.key_id != key_id:  # sealed before the peer re-keyed:
            # the key it replaced less than PREKEY_GRACE ago (and not revoked since), pinned or served
            earlier = sealer.bundle_of(address, key_id)
            return earlier or await self._replaced(client, address, key_id, keys, now, revoked) or pinned_now
        return pinned_now

    async def _replaced(
        self, client: RelayClient, address: str, key_id: str, keys: m.Keys, now: int, revoked: set[str]
    ) -> VerifiedBundle | None:
        """The bundle with identity key `key_id` among those the relay still serves for `address`
        after it re-keyed (a message sealed before the change opens with it), verified."""
        for wire in keys.previous:  # bound: the relay keeps MAX_PREVIOUS
            try:
                older = await verify_bundle(
                    wire,
                    address=address,
                    chain_id=client.chain_id,
                    now=now,
                    verifier=self.verifier,
                    revoked=frozenset(revoked),
                    prekey_needed=False,
                )
            except KeyBundleError as exc:
                log.warning("ignoring an earlier bundle of %s: %s", address, exc)
                continue
            if older.key_id == key_id:
                return older
        return None

    async def _keys_elsewhere(self, client: RelayClient, address: str) -> m.Keys | None:
        """`address`'s keys from another of its rendezvous relays (current set, then the previous
        one), asked over a short-lived connection; None when none holds a bundle. Bundles are
        checked by the caller like any other: a relay cannot forge one."""
        if self.discovery is None:
            return None
        discovery = self.discovery
        loop = asyncio.get_running_loop()
        now = await loop.run_in_executor(None, rendezvous, discovery, address, RENDEZVOUS_K)
        before = await loop.run_in_executor(None, previous_rendezvous, discovery, address, RENDEZVOUS_K)
        for uri in dict.fromkeys([*now, *before]):  # bound: 2 x RENDEZVOUS_K relays
            if uri == client.uri:
                continue
            try:
                other = await RelayClient.connect(uri, self.account, timeout=client.timeout)
            except CONNECT_ERRORS as exc:
                log.info("relay %s unusable for fetching keys (%s)", uri, exc)
                continue
            try:
                keys = await other.get_keys(address)
            except (RelayError, TimeoutError) as exc:
                log.info("relay %s gave no keys of %s (%s)", uri, address, exc)
                continue
            finally:
                await other.close()
            if keys.bundle is not None:
                return keys
        return None

    @contextmanager
    def _sessions(self, chain_id: int, save: bool = True) -> Iterator[Sealer]:
        """This wallet's sealer with the ratchet state as the keystore holds it now: under the
        keystore's lock, sessions another process wrote since are read first and the state is
        written back after (a message key is used once, by one process). Without a keystore
        directory, the in-memory sealer."""
        sealer = self.sealer(chain_id)
        address = self.account.address
        if keystore.directory() is None:
            yield sealer
            return
        with keystore.sessions_locked(address, chain_id):
            held = _STAMPS.get(sealer, (None, None))
            stamp = keystore.sessions_stamp(address, chain_id)
            if stamp is not None and stamp != held[0]:  # another process moved on
                text = keystore.load_sessions(address, chain_id)
                if text is not None:
                    sealer.sessions.clear()
                    sealer.restore_sessions(text)
            pins = keystore.stamp(address, chain_id, keystore.PINS)
            if pins is not None and pins != held[1]:  # another process pinned a peer
                sealer.restore(keystore.load_pins(address, chain_id))
            yield sealer
            if save:
                keystore.save_sessions(address, chain_id, sealer.export_sessions())
            pins = keystore.stamp(address, chain_id, keystore.PINS)
            _STAMPS[sealer] = (keystore.sessions_stamp(address, chain_id), pins)

    async def send(self, client: RelayClient, to: str, payload: m.Payload) -> m.Sent:
        """Seal `payload` for `to` and send it through `client`; waits for the relay's `sent`."""
        await self.ready(client)
        peer = await self.peer(client, to)
        id = new_envelope_id()
        with self._sessions(client.chain_id, save=False) as sealer:
            opens = sealer.opens_session(peer)
        one_time = await self._claim_one_time(client, peer) if opens else None
        try:
            with self._sessions(client.chain_id) as sealer:
                sealed = sealer.seal(peer, id, payload, one_time)
        except PaddingError as exc:
            raise RelayError("too-large", str(exc)) from None
        return await client.send(to, sealed, id=id)

    async def open(self, client: RelayClient, got: Received) -> Received | None:
        """`got` with its payload decrypted, or None when it is refused (the reason is logged)."""
        env = got.envelope
        try:
            if not isinstance(env.payload, m.Sealed):
                raise DecryptError(f"a plaintext {env.payload.TYPE!r} payload: every payload must be sealed")
            with self._sessions(client.chain_id, save=False) as sealer:
                needs = sealer.needs_bundle(env)
            sender = None
            if needs:  # it opens a session: who sealed it comes from its bundle
                sender = await self.peer(client, env.sender, key_id=env.payload.skid)
            with self._sessions(client.chain_id) as sealer:
                payload = sealer.open(env, sender)
        except (DecryptError, NoKeysError, RelayError, TimeoutError) as exc:
            reason = f"refused envelope {env.id} from {env.sender}: {exc}"
            log.warning("%s", reason)
            self.refused = [*self.refused[-63:], reason]
            if isinstance(exc, DecryptError):  # it will never open: the mailbox may drop it
                await client.ack(got)
            return None  # no keys yet, or no answer: a stored envelope comes again next sign-in
        return replace(got, envelope=replace(env, payload=payload))
