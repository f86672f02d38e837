"""A signed-in connection from a wallet to one relay: send envelopes, receive them, get TURN creds.

`RelayClient.connect(uri, account)` answers the relay's challenge with an EIP-4361 sign-in and
returns once the relay confirmed it. Incoming envelopes land in `inbox`; an envelope from the
mailbox (`Received.stored`) is acknowledged only once the application processed it (`ack`, which
`receive` does for what it returns), so the mailbox deletes it only then and hands it out again on
the next sign-in if the client went away before; `send` waits for the relay's `sent` (or raises
`RelayError` with its code). Every wait has a timeout. This is the transport: it sends the payload
it is given; the client's callers (clubchat.client.secure) give it only sealed payloads.
`publish_keys` / `get_keys` / `revoke_keys` use the relay's key-bundle frames, `publish_one_time` /
`claim_one_time` its one-time prekey frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from clubchat.aio import cancel_and_wait
from clubchat.client.history import HistoryBook, Problem, entry_of
from clubchat.protocol import messages as m
from clubchat.protocol.log_entry import direct_room
from clubchat.protocol.siwe import build_sign_in

DEFAULT_TIMEOUT = 10.0
SIGN_IN_TTL = 3_600


class RelayError(RuntimeError):
    """The relay refused a frame (`code` is the protocol error code) or went away."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# Observers of every frame a RelayClient exchanges once signed in: tap(relay uri, "out" | "in", text).
# The demo's audit uses one to show what the relays saw (clubchat.client.story).
FRAME_TAPS: list[Callable[[str, str, str | bytes], None]] = []

_ids = itertools.count()
_PREFIX = os.urandom(6).hex()


def new_envelope_id() -> str:
    """Unique per process run: random prefix + counter (replay protection needs uniqueness only)."""
    return f"{_PREFIX}-{next(_ids)}"


@dataclass(frozen=True)
class Received:
    """An envelope as received, with the relay it came through."""

    envelope: m.Envelope
    relay: str
    stored: bool = False  # from the relay's mailbox: acknowledge it (RelayClient.ack) once processed


