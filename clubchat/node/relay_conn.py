"""The relay's connection layer, below frames: who is counted per IP (`client_key`), websockets'
handshake log without tracebacks (`HandshakeLog`), the TCP-level admission and metering of a
connection before it signs in (`RelayConnection`), and one signed-in session's state (`Conn`).
`Admission` (clubchat.node.relay_admission) and `RelayServer` (clubchat.node.relay) own the
policies these call back into."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import sys
import typing
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State

from clubchat.node.limits import TokenBucket
from clubchat.node.mailbox import HandOut

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer


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


class HandshakeLog(logging.LoggerAdapter):
    """websockets' logger for relay connections: a failed opening handshake (an empty or reset TCP
    connection, a port scan, a connection refused at accept) is counted and logged as one DEBUG line,
    not as an ERROR with a 1.7 KB traceback per connection (churn used to fill stderr)."""

    def __init__(self, on_failed: Callable[[], None]) -> None:
        super().__init__(logging.getLogger("websockets.server"), {})
        self.on_failed = on_failed

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if msg == "opening handshake failed":
            self.on_failed()
            if self.logger.isEnabledFor(logging.DEBUG):
                self.logger.debug("opening handshake failed: %r", sys.exc_info()[1])
            return
        super().log(level, msg, *args, **kwargs)


class RelayConnection(ServerConnection):
    """A relay connection with its admission state, metered below the frame layer: the bytes it sends
    before signing in and its control frames (pings and pongs, which websockets answers itself and the
    relay's frame limits never see). `relay` is set on the subclass `RelayServer.start` makes."""

    relay: RelayServer
    peer_key = ""  # client_key of the peer IP
    exempt = False  # in RelayConfig.per_ip_exempt: no per-IP limits
    admitted = False
    signed_in = False  # signed in (or gone): no longer counted as pre-auth
    received = 0  # bytes received before sign-in
    control: TokenBucket | None = None
    reaper: asyncio.TimerHandle | None = None
    resumer: asyncio.TimerHandle | None = None  # resumes reading once its handshake's turn comes

    pending: deque[bytes] | None = None  # input read before sign-in, waiting for a turn's budget
    queued = False  # in PreAuthTurns.waiting
    gone: tuple[Exception | None] | None = None  # lost before sign-in; websockets not told yet
    lost = False  # connection_lost has run
    handled = True  # no handler task still running (set False while websockets' handler runs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tcp = typing.cast(asyncio.Transport, transport)
        if self.relay.admission.admit(self, tcp):
            super().connection_made(tcp)  # starts the handshake and the handler
            handler = self.server.handlers.get(self)
            if handler is not None:
                self.handled = False
                handler.add_done_callback(self._handler_done)
        else:  # refused: no handshake task; enough state for connection_lost, then the descriptor goes
            Connection.connection_made(self, tcp)
            tcp.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        pre_auth = not self.signed_in or self.queued
        self.relay.admission.release(self)  # its slot is free at once (and it counts as signed_in)
        if not pre_auth:
            self._lost(exc)
            return
        # Not signed in: websockets' side of the loss (waking the handshake or handler, cancelling
        # the keepalive: ~0.2 ms) waits for a pre-auth slice like input does, so a flood's
        # connections reset together are wound up a few per turn (clubchat.node.relay_turns).
        self.pending = deque([b""])  # unread input is of no use now
        self.gone = (exc,)
        self.relay.turns.offer(self)

    def _lost(self, exc: Exception | None) -> None:
        self.pending = None
        super().connection_lost(exc)
        self.lost = True
        if self.handled:
            self._unlink()

    def _handler_done(self, task: asyncio.Future[None]) -> None:
        self.handled = True
        if self.lost:
            self._unlink()

    def _unlink(self) -> None:
        """Break the reference cycles websockets leaves in a finished connection, so it is freed by
        reference counting when its last user lets go, not by a garbage-collector pass. A relay under
        a connection flood opens and closes hundreds of connections a second; as cyclic garbage they
        made full collections (which also walk every live connection) run every ~2 s for 0.3-0.6 s.
        Runs once both the TCP connection is gone and websockets' handler task has ended, when nothing
        reads these attributes any more (`test_closed_connections_leave_no_cyclic_garbage`)."""
        logger = self.protocol.logger  # a LoggerAdapter whose `extra` holds this connection
        extra = logger.extra if isinstance(logger, logging.LoggerAdapter) else None
        if isinstance(logger, logging.LoggerAdapter) and extra and extra.get("websocket") is self:
            self.protocol.logger = self.logger = logger.logger
        self.keepalive_task = None  # cancelled: its CancelledError's traceback holds this connection
        self.protocol.parser_exc = None  # its traceback holds the protocol's parser frame
        self.protocol.handshake_exc = None  # likewise (a connection that never sent its request)
        self.recv_exc = None

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing() and self.protocol.state is State.OPEN:
            return  # aborted by the relay (flooding): parse nothing more
        if not self.signed_in:
            self.received += len(data)
            if self.received > self.relay.config.pre_auth_max_bytes:
                self.relay.admission.drop(self, "pre-auth-bytes")
                return
        elif not self.pending:
            super().data_received(data)
            return
        # Before sign-in (and until what was read then is handled): parsed in slices, as many per
        # event-loop turn as the node-wide budget allows (clubchat.node.relay_turns).
        if self.pending is None:
            self.pending = deque()
        self.pending.append(data)
        self.relay.turns.offer(self)

    def feed(self) -> bool:
        """Hand one slice of the waiting input to websockets; True while more waits."""
        pending = self.pending
        if self.gone is not None:
            self._lost(self.gone[0])
            return False
        if not pending or self.transport.is_closing():
            self.pending = None
            return False
        if self.signed_in:  # signed in meanwhile: the rest at once, as for any signed-in input
            self.pending = None
            for data in pending:  # bound: pre_auth_max_bytes, and what came before the handling
                super().data_received(data)
            return False
        data = pending.popleft()
        size = self.relay.config.pre_auth_slice_bytes
        if len(data) > size:  # one pass over the chunk: no copy of the rest per slice
            pending.extendleft(reversed([data[i : i + size] for i in range(size, len(data), size)]))
            data = data[:size]
        super().data_received(data)
        return bool(self.pending)

    def eof_received(self) -> None:
        if self.pending:  # the peer stopped sending before sign-in: what waits is of no use now
            self.pending = None
        return super().eof_received()

    def send_data(self) -> None:
        """websockets' writer, but one transport write for all queued frames and none once the
        transport is closing. A flood of pings queues a pong each; when the peer resets, asyncio logs
        a warning for every write after the loss (one per pong), and that stream of log lines blocked
        the node on a full stderr pipe. The end-of-stream marker (an empty chunk) goes to websockets."""
        chunks = self.protocol.data_to_send()
        if self.transport.is_closing():
            return  # aborted or gone: nothing more reaches the peer
        data = [c for c in chunks if c]
        if data:
            self.transport.write(data[0] if len(data) == 1 else b"".join(data))
        if len(data) < len(chunks) and not self.transport.is_closing():  # end of stream: half-close
            with contextlib.suppress(OSError, RuntimeError):
                if self.transport.can_write_eof():
                    self.transport.write_eof()
                else:
                    self.transport.close()

    def queue_text(self, data: bytes) -> None:
        """Queue one text frame (UTF-8 `data`) for the next write: `protocol.send_text(data)` byte for
        byte, without the `Frame` object and its serialisation per frame (about 1.6 us of the relay's
        ~25 us per forwarded envelope, paid for the copy and for its acknowledgement). The usual case
        is a relay's: an open connection, no extension (the relay turns compression off), no debug
        log, no fragmented message in progress; anything else takes websockets' own path."""
        protocol = self.protocol
        if protocol.extensions or protocol.debug or protocol.expect_continuation_frame:
            protocol.send_text(data)
            return
        if protocol.state is not State.OPEN:
            protocol.send_text(data)  # raises InvalidState, as websockets does
        protocol.writes.append(text_frame_header(len(data)) + data)

    def process_event(self, event: Event) -> None:
        control = self.control
        is_control = isinstance(event, Frame) and event.opcode in (Opcode.PING, Opcode.PONG)
        if is_control and control is not None and not control.take(self.relay.clock()):
            if not self.transport.is_closing():
                self.relay.admission.drop(self, "control-flood")
            return
        super().process_event(event)


def text_frame_header(length: int) -> bytes:
    """The header of a final, unmasked text frame carrying `length` bytes (RFC 6455 section 5.2: a
    server's frames are never masked), as websockets' `Frame.serialize` writes it."""
    if length < 126:
        return bytes((0x81, length))
    if length < 65_536:
        return b"\x81\x7e" + length.to_bytes(2, "big")
    return b"\x81\x7f" + length.to_bytes(8, "big")


@dataclass(eq=False)  # identity semantics: connections live in sets
class Conn:
    ws: RelayConnection
    nonce: str
    bucket: TokenBucket
    replies: TokenBucket  # `rate-limited` answers: past this bucket the relay stops answering them
    address: str | None = None  # lower-case once signed in
    checksum_address: str = ""  # EIP-55 form, as signed
    hand_out: HandOut | None = None  # stored envelopes handed out and not yet acknowledged
    expires: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    unsent: int = 0  # bytes queued in the websockets protocol, not yet handed to the transport
    buffered: int = 0  # this connection's share of RelayServer.buffered (bytes, as last measured)
    dirty: bool = False  # queued for the end-of-iteration flush
    refused: int = 0  # frames refused before sign-in
    pause: float = 0.0  # seconds to wait before reading the next frame (the forwarding budgets)
    rooms: dict[str, bytes] = field(default_factory=dict)  # recipient -> direct room id (a cache)
