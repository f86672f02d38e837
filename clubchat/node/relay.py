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
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
import typing
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from clubchat.node.fairqueue import FairQueue
from clubchat.node.limits import RateLimiter, ReplayGuard, TokenBucket
from clubchat.node.mailbox import HandOut, Mailbox
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import (
    ContractWalletVerifier,
    SignInError,
    new_nonce,
    recover_signer,
    verify_sign_in,
)

log = logging.getLogger("clubchat.relay")

CREDENTIAL_PATH = "/turn-credentials"
NONCE_PATH = CREDENTIAL_PATH + "/nonce"
_HTTP_STATUS = {"bad-sign-in": 401, "rate-limited": 429, "not-offered": 404, "malformed": 400}


@dataclass(frozen=True)
class RelayConfig:
    """Operator settings of one relay (not governance parameters: each operator picks its own)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port; `RelayServer.uri` tells which one
    public_uri: str | None = None  # the endpoint registered on-chain; default ws://host:port
    chain_id: int = 31337
    max_frame_bytes: int = 65_536  # larger frames get `too-large`; > 2x closes with 1009
    sign_in_timeout: float = 10.0  # seconds to sign in after connecting
    sign_in_max_ttl: int = 86_400  # longest sign-in lifetime accepted, seconds
    rate_per_second: float = 100.0  # frames per second per signed-in address
    rate_burst: float = 400.0
    pre_auth_burst: float = 8.0  # frames an unauthenticated connection may send (then 1 per second)
    replay_window: float = 86_400.0  # seconds an envelope id stays remembered
    replay_ids_per_sender: int = 100_000
    max_buffered_bytes: int = 4 * 2**20  # unsent bytes for one connection before it counts as not reading
    pending_batch: int = 1_000  # stored envelopes handed out unacknowledged (bytes: the mailbox's limit)
    close_timeout: float = 2.0  # seconds to wait for a peer's close frame (it may not be reading)
    http_nonce_ttl: float = 120.0  # seconds a credential-endpoint nonce stays usable
    http_nonces_max: int = 10_000  # outstanding credential-endpoint nonces (oldest dropped first)
    # HTTP requests (the credential endpoint and its /nonce) per client IP and in total, per second.
    # The global rate times http_nonce_ttl stays below http_nonces_max (50 * 120 = 6,000 < 10,000),
    # so a flood cannot push honest clients' outstanding nonces out before they use them.
    http_rate_per_ip: float = 10.0
    http_burst_per_ip: float = 40.0
    http_rate_global: float = 50.0  # shared in turns between the IPs that wait (clubchat.node.fairqueue)
    http_burst_global: float = 200.0
    http_queue_per_ip: int = 4  # requests of one IP that may wait for a turn (more get 429 at once)
    http_queue_wait: float = 2.0  # seconds a request may wait for its turn


def client_key(ip: str) -> str:
    """What the HTTP rate limit counts per: the IPv4 address, or the /64 of an IPv6 address (one
    host usually gets a whole /64, so counting single IPv6 addresses would be no limit at all)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr.ipv4_mapped) if isinstance(addr, ipaddress.IPv6Address) else str(addr)


