"""RELAY node: the WebSocket server that signs wallets in and forwards envelopes between them.

One connection's life: the relay sends a `challenge`; the client must answer with a `sign-in`
(EIP-4361 bound to this relay, see clubchat.protocol.siwe) within `sign_in_timeout`; afterwards it
may send envelopes (forwarded unchanged to every connection of the recipient, or stored in the
NOTIFY mailbox when the recipient is offline), `ack`s for stored envelopes and, on TURN nodes,
`get-turn-credentials`. Every refused frame is answered with `{"type": "error", "code", "reason"}`;
frames above twice the size limit make websockets close the connection with 1009.

Isolation: frames are queued on a connection without awaiting it (into websockets' Sans-I/O
protocol, which one callback per event-loop iteration writes to the transport), so a slow or hostile
client can never block another client's messages; a client whose unsent data passes
`max_buffered_bytes` is disconnected (1013) and the sender told (or the envelope goes to the
mailbox). Queuing synchronously keeps frames in order and costs no task switch per frame, and
writing each connection's frames of one loop iteration with one `send()` (a sender's burst of
envelopes and their `sent` acks) saves a system call per frame: forwarding throughput is what a
relay is for. The frames themselves are never merged, delayed past the current iteration or
reordered; websockets' own writes (pongs, close) flush the queued frames first.

Hot path: an envelope is validated with exactly the checks of `decode_frame` but without building
dataclasses (`validate_frame`), and forwarded as the text the sender sent.

Elsewhere: the TCP-level admission and per-connection state (clubchat.node.relay_conn), the HTTP
credential endpoint on the same port (clubchat.node.relay_http), the signed-history frames
(clubchat.node.relay_history) and the per-turn budget of pre-auth work (clubchat.node.relay_turns).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import typing
from collections import Counter
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from clubchat.aio import cancel_and_wait
from clubchat.node.keybundles import KeyBundles
from clubchat.node.limits import RateLimiter, ReplayGuard, TokenBucket, raise_fd_limit
from clubchat.node.mailbox import Mailbox
from clubchat.node.notify import NotifyService, handle_frame
from clubchat.node.notify_gate import RequestGate
from clubchat.node.relay_admission import Admission
from clubchat.node.relay_config import RelayConfig
from clubchat.node.relay_conn import Conn, HandshakeLog, RelayConnection, client_key
from clubchat.node.relay_history import SignedHistory
from clubchat.node.relay_http import CREDENTIAL_PATH, NONCE_PATH, CredentialEndpoint
from clubchat.node.relay_log import RelayLog
from clubchat.node.relay_turns import LoopWatch, PreAuthTurns

if typing.TYPE_CHECKING:
    from clubchat.node.rooms import Rooms
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import (
    ContractWalletVerifier,
    SignInError,
    new_nonce,
    recover_signer,
    verify_sign_in,
)

log = logging.getLogger("clubchat.relay")

__all__ = [
    "ACCEPT_BATCH",
    "CREDENTIAL_PATH",
    "HAND_OUT_PER_TURN",
    "LISTEN_BACKLOG",
    "NONCE_PATH",
    "RelayConfig",
    "RelayServer",
    "client_key",
]

# Connections asyncio accepts per event-loop turn (its `backlog` argument is both the listen queue and
# this batch): each costs a task, admission and websockets' set-up in the turns after, ahead of honest
# frames, so the batch is small; the kernel's queue is set to LISTEN_BACKLOG after `serve`.
ACCEPT_BATCH = 4
HAND_OUT_PER_TURN = 64  # stored envelopes queued for a recipient before others get the event loop
LISTEN_BACKLOG = 1_024  # TCP connections the kernel holds for accept (capped by net.core.somaxconn)


class RelayServer:
    """Sign-in, forwarding, replay protection, size and rate limits; optional mailbox and TURN creds."""

    def __init__(
        self,
        config: RelayConfig,
        *,
        mailbox: Mailbox | None = None,
        turn_credentials: Callable[[str], m.TurnCredentials] | None = None,
        verifier: ContractWalletVerifier | None = None,
        clock: Callable[[], float] = time.time,
        log: RelayLog | None = None,
        keybundles: KeyBundles | None = None,
    ) -> None:
        self.config = config
        self.keybundles = keybundles or KeyBundles(config.chain_id, verifier)  # publish-/get-/revoke-keys
        self.mailbox = mailbox
        self.notify: NotifyService | None = None  # ad delivery of a NOTIFY node (clubchat.node.notify)
        self.gate: RequestGate | None = None  # paid message requests (clubchat.node.notify_gate)
        self.log = log  # signed relay history (opened and closed by the caller, like the mailbox)
        self.history = SignedHistory(self, log) if log is not None else None
        self.turn_credentials = turn_credentials
        self.verifier = verifier
        self.clock = clock
        self.clients: dict[str, set[Conn]] = {}
        self.limiter = RateLimiter(config.rate_per_second, config.rate_burst)
        self.http = CredentialEndpoint(self)  # the HTTP side: TURN credentials
        self.sign_ins_per_ip = RateLimiter(config.sign_in_rate_per_ip, config.sign_in_burst_per_ip)
        self.forwards_per_ip = RateLimiter(config.forward_rate_per_ip, config.forward_burst_per_ip)
        self.forwards = TokenBucket.full(config.forward_rate_global, config.forward_burst_global, clock())
        self.replay = ReplayGuard(config.replay_window, config.replay_max_ids)
        self.stats: Counter[str] = Counter()
        self.admission = Admission(config, self.stats, clock)  # TCP connections, before the WebSocket
        self.watch = LoopWatch()  # how long turns held the event loop, per second (status "turns")
        self.turns = PreAuthTurns(config.pre_auth_per_turn, self.stats, self.watch)  # pre-auth work
        self.buffered = 0  # unsent envelope bytes of all connections (sum of Conn.buffered)
        self._buffering: set[Conn] = set()  # connections whose `buffered` may be > 0
        self._measured = float("-inf")  # when `buffered` was last summed from the transports
        self._server: Server | None = None
        self._closing: set[asyncio.Future[None]] = set()  # tasks of _spawn
        self._uri: str | None = config.public_uri
        self._dirty: list[Conn] = []  # connections with queued frames, flushed once per iteration
        self._flush_handle: asyncio.Handle | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self.rooms: Rooms | None = None  # community rooms (clubchat.node.rooms attaches itself)

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        if self._uri is None:
            raise RuntimeError("relay: start() it first")
        return self._uri

    async def start(self) -> None:
        soft, _ = raise_fd_limit()
        self.max_connections = max(1, min(self.config.max_connections, soft - self.config.fd_reserve))
        connection_class = type("RelayConnection", (RelayConnection,), {"relay": self})
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            max_size=2 * self.config.max_frame_bytes,
            max_queue=64,
            compression=None,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=self.config.close_timeout,
            open_timeout=self.config.sign_in_timeout,
            process_request=self.http.handle,
            create_connection=connection_class,
            backlog=ACCEPT_BATCH,
            logger=HandshakeLog(self.admission.handshake_failed),
        )
        for listening in self._server.sockets:
            with listening.dup() as sock:  # another descriptor of the same listening socket
                sock.listen(LISTEN_BACKLOG)
        self.watch.start()
        if self._uri is None:
            port = next(iter(self._server.sockets)).getsockname()[1]
            self._uri = f"ws://{self.config.host}:{port}"
        self._housekeeping = asyncio.create_task(self._housekeep())
        log.info("relay listening on %s (at most %d connections)", self._uri, self.max_connections)

    async def stop(self) -> None:
        self.watch.stop()
        if self._housekeeping is not None:
            await cancel_and_wait([self._housekeeping])
            self._housekeeping = None
        if self._flush_handle is not None:  # write what is queued before the connections close
            self._flush_handle.cancel()
            self._flush()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _housekeep(self) -> None:
        """Expire replay ids and idle rate-limit buckets even when nobody sends (owned by start/stop)."""
        while True:
            await asyncio.sleep(self.config.housekeeping_interval)
            now = self.clock()
            self.replay.sweep(now)
            for limiter in (
                self.limiter,
                self.admission.connects_per_ip,
                self.sign_ins_per_ip,
                self.forwards_per_ip,
            ):
                limiter.sweep(now)
            self.http.sweep(now)

    @property
    def max_connections(self) -> int:
        """Open TCP connections at most: the configured cap, kept `fd_reserve` below the fd limit."""
        return self.admission.max_connections

    @max_connections.setter
    def max_connections(self, value: int) -> None:
        self.admission.max_connections = value

    @property
    def credential_uri(self) -> str:
        """The TURN credential endpoint (registered as the node's `credential_endpoint`)."""
        return "http" + self.uri.removeprefix("ws") + CREDENTIAL_PATH

    def status(self) -> dict[str, Any]:
        return {
            "uri": self._uri,
            "connections": sum(len(c) for c in self.clients.values()),
            "addresses": len(self.clients),
            "open": len(self.admission.open),  # TCP connections, signed in or not
            "pre_auth": sum(self.admission.pre_auth_by_ip.values()),
            "max_connections": self.max_connections,
            "buffered_bytes": self.buffered,
            "replay_ids": len(self.replay),
            "turns": self.watch.seconds(),
            "stats": dict(self.stats),
            **({"log": self.log.status()} if self.log is not None else {}),
        }

    async def recover(self, text: str, sig: bytes) -> str | None:
        # libsecp256k1 (coincurve) recovers in ~0.1 ms: cheaper inline than an executor hop.
        return recover_signer(text, sig)

    # -- one connection --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, RelayConnection)  # start() makes every connection one
        now = self.clock()
        conn = Conn(
            ws=ws,
            nonce=new_nonce(),
            bucket=TokenBucket.full(1.0, self.config.pre_auth_burst, now),
            replies=TokenBucket.full(1.0, 8.0, now),
        )
        self.stats["connections"] += 1
        try:
            self._challenge(conn)
            deadline = now + self.config.sign_in_timeout
            turn = frames_per_turn = self.config.frames_per_turn
            while True:
                if conn.address is None:
                    remaining = deadline - self.clock()
                    try:  # asyncio.timeout, not wait_for: no inner task whose error is a cycle
                        async with asyncio.timeout(max(0.0, remaining)):
                            raw = await ws.recv()
                    except TimeoutError:
                        await self._close(conn, 1008, "sign in within the time limit")
                        return
                else:
                    raw = await ws.recv()
                if not await self._on_frame(conn, raw):
                    return
                turn -= 1
                if conn.pause > 0.0:  # over a forwarding budget: read on later (TCP pushes back)
                    self.stats["paced"] += 1
                    await asyncio.sleep(conn.pause)
                    conn.pause = 0.0
                    turn = frames_per_turn
                    if ws.protocol.state is not State.OPEN:  # gone meanwhile: its backlog with it
                        return
                elif turn <= 0:
                    # recv() returns queued frames without yielding: a client whose frames arrived
                    # together would hold the event loop for all of them, ahead of every other
                    # client's frame. Yield after a few.
                    await asyncio.sleep(0)
                    turn = frames_per_turn
        except ConnectionClosed:
            pass
        finally:
            self._forget(conn)

    def _challenge(self, conn: Conn) -> None:
        cfg = self.config
        challenge = m.Challenge(
            nonce=conn.nonce, uri=self.uri, chain_id=cfg.chain_id, max_ttl=cfg.sign_in_max_ttl
        )
        self._push(conn, m.encode(challenge))

    def _push(self, conn: Conn, text: str, budgeted: bool = False) -> bool:
        """Queue a frame for `conn`; False when it is not reading (then `conn` is being closed) or,
        for a `budgeted` frame (an envelope copy), when all connections together already hold
        `max_buffered_total` unsent bytes (then `conn` stays open).

        Uses websockets' Sans-I/O layer (`RelayConnection.queue_text`): no await, hence no interleaving with
        other writers and no task hop per frame. `_flush` hands the queued bytes to the transport
        at the end of this event-loop iteration (websockets' own writes flush them earlier).
        Sizes are bytes: what the transport holds plus what is queued here.
        """
        ws = conn.ws
        if ws.protocol.state is not State.OPEN:
            return False
        data = text.encode()
        pending = ws.transport.get_write_buffer_size() + conn.unsent
        self.buffered += pending - conn.buffered
        conn.buffered = pending
        if pending > self.config.max_buffered_bytes:
            self.stats["slow-consumer-closed"] += 1
            self._forget(conn)
            self._spawn(ws.close(1013, "not reading fast enough"))
            return False
        if budgeted and self.buffered + len(data) > self.config.max_buffered_total:
            self._measure_buffered()
            if self.buffered + len(data) > self.config.max_buffered_total:
                self.stats["buffer-budget-refused"] += 1
                return False
        ws.queue_text(data)
        conn.unsent += len(data)
        conn.buffered += len(data)
        self.buffered += len(data)
        self._buffering.add(conn)
        if not conn.dirty:
            conn.dirty = True
            self._dirty.append(conn)
            if self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)
        return True

    def _measure_buffered(self) -> None:
        """Re-sum `buffered` from the transports (they drain without telling): at most every 50 ms,
        linear in the connections that had unsent data."""
        now = time.monotonic()
        if now - self._measured < 0.05:
            return
        self._measured = now
        total = 0
        for conn in tuple(self._buffering):  # bound: connections with unsent data
            transport = conn.ws.transport
            conn.buffered = 0 if transport.is_closing() else transport.get_write_buffer_size() + conn.unsent
            if conn.buffered == 0:
                self._buffering.discard(conn)
            total += conn.buffered
        self.buffered = total

    def _flush(self) -> None:
        """Write every dirty connection's queued frames, one transport write each."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, []
        for conn in dirty:  # bound: connections pushed to during one loop iteration
            conn.dirty = False
            conn.unsent = 0
            ws = conn.ws
            if ws.transport.is_closing():  # aborted or gone: a write would only log a warning
                ws.protocol.data_to_send()
                continue
            if ws.protocol.state is not State.OPEN:
                # Closing: websockets' own writer knows how to end the stream (EOF, close).
                with contextlib.suppress(OSError):
                    ws.send_data()
                continue
            chunks = ws.protocol.data_to_send()  # frames only: no end-of-stream while OPEN
            if chunks:
                ws.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    async def _close(self, conn: Conn, code: int, reason: str) -> None:
        """Close; frames pushed before (e.g. the error that explains why) are already written."""
        await conn.ws.close(code, reason)

    def _error(self, conn: Conn, code: str, reason: str | None = None, id: str | None = None) -> None:
        self.stats[f"error:{code}"] += 1
        if conn.address is None:
            conn.refused += 1  # _on_frame closes the connection past pre_auth_max_errors
        elif code == "rate-limited" and not conn.replies.take(self.clock()):
            self.stats["unanswered:rate-limited"] += 1  # a flood gets no answer per frame
            return
        self._push(conn, m.error_frame(code, reason, id))

    def _forget(self, conn: Conn) -> None:
        if self.rooms is not None:
            self.rooms.forget(conn)
        if conn.ws.transport.is_closing() and conn in self._buffering:
            self._buffering.discard(conn)
            self.buffered -= conn.buffered
            conn.buffered = 0
        if conn.address is not None:
            conns = self.clients.get(conn.address)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self.clients[conn.address]

    # -- frames ----------------------------------------------------------------------------------

    def _handed_ack(self, conn: Conn, raw: str | bytes) -> bool:
        """If `raw` acks an envelope the mailbox handed to `conn`, schedule its deletion: True."""
        if not isinstance(raw, str) or len(raw) > 512 or '"ack"' not in raw:
            return False
        try:
            frame = m.decode_frame(raw, ("ack",))
        except m.ProtocolError:
            return False
        assert isinstance(frame, m.Ack)
        if conn.hand_out is None or not conn.hand_out.acked(frame.sender, frame.id):
            return False
        self._spawn(self._ack(conn, frame))
        return True

    async def _on_frame(self, conn: Conn, raw: str | bytes) -> bool:
        """Handle one frame; False when the connection was closed and reading must stop."""
        if not await self._frame(conn, raw):
            return False
        if conn.address is None and conn.refused > self.config.pre_auth_max_errors:
            self.stats["closed:pre-auth-errors"] += 1
            await self._close(conn, 1008, "too many refused frames before sign-in")
            return False
        return True

    async def _frame(self, conn: Conn, raw: str | bytes) -> bool:
        now = self.clock()
        self.stats["frames"] += 1
        if conn.hand_out and self._handed_ack(conn, raw):
            return True  # acknowledging what this relay handed out is never rate-limited
        allowed = conn.bucket.take(now) if conn.address is None else self.limiter.allow(conn.address, now)
        if not allowed:
            self._error(conn, "rate-limited")
            return True
        # bytes, not characters (a 4-byte character counts 4); isascii() is O(1) on CPython's str
        size = len(raw) if isinstance(raw, bytes) or raw.isascii() else len(raw.encode())
        if size > self.config.max_frame_bytes:
            self._error(conn, "too-large", f"frames are limited to {self.config.max_frame_bytes} bytes")
            return True
        try:
            obj = m.validate_frame(raw, m.CLIENT_FRAMES)  # raw is text now: binary is malformed
        except m.ProtocolError as exc:
            self._error(conn, exc.code, exc.reason, exc.id)
            return True
        if conn.address is not None and now >= conn.expires:
            self._error(conn, "unauthenticated", "the sign-in has expired; reconnect and sign in again")
            await self._close(conn, 1008, "sign-in expired")
            return False
        try:
            if obj["type"] == "envelope":  # the hot path: no message objects, the text as sent
                if conn.address is None:
                    self._error(conn, "unauthenticated")
                elif self.rooms is not None and (over := self.rooms.over_envelope_limit(conn.address, obj)):
                    self._error(conn, "over-tier-limit", over, id=obj["id"])  # the sender's tier
                elif self.gate is None or self.gate.admits(self, conn, obj, now):  # paid first messages
                    if not self._forward(conn, obj, typing.cast(str, raw), now):
                        await self._store(conn, obj, typing.cast(str, raw), now)
                    self._pace(conn, now)
                return True
            frame = m.frame_from_object(obj)
            if isinstance(frame, m.SignIn):
                await self._sign_in(conn, frame, now)
            elif conn.address is None:
                self._error(conn, "unauthenticated")
            elif isinstance(frame, m.Ack):
                await self._ack(conn, frame)
            elif isinstance(frame, m.History):
                if self.history is None:
                    self._error(conn, "not-offered", "this relay keeps no signed history")
                elif frame.grant is not None:  # a member's grant in place of membership
                    await self.history.granted_history(conn, frame)
                else:
                    await self.history.history(conn, frame)
            elif isinstance(frame, m.GetTurnCredentials):
                if self.turn_credentials is None:
                    self._error(conn, "not-offered", "this node is not a TURN node")
                else:
                    self._push(conn, m.encode(self.turn_credentials(conn.checksum_address)))
            elif isinstance(frame, m.AdPreference | m.AdReceipt):
                await handle_frame(self, conn, frame)
            elif isinstance(frame, KeyBundles.FRAMES):
                self._push(conn, await self.keybundles.handle(frame, conn.checksum_address, int(now)))
            elif isinstance(frame, m.ROOM_CLIENT_CLASSES):
                if self.rooms is None:
                    self._error(conn, "not-offered", "this relay carries no community rooms")
                else:
                    self.rooms.handle(conn, frame, now, size)
        except ConnectionClosed:
            raise
        except Exception:  # a bug must cost this frame, never the relay
            log.exception("relay: frame handling failed")
            self._error(conn, "internal")
        return True

    def _pace(self, conn: Conn, now: float) -> None:
        """Charge one envelope to its IP's and the node's forwarding budgets; over them, `conn` waits
        (`conn.pause`) before its next frame is read. Exempt networks are never paced."""
        ws = conn.ws
        if ws.exempt:
            return
        cfg = self.config
        own, heavy = self.forwards_per_ip.owe(ws.peer_key, now, cfg.forward_light_per_ip)
        shared = self.forwards.owe(now, max_debt=cfg.forward_rate_global * cfg.max_pace)
        wait = max(own, shared) if heavy else own
        if wait > 0.0:
            conn.pause = min(wait, cfg.max_pace)

    async def _sign_in(self, conn: Conn, frame: m.SignIn, now: float) -> None:
        if conn.address is not None:
            self._error(conn, "already-signed-in")
            return
        if not conn.ws.exempt and not self.sign_ins_per_ip.allow(
            conn.ws.peer_key, now
        ):  # before any signature work
            self._error(conn, "rate-limited", "too many sign-in attempts from this IP; retry in a second")
            return
        try:
            msg = await verify_sign_in(
                frame.message,
                bytes.fromhex(frame.signature[2:]),
                uri=self.uri,
                chain_id=self.config.chain_id,
                nonce=conn.nonce,
                now=int(now),
                max_ttl=self.config.sign_in_max_ttl,
                verifier=self.verifier,
                recover=self.recover,
            )
        except SignInError as exc:
            conn.nonce = new_nonce()  # a failed attempt burns the nonce; the client gets a new challenge
            self._error(conn, "bad-sign-in", str(exc))
            self._challenge(conn)
            return
        if conn.address is not None:  # a concurrent sign-in on this connection won the race
            self._error(conn, "already-signed-in")
            return
        sessions = len(self.clients.get(msg.address.lower(), ()))
        if sessions >= self.config.max_sessions_per_address:
            self._error(
                conn, "too-many-connections", f"{msg.address} already has {sessions} connections here"
            )
            await self._close(conn, 1008, "too many connections for this address")
            return
        self.admission.leave_pre_auth(conn.ws)
        conn.address = msg.address.lower()
        conn.checksum_address = msg.address
        conn.expires = msg.expiration_time
        conn.nonce = ""  # single use
        self.clients.setdefault(conn.address, set()).add(conn)
        self.stats["signed-in"] += 1
        self._push(conn, m.encode(m.SignedIn(address=msg.address, expires=msg.expiration_time)))
        if self.mailbox is not None:
            # Within a budget well below the slow-reader limit; the rest follows as acks come in.
            budget = self.config.max_buffered_bytes // 2
            conn.hand_out = self.mailbox.hand_out(conn.address, self.config.pending_batch, budget)
            await self._hand_out(conn)
        if self.notify is not None:
            await self.notify.signed_in(conn)

    async def _hand_out(self, conn: Conn) -> None:
        """Queue the next stored envelopes for `conn`. They count against the node's memory budget like
        forwarded ones: past it, the rest is given back and handed out `hand_out_retry` s later."""
        assert conn.hand_out is not None
        rows = await conn.hand_out.next()
        entries = {}
        history = self.history
        if history is not None and rows:  # each stored envelope comes with its signed entry
            entries = await history.log.entries_for([(row.sender, row.id) for row in rows])
        records = []
        for i, row in enumerate(rows):  # bound: one hand-out batch
            if i and i % HAND_OUT_PER_TURN == 0:  # 1,000 at once held the event loop for ~40 ms
                await asyncio.sleep(0)
            if not self._push(conn, m.stored_frame(row.frame), budgeted=True):
                conn.hand_out.give_back(rows[i:])
                if conn.ws.protocol.state is State.OPEN:  # refused by the budget, not closing
                    self.stats["hand-out-deferred"] += 1
                    self._spawn(self._hand_out_later(conn))
                break
            self.stats["mailbox-delivered"] += 1
            found = entries.get((row.sender, row.id))
            if found is not None and history is not None:
                records.append(history.record(row.id, row.sender, found[0], found[1]))
        if records:
            self._push(conn, '{"type":"logged","records":[' + ",".join(records) + "]}")

    async def _hand_out_later(self, conn: Conn) -> None:
        await asyncio.sleep(self.config.hand_out_retry)
        if conn.ws.protocol.state is State.OPEN:
            await self._hand_out(conn)

    def _spawn(self, coro: typing.Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a task the relay owns until it ends (cancelled with the connection's close)."""
        task = asyncio.ensure_future(coro)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _forward(self, conn: Conn, env: dict[str, Any], raw: str, now: float) -> bool:
        """Sender and replay checks, then forward a validated envelope (`validate_frame`'s object,
        `raw` its text) to the recipient's connections. False when nobody took it: try `_store`."""
        id: str = env["id"]
        sender = env["from"].lower()
        if sender != conn.address:
            self._error(conn, "spoofed-sender", id=id)
            return True
        if self.replay.seen(sender, id, now):
            self._error(conn, "replayed", id=id)
            return True
        if self.history is not None and self.history.log.backlogged:  # its log cannot commit
            self._error(conn, "history-unavailable", id=id)
            return True
        reached: list[Conn] = []
        busy = False
        targets = tuple(self.clients.get(env["to"].lower(), ()))  # a copy: _push may drop one
        for target in itertools.islice(targets, self.config.max_fanout):  # bound: max_fanout copies
            if target is conn:
                continue
            if self._push(target, raw, budgeted=True):
                reached.append(target)
            else:
                busy = busy or target.ws.protocol.state is State.OPEN  # refused by the memory budget
        if not reached:
            if busy:  # online but this relay holds too much unsent data: not worth storing either
                self._error(conn, "recipient-busy", id=id)
                return True
            return False
        self.replay.remember(sender, id, now)
        self.stats["forwarded"] += 1
        if self.history is not None:  # `sent` follows once the entry is durable (`logged`)
            self.history.append(conn, env, raw, "delivered", reached)
            return True
        # == m.encode(m.Sent(id, "delivered")); the id matched ID_PATTERN, so it needs no escaping
        self._push(conn, '{"type":"sent","id":"' + id + '","status":"delivered"}')
        return True

    async def _store(self, conn: Conn, env: dict[str, Any], raw: str, now: float) -> None:
        """An envelope nobody connected took: into the mailbox (NOTIFY nodes), else `offline`."""
        id: str = env["id"]
        if self.mailbox is None or env["payload"]["type"] in m.LIVE_ONLY_TYPES:
            # Signaling is only useful live: an offer stored for later would ring a stale call.
            self._error(conn, "offline", id=id)
            return
        sender = env["from"].lower()
        limits = self.rooms.limits_of(env["to"]) if self.rooms is not None else None
        quota = None if limits is None else limits.mailbox_quota_bytes  # the recipient's tier
        result = await self.mailbox.store(env["to"], sender, id, raw, quota)
        if result.status == "full":
            self._error(conn, "mailbox-full", result.reason, id=id)
            return
        self.replay.remember(sender, id, now)
        self.stats["stored"] += 1
        if self.history is not None:
            self.history.append(conn, env, raw, "stored", [])
            return
        self._push(conn, m.encode(m.Sent(id=id, status="stored")))

    async def _ack(self, conn: Conn, ack: m.Ack) -> None:
        assert conn.address is not None
        if self.mailbox is None or not await self.mailbox.delete(conn.address, ack.sender, ack.id):
            self._error(conn, "unknown-message", id=ack.id)
            return
        self.stats["acked"] += 1
        if conn.hand_out is not None:
            await self._hand_out(conn)