class RelayClient:
    """One signed-in WebSocket to one relay."""

    def __init__(
        self,
        ws: ClientConnection,
        uri: str,
        address: str,
        timeout: float,
        history: HistoryBook | None = None,
        chain_id: int = 1,
    ) -> None:
        self.ws = ws
        self.history = history  # checks the relay's signed history when given (clubchat.client.history)
        self._sent_texts: dict[str, tuple[str, str]] = {}  # id -> (envelope text, recipient) until `sent`
        self._received_texts: dict[tuple[str, str], str] = {}  # (sender, id) -> text until `logged`
        self._asked: dict[tuple[str, int], int] = {}  # (peer, from) -> to: `history` asked, not answered
        self.uri = uri
        self.address = address
        self.timeout = timeout
        self.chain_id = chain_id  # the relay's chain (from its challenge): key bundles are bound to it
        self._keys: dict[str, asyncio.Future[m.Keys]] = {}  # lower-case address -> pending answer
        # "one-time-stock" or "claim:<lower-case address>" -> pending one-time prekey answer
        self._one_time: dict[str, asyncio.Future[Any]] = {}
        self.inbox: asyncio.Queue[Received] = asyncio.Queue()
        self._waiting: dict[str, asyncio.Future[m.Sent]] = {}
        self._turn: asyncio.Future[m.TurnCredentials] | None = None
        self._seen: set[tuple[str, str]] = set()
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        # frames this class does not handle (e.g. ad notifications, clubchat.ads.notifications)
        self.on_other: Callable[[Any], Awaitable[None]] | None = None

    @classmethod
    async def connect(
        cls,
        uri: str,
        account: LocalAccount,
        timeout: float = DEFAULT_TIMEOUT,
        ttl: int = SIGN_IN_TTL,
        history: HistoryBook | None = None,
    ) -> RelayClient:
        """Open, sign in and start reading; raises RelayError / OSError / TimeoutError."""
        ws = await asyncio.wait_for(
            connect(uri, max_size=2**20, compression=None, open_timeout=timeout), timeout
        )
        try:
            async with asyncio.timeout(timeout):
                challenge = m.decode_frame(await ws.recv())
                if not isinstance(challenge, m.Challenge):
                    raise RelayError("malformed", f"expected a challenge, got {type(challenge).__name__}")
                msg = build_sign_in(
                    account.address,
                    challenge.uri,
                    challenge.chain_id,
                    challenge.nonce,
                    int(time.time()),
                    min(ttl, challenge.max_ttl),
                )
                text = msg.text()
                loop = asyncio.get_running_loop()
                signed = await loop.run_in_executor(None, account.sign_message, encode_defunct(text=text))
                await ws.send(
                    m.encode(m.SignIn(message=text, signature="0x" + bytes(signed.signature).hex()))
                )
                while True:
                    reply = m.decode_frame(await ws.recv())
                    if isinstance(reply, m.SignedIn):
                        break
                    if isinstance(reply, m.Error):
                        raise RelayError(reply.code, reply.reason)
        except BaseException:
            await ws.close()
            raise
        client = cls(ws, uri, account.address, timeout, history, challenge.chain_id)
        client._reader = asyncio.create_task(client._read())
        return client

    async def _send(self, text: str) -> None:
        for tap in FRAME_TAPS:
            tap(self.uri, "out", text)
        await self.ws.send(text)

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await cancel_and_wait([self._reader])

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                for tap in FRAME_TAPS:
                    tap(self.uri, "in", raw)
                try:
                    frame = m.decode_frame(raw)
                except m.ProtocolError:
                    continue  # a relay bug must not kill the client
                if self.history is not None:
                    self._keep_text(frame, raw)
                await self._dispatch(frame)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            err = RelayError("closed", f"connection to {self.uri} closed")
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(err)
            if self._turn is not None and not self._turn.done():
                self._turn.set_exception(err)
            for keys in [*self._keys.values(), *self._one_time.values()]:
                if not keys.done():
                    keys.set_exception(err)

    async def _dispatch(self, frame: Any) -> None:
        if self.history is not None and isinstance(frame, m.Logged | m.Entries | m.Sent | m.Envelope):
            await self._check_history(frame)
        if isinstance(frame, m.Envelope):
            if isinstance(frame.payload, m.Head):
                return  # a member's signed head is for the history check above, not the application
            self.inbox.put_nowait(Received(frame, self.uri))
        elif isinstance(frame, m.Stored):
            env = frame.envelope
            key = (env.sender.lower(), env.id)
            if key not in self._seen:  # a stored envelope comes again on every sign-in until acked
                self._seen.add(key)
                self.inbox.put_nowait(Received(env, self.uri, stored=True))
        elif isinstance(frame, m.Sent):
            fut = self._waiting.pop(frame.id, None)
            if fut is not None and not fut.done():
                fut.set_result(frame)
        elif isinstance(frame, m.TurnCredentials):
            if self._turn is not None and not self._turn.done():
                self._turn.set_result(frame)
        elif isinstance(frame, m.Keys):
            keys = self._keys.pop(frame.address.lower(), None)
            if keys is not None and not keys.done():
                keys.set_result(frame)
        elif isinstance(frame, m.OneTimeStock | m.OneTimeClaimed):
            tag = "one-time-stock" if isinstance(frame, m.OneTimeStock) else "claim:" + frame.address.lower()
            pending = self._one_time.pop(tag, None)
            if pending is not None and not pending.done():
                pending.set_result(frame)
        elif isinstance(frame, m.Error):
            if frame.code == "bad-key-bundle" and frame.id is not None and frame.id in self._one_time:
                pending = self._one_time.pop(frame.id)
                if not pending.done():
                    pending.set_exception(RelayError(frame.code, frame.reason))
            elif frame.code == "unknown-type" and "one-time" in frame.reason and self._one_time:
                # a relay of an earlier version: no one-time prekeys there (its refusal carries no id)
                for pending in self._one_time.values():
                    if not pending.done():
                        pending.set_exception(RelayError(frame.code, frame.reason))
                self._one_time.clear()
            elif frame.code == "bad-key-bundle" and frame.id is not None and frame.id in self._keys:
                keys = self._keys.pop(frame.id)
                if not keys.done():
                    keys.set_exception(RelayError(frame.code, frame.reason))
            elif frame.id is not None and frame.id in self._waiting:
                fut = self._waiting.pop(frame.id)
                if not fut.done():
                    fut.set_exception(RelayError(frame.code, frame.reason))
            elif frame.code == "not-offered" and self._turn is not None and not self._turn.done():
                self._turn.set_exception(RelayError(frame.code, frame.reason))
            elif self.on_other is not None:
                await self.on_other(frame)
        elif self.on_other is not None:
            await self.on_other(frame)

    async def send(self, to: str, payload: m.Payload, id: str | None = None) -> m.Sent:
        """Send one envelope and wait for the relay's `sent` (delivered or stored)."""
        env = m.Envelope(id=id or new_envelope_id(), sender=self.address, to=to, payload=payload)
        fut: asyncio.Future[m.Sent] = asyncio.get_running_loop().create_future()
        self._waiting[env.id] = fut
        try:
            await self._send(self._text_of(env))
            return await asyncio.wait_for(fut, self.timeout)
        finally:
            self._waiting.pop(env.id, None)

    async def send_nowait(self, to: str, payload: m.Payload, id: str | None = None) -> str:
        """Send without waiting for `sent` (bulk senders); returns the envelope id."""
        env = m.Envelope(id=id or new_envelope_id(), sender=self.address, to=to, payload=payload)
        await self._send(self._text_of(env))
        return env.id

    async def _keys_request(
        self, address: str, frame: m.PublishKeys | m.RevokeKeys | m.GetKeys | m.ReplicateKeys
    ) -> m.Keys:
        key = address.lower()
        fut = self._keys.get(key)
        if fut is None or fut.done():
            fut = self._keys[key] = asyncio.get_running_loop().create_future()
        await self._send(m.encode(frame))
        return await asyncio.wait_for(asyncio.shield(fut), self.timeout)

    async def publish_keys(self, bundle: m.KeyBundle) -> m.Keys:
        """Publish this wallet's key bundle here; returns what the relay now serves for it."""
        return await self._keys_request(self.address, m.PublishKeys(bundle=bundle))

    async def revoke_keys(self, revocation: m.Revocation) -> m.Keys:
        """Publish a revocation of one of this wallet's identity keys."""
        return await self._keys_request(self.address, m.RevokeKeys(revocation=revocation))

    async def replicate_keys(
        self, address: str, bundle: m.KeyBundle | None, revocations: tuple[m.Revocation, ...] = ()
    ) -> m.Keys:
        """Hand this relay the bundle and revocations of another address (a relay copying what was
        published on it); the relay checks them like a publish from that wallet and answers with what
        it now serves."""
        frame = m.ReplicateKeys(address=address, bundle=bundle, revocations=revocations)
        return await self._keys_request(address, frame)

    async def get_keys(self, address: str) -> m.Keys:
        """The key bundle and revocations this relay holds for `address` (unverified: check them)."""
        return await self._keys_request(address, m.GetKeys(address=address))

    async def _one_time_request(self, tag: str, frame: m.PublishOneTime | m.ClaimOneTime) -> Any:
        fut = self._one_time.get(tag)
        if fut is None or fut.done():
            fut = self._one_time[tag] = asyncio.get_running_loop().create_future()
        await self._send(m.encode(frame))
        return await asyncio.wait_for(asyncio.shield(fut), self.timeout)

    async def publish_one_time(self, keys: tuple[m.OneTimePrekey, ...] = ()) -> int:
        """Add one-time prekeys for this wallet's bundle here (none: only ask); how many it holds."""
        stock: m.OneTimeStock = await self._one_time_request("one-time-stock", m.PublishOneTime(keys=keys))
        return stock.count

    async def claim_one_time(self, address: str) -> m.OneTimePrekey | None:
        """One of `address`'s one-time prekeys, never handed to anyone else (unverified: check it);
        None when this relay has none left."""
        tag = "claim:" + address.lower()
        claimed: m.OneTimeClaimed = await self._one_time_request(tag, m.ClaimOneTime(address=address))
        return claimed.key

    async def turn_credentials(self) -> m.TurnCredentials:
        """Ask this node (a TURN node) for TURN REST credentials."""
        self._turn = asyncio.get_running_loop().create_future()
        await self._send(m.encode(m.GetTurnCredentials()))
        return await asyncio.wait_for(self._turn, self.timeout)

    async def ack(self, got: Received) -> None:
        """Tell the relay's mailbox that `got` was processed (nothing for a live envelope). On a closed
        connection nothing is sent: the mailbox hands it out again at the next sign-in, where the
        client's replay check recognises it."""
        if got.stored:
            with contextlib.suppress(ConnectionClosed):
                await self._send(m.encode(m.Ack(id=got.envelope.id, sender=got.envelope.sender)))

    async def receive(self, timeout: float | None = None) -> Received:
        """The next envelope, acknowledged (for callers that process it at once)."""
        got = await asyncio.wait_for(self.inbox.get(), timeout or self.timeout)
        await self.ack(got)
        return got

    # -- signed relay history (clubchat.client.history) ------------------------------------------

    def _text_of(self, env: m.Envelope) -> str:
        text = m.encode(env)
        if self.history is not None:
            keep_recent(self._sent_texts)[env.id] = (text, env.to)
        return text

    def _keep_text(self, frame: Any, raw: str | bytes) -> None:
        """Keep the exact text of a received envelope until its `logged` entry names its hash."""
        if not isinstance(raw, str):
            return
        if isinstance(frame, m.Envelope):
            keep_recent(self._received_texts)[(frame.sender.lower(), frame.id)] = raw
        elif isinstance(frame, m.Stored) and raw.startswith(_STORED_PREFIX) and raw.endswith("}"):
            env = frame.envelope  # the relay wraps the stored text unchanged (m.stored_frame)
            keep_recent(self._received_texts)[(env.sender.lower(), env.id)] = raw[len(_STORED_PREFIX) : -1]

    async def _check_history(self, frame: Any) -> None:
        book = self.history
        assert book is not None
        problems: list[tuple[str, Problem]] = []  # (the room's other member, problem)
        if isinstance(frame, m.Sent) and frame.entry is not None:
            text, to = self._sent_texts.pop(frame.id, (None, ""))
            problems += [(to, p) for p in book.record(self.uri, entry_of(frame.entry), frame.sig, text)]
        elif isinstance(frame, m.Logged):
            for r in frame.records:  # bound: MAX_LOGGED
                text = self._received_texts.pop((r.sender.lower(), r.id), None)
                problems += [(r.sender, p) for p in book.record(self.uri, entry_of(r.entry), r.sig, text)]
        elif isinstance(frame, m.Entries):
            got = []
            for sr in frame.records:  # bound: MAX_HISTORY
                entry = entry_of(sr.entry)
                got.append(entry.seq)
                problems += [(frame.peer, p) for p in book.record(self.uri, entry, sr.sig)]
            end = self._asked.pop((frame.peer.lower(), frame.start), None)
            if end is not None and frame.records:
                node = frame.records[0].entry.node
                room = direct_room(self.address, frame.peer)
                book.answered(self.uri, node, room, frame.start, end, got)
            elif end is not None:  # nothing at all: a refusal when this client saw a later signed entry
                for mine in book.heads():  # bound: rooms this client holds
                    if mine.entry.room == direct_room(self.address, frame.peer):
                        book.answered(self.uri, mine.entry.node, mine.entry.room, frame.start, end, got)
        elif isinstance(frame, m.Envelope) and isinstance(frame.payload, m.Head):
            await self.take_head(frame.sender, frame.payload)
        for peer, problem in problems:  # bound: a few per entry
            if problem.missing is not None and peer:
                await self.ask_history(peer, *problem.missing)

    async def take_head(self, sender: str, head: m.Head) -> list[Problem]:
        """`sender`'s signed head of the direct room with it (a `head` payload, plaintext or opened
        from a sealed one) compared with this client's history: a fork is kept as evidence; entries
        this client lacks are asked for here when the head is this relay's. A head of any other
        room is ignored (a sender speaks only for the room it shares with this client)."""
        book = self.history
        if book is None or bytes.fromhex(head.entry.room[2:]) != direct_room(self.address, sender):
            return []
        problems = book.compare_head(head.relay, entry_of(head.entry), head.sig)
        if head.relay == self.uri:
            for problem in problems:  # bound: one or two
                if problem.missing is not None:
                    await self.ask_history(sender, *problem.missing)
        return problems

    async def ask_history(self, peer: str, start: int, end: int, grant: m.Grant | None = None) -> None:
        """Ask this relay for the entries start..end of the direct room with `peer` (once per range);
        with a member's `grant`, of the room of the grant's granter and `peer`."""
        end = min(end, start + m.MAX_HISTORY - 1)
        key = (peer.lower(), start)
        if self._asked.get(key, 0) >= end:
            return
        self._asked[key] = end
        await self._send(m.encode(m.History(peer=peer, start=start, end=end, grant=grant)))

    async def send_head(self, to: str, relay: str | None = None) -> str | None:
        """Send `to` this client's latest signed head of the direct room with `to` at this relay (in a
        `head` payload, through this relay); None when there is none yet. The head may come from
        another relay: `relay` names the relay's URI then."""
        payload = self.head_payload(to, relay)
        return None if payload is None else await self.send_nowait(to, payload)

    def head_payload(self, to: str, relay: str | None = None) -> m.Head | None:
        """This client's latest signed head of the direct room with `to` (at the relay named
        `relay`, else at any), as a `head` payload; None without a HistoryBook or a signed entry."""
        if self.history is None:
            return None
        room = direct_room(self.address, to)
        for head in self.history.heads():  # bound: rooms this client holds
            if head.entry.room == room and (
                relay is None or self.history.relays.get(head.entry.node) == relay
            ):
                return m.Head(relay=relay or self.uri, entry=head.record(), sig="0x" + head.sig.hex())
        return None


_STORED_PREFIX = '{"type":"stored","envelope":'
_KEPT_TEXTS = 4_096


def keep_recent(d: dict[Any, Any]) -> dict[Any, Any]:
    """`d`, with its oldest items dropped past _KEPT_TEXTS (texts whose entries never came)."""
    while len(d) >= _KEPT_TEXTS:  # bound: one or a few
        del d[next(iter(d))]
    return d