@dataclass(eq=False)  # identity semantics: connections live in sets
class _Conn:
    ws: ServerConnection
    nonce: str
    bucket: TokenBucket
    address: str | None = None  # lower-case once signed in
    checksum_address: str = ""  # EIP-55 form, as signed
    hand_out: HandOut | None = None  # stored envelopes handed out and not yet acknowledged
    expires: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    unsent: int = 0  # bytes queued in the websockets protocol, not yet handed to the transport
    dirty: bool = False  # queued for the end-of-iteration flush


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
    ) -> None:
        self.config = config
        self.mailbox = mailbox
        self.turn_credentials = turn_credentials
        self.verifier = verifier
        self.clock = clock
        self.clients: dict[str, set[_Conn]] = {}
        self.limiter = RateLimiter(config.rate_per_second, config.rate_burst)
        self.http_per_ip = RateLimiter(config.http_rate_per_ip, config.http_burst_per_ip)
        self.http_global = FairQueue(
            config.http_rate_global,
            config.http_burst_global,
            per_key=config.http_queue_per_ip,
            max_wait=config.http_queue_wait,
            clock=clock,
        )
        self.replay = ReplayGuard(config.replay_window, config.replay_ids_per_sender)
        self.stats: Counter[str] = Counter()
        self._server: Server | None = None
        self._closing: set[asyncio.Future[None]] = set()
        self._http_nonces: dict[str, float] = {}  # nonce -> expiry; insertion-ordered
        self._uri: str | None = config.public_uri
        self._dirty: list[_Conn] = []  # connections with queued frames, flushed once per iteration
        self._flush_handle: asyncio.Handle | None = None

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        if self._uri is None:
            raise RuntimeError("relay: start() it first")
        return self._uri

    async def start(self) -> None:
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
            process_request=self._http,
        )
        if self._uri is None:
            port = next(iter(self._server.sockets)).getsockname()[1]
            self._uri = f"ws://{self.config.host}:{port}"
        log.info("relay listening on %s", self._uri)

    async def stop(self) -> None:
        if self._flush_handle is not None:  # write what is queued before the connections close
            self._flush_handle.cancel()
            self._flush()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def credential_uri(self) -> str:
        """The TURN credential endpoint (registered as the node's `credential_endpoint`)."""
        return "http" + self.uri.removeprefix("ws") + CREDENTIAL_PATH

    def status(self) -> dict[str, Any]:
        return {
            "uri": self._uri,
            "connections": sum(len(c) for c in self.clients.values()),
            "addresses": len(self.clients),
            "stats": dict(self.stats),
        }

    # -- HTTP: the TURN credential endpoint -----------------------------------------------------
    #
    # GET /turn-credentials/nonce                    -> challenge {nonce, uri, chainId, maxTtl}
    # GET /turn-credentials?message=..&signature=..  -> turn-credentials, or an error with 4xx
    # The sign-in message is EIP-4361 bound to the credential URI and a nonce from .../nonce
    # (single use). websockets' HTTP parser accepts GET only, hence the query string.

    def _json(self, status: int, frame: str, retry_after: int | None = None) -> Response:
        headers = Headers([("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        headers["Content-Length"] = str(len(frame.encode()))
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Response(status, "OK" if status == 200 else "Error", headers, frame.encode())

    def _http_error(self, code: str, reason: str | None = None, retry_after: int | None = None) -> Response:
        self.stats[f"http-error:{code}"] += 1
        return self._json(_HTTP_STATUS.get(code, 400), m.error_frame(code, reason), retry_after)

    async def _http_throttled(self, connection: ServerConnection, now: float) -> Response | None:
        """429 when this client IP asks more often than configured, or when its turn in the node-wide
        fair queue does not come within `http_queue_wait` (all IPs together ask too often)."""
        peer = connection.remote_address
        ip = str(peer[0]) if peer else "unknown"
        cfg = self.config
        if not self.http_per_ip.allow(client_key(ip), now):
            wait = math.ceil(1.0 / cfg.http_rate_per_ip)
            return self._http_error(
                "rate-limited", f"too many requests from {ip[:64]}; retry in {wait} s", wait
            )
        if not await self.http_global.admit(client_key(ip)):
            wait = math.ceil(1.0 / cfg.http_rate_global)
            return self._http_error("rate-limited", f"this node is busy; retry in {wait} s", wait)
        return None

    async def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # the relay protocol
        path, _, query = request.path.partition("?")
        now = self.clock()
        throttled = await self._http_throttled(connection, now)
        if throttled is not None:
            return throttled
        now = self.clock()  # the fair queue may have kept this request waiting
        if path == NONCE_PATH:
            while len(self._http_nonces) >= self.config.http_nonces_max:  # bound: drop the oldest
                del self._http_nonces[next(iter(self._http_nonces))]
            nonce = new_nonce()
            self._http_nonces[nonce] = now + self.config.http_nonce_ttl
            challenge = m.Challenge(
                nonce=nonce,
                uri=self.credential_uri,
                chain_id=self.config.chain_id,
                max_ttl=self.config.sign_in_max_ttl,
            )
            return self._json(200, m.encode(challenge))
        if path != CREDENTIAL_PATH:
            return self._http_error("not-offered", f"no such endpoint {path[:64]!r}")
        if self.turn_credentials is None:
            return self._http_error("not-offered", "this node is not a TURN node")
        params = parse_qs(query, max_num_fields=4)
        message = params.get("message", [""])[0]
        signature = params.get("signature", [""])[0]
        try:
            frame = m.decode_frame(m.encode(m.SignIn(message=message, signature=signature)))
            assert isinstance(frame, m.SignIn)
        except m.ProtocolError as exc:
            return self._http_error("malformed", exc.reason)
        nonce = next((line[7:] for line in message.splitlines() if line.startswith("Nonce: ")), "")
        expiry = self._http_nonces.pop(nonce, 0.0)  # single use, even when the rest fails
        if expiry < now:
            return self._http_error("bad-sign-in", f"unknown or expired nonce; GET {NONCE_PATH} first")
        try:
            msg = await verify_sign_in(
                message,
                bytes.fromhex(signature[2:]),
                uri=self.credential_uri,
                chain_id=self.config.chain_id,
                nonce=nonce,
                now=int(now),
                max_ttl=self.config.sign_in_max_ttl,
                verifier=self.verifier,
                recover=self._recover,
            )
        except SignInError as exc:
            return self._http_error("bad-sign-in", str(exc))
        if not self.limiter.allow(msg.address.lower(), now):
            return self._http_error("rate-limited")
        self.stats["turn-credentials"] += 1
        return self._json(200, m.encode(self.turn_credentials(msg.address)))

    async def _recover(self, text: str, sig: bytes) -> str | None:
        # libsecp256k1 (coincurve) recovers in ~0.1 ms: cheaper inline than an executor hop.
        return recover_signer(text, sig)

    # -- one connection --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        now = self.clock()
        conn = _Conn(
            ws=ws,
            nonce=new_nonce(),
            bucket=TokenBucket.full(1.0, self.config.pre_auth_burst, now),
        )
        self.stats["connections"] += 1
        try:
            self._challenge(conn)
            deadline = now + self.config.sign_in_timeout
            while True:
                if conn.address is None:
                    remaining = deadline - self.clock()
                    try:
                        raw = await asyncio.wait_for(ws.recv(), max(0.0, remaining))
                    except TimeoutError:
                        await self._close(conn, 1008, "sign in within the time limit")
                        return
                else:
                    raw = await ws.recv()
                if not await self._on_frame(conn, raw):
                    return
        except ConnectionClosed:
            pass
        finally:
            self._forget(conn)

    def _challenge(self, conn: _Conn) -> None:
        cfg = self.config
        challenge = m.Challenge(
            nonce=conn.nonce, uri=self.uri, chain_id=cfg.chain_id, max_ttl=cfg.sign_in_max_ttl
        )
        self._push(conn, m.encode(challenge))

    def _push(self, conn: _Conn, text: str) -> bool:
        """Queue a frame for `conn`; False (and `conn` is being closed) when it is not reading.

        Uses websockets' Sans-I/O layer (`protocol.send_text`): no await, hence no interleaving with
        other writers and no task hop per frame. `_flush` hands the queued bytes to the transport
        at the end of this event-loop iteration (websockets' own writes flush them earlier).
        """
        ws = conn.ws
        if ws.protocol.state is not State.OPEN:
            return False
        if ws.transport.get_write_buffer_size() + conn.unsent > self.config.max_buffered_bytes:
            self.stats["slow-consumer-closed"] += 1
            self._forget(conn)
            task = asyncio.ensure_future(ws.close(1013, "not reading fast enough"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            return False
        data = text.encode()
        ws.protocol.send_text(data)
        conn.unsent += len(data)
        if not conn.dirty:
            conn.dirty = True
            self._dirty.append(conn)
            if self._flush_handle is None:
                self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)
        return True

    def _flush(self) -> None:
        """Write every dirty connection's queued frames, one transport write each."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, []
        for conn in dirty:  # bound: connections pushed to during one loop iteration
            conn.dirty = False
            conn.unsent = 0
            ws = conn.ws
            if ws.protocol.state is not State.OPEN:
                # Closing: websockets' own writer knows how to end the stream (EOF, close).
                with contextlib.suppress(OSError):
                    ws.send_data()
                continue
            chunks = ws.protocol.data_to_send()  # frames only: no end-of-stream while OPEN
            if chunks:
                ws.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    async def _close(self, conn: _Conn, code: int, reason: str) -> None:
        """Close; frames pushed before (e.g. the error that explains why) are already written."""
        await conn.ws.close(code, reason)

    def _error(self, conn: _Conn, code: str, reason: str | None = None, id: str | None = None) -> None:
        self.stats[f"error:{code}"] += 1
        self._push(conn, m.error_frame(code, reason, id))

    def _forget(self, conn: _Conn) -> None:
        if conn.address is not None:
            conns = self.clients.get(conn.address)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self.clients[conn.address]

    # -- frames ----------------------------------------------------------------------------------

    def _handed_ack(self, conn: _Conn, raw: str | bytes) -> bool:
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
        task = asyncio.ensure_future(self._ack(conn, frame))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return True

    async def _on_frame(self, conn: _Conn, raw: str | bytes) -> bool:
        """Handle one frame; False when the connection was closed and reading must stop."""
        now = self.clock()
        self.stats["frames"] += 1
        if conn.hand_out and self._handed_ack(conn, raw):
            return True  # acknowledging what this relay handed out is never rate-limited
        allowed = conn.bucket.take(now) if conn.address is None else self.limiter.allow(conn.address, now)
        if not allowed:
            self._error(conn, "rate-limited")
            return True
        if len(raw) > self.config.max_frame_bytes:
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
                elif not self._forward(conn, obj, typing.cast(str, raw), now):
                    await self._store(conn, obj, typing.cast(str, raw), now)
                return True
            frame = m.frame_from_object(obj)
            if isinstance(frame, m.SignIn):
                await self._sign_in(conn, frame, now)
            elif conn.address is None:
                self._error(conn, "unauthenticated")
            elif isinstance(frame, m.Ack):
                await self._ack(conn, frame)
            elif isinstance(frame, m.GetTurnCredentials):
                if self.turn_credentials is None:
                    self._error(conn, "not-offered", "this node is not a TURN node")
                else:
                    self._push(conn, m.encode(self.turn_credentials(conn.checksum_address)))
        except ConnectionClosed:
            raise
        except Exception:  # a bug must cost this frame, never the relay
            log.exception("relay: frame handling failed")
            self._error(conn, "internal")
        return True

    async def _sign_in(self, conn: _Conn, frame: m.SignIn, now: float) -> None:
        if conn.address is not None:
            self._error(conn, "already-signed-in")
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
                recover=self._recover,
            )
        except SignInError as exc:
            conn.nonce = new_nonce()  # a failed attempt burns the nonce; the client gets a new challenge
            self._error(conn, "bad-sign-in", str(exc))
            self._challenge(conn)
            return
        if conn.address is not None:  # a concurrent sign-in on this connection won the race
            self._error(conn, "already-signed-in")
            return
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

    async def _hand_out(self, conn: _Conn) -> None:
        assert conn.hand_out is not None
        for text in await conn.hand_out.next():
            if not self._push(conn, m.stored_frame(text)):
                return
            self.stats["mailbox-delivered"] += 1

    def _forward(self, conn: _Conn, env: dict[str, Any], raw: str, now: float) -> bool:
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
        delivered = False
        for target in tuple(self.clients.get(env["to"].lower(), ())):  # a copy: _push may drop one
            if target is not conn and self._push(target, raw):
                delivered = True
        if not delivered:
            return False
        self.replay.remember(sender, id, now)
        self.stats["forwarded"] += 1
        # == m.encode(m.Sent(id, "delivered")); the id matched ID_PATTERN, so it needs no escaping
        self._push(conn, '{"type":"sent","id":"' + id + '","status":"delivered"}')
        return True

    async def _store(self, conn: _Conn, env: dict[str, Any], raw: str, now: float) -> None:
        """An envelope nobody connected took: into the mailbox (NOTIFY nodes), else `offline`."""
        id: str = env["id"]
        if self.mailbox is None or env["payload"]["type"] in m.SIGNALING_TYPES:
            # Signaling is only useful live: an offer stored for later would ring a stale call.
            self._error(conn, "offline", id=id)
            return
        sender = env["from"].lower()
        result = await self.mailbox.store(env["to"], sender, id, raw)
        if result.status == "full":
            self._error(conn, "mailbox-full", result.reason, id=id)
            return
        self.replay.remember(sender, id, now)
        self.stats["stored"] += 1
        self._push(conn, m.encode(m.Sent(id=id, status="stored")))

    async def _ack(self, conn: _Conn, ack: m.Ack) -> None:
        assert conn.address is not None
        if self.mailbox is None or not await self.mailbox.delete(conn.address, ack.sender, ack.id):
            self._error(conn, "unknown-message", id=ack.id)
            return
        self.stats["acked"] += 1
        if conn.hand_out is not None:
            await self._hand_out(conn)
