"""The relay's admission of TCP connections, below the WebSocket layer (so a refusal costs no
handshake): per-IP and total connection caps, eviction of the oldest connection that has not signed
in when the table is full, the sign-in deadline (`reap`), and the pacing of opening handshakes of
IPs that open connections faster than their rate (their connections are admitted but not read until
the node-wide handshake budget has room). `RelayConnection` (clubchat.node.relay_conn) calls in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections import Counter, OrderedDict
from collections.abc import Callable

from clubchat.node.limits import RateLimiter, TokenBucket
from clubchat.node.relay_config import RelayConfig
from clubchat.node.relay_conn import RelayConnection, client_key


class Admission:
    """Who gets in, who waits to be read, who is evicted or reaped; counts into `stats`."""

    def __init__(self, config: RelayConfig, stats: Counter[str], clock: Callable[[], float]) -> None:
        self.config = config
        self.stats = stats
        self.clock = clock
        self.connects_per_ip = RateLimiter(config.connect_rate_per_ip, config.connect_burst_per_ip)
        self.handshakes = TokenBucket.full(
            config.handshake_rate_global, config.handshake_burst_global, clock()
        )
        self.max_connections = config.max_connections  # lowered by RelayServer.start to fit the fd limit
        self._exempt = tuple(ipaddress.ip_network(n, strict=False) for n in config.per_ip_exempt)
        self.open: set[RelayConnection] = set()  # admitted TCP connections
        self.waiting: OrderedDict[RelayConnection, None] = OrderedDict()  # not signed in, oldest first
        self.pre_auth_by_ip: Counter[str] = Counter()

    def admit(self, ws: RelayConnection, transport: asyncio.Transport) -> bool:
        """Admit a new TCP connection (True) or refuse it (False: the caller aborts it at once):
        over max_pre_auth_per_ip for its IP, over its IP's connection rate, or over max_connections
        when every connection is signed in. With the table full, the oldest connection that has not
        signed in yet makes room (an honest client signs in within a second or so; a flood of
        never-signing connections then only evicts itself)."""
        cfg = self.config
        peer = transport.get_extra_info("peername")
        ws.peer_key = key = client_key(str(peer[0])) if peer else "unknown"
        ws.exempt = self._is_exempt(str(peer[0])) if peer else False
        refused = None
        if ws.exempt:
            pass
        elif self.pre_auth_by_ip[key] >= cfg.max_pre_auth_per_ip:
            refused = "pre-auth-per-ip"
        elif not self.connects_per_ip.allow(key, self.clock()):
            refused = "connect-rate"
        if refused is None and len(self.open) >= self.max_connections:
            if self.waiting:
                oldest, _ = self.waiting.popitem(last=False)
                self.drop(oldest, "evicted-pre-auth")
                self.release(oldest)  # its slot is free now, not when the loop reports the loss
            else:
                refused = "max-connections"
        if refused is not None:
            self.stats[f"refused:{refused}"] += 1
            return False
        ws.admitted = True
        self.open.add(ws)
        self.waiting[ws] = None
        self.pre_auth_by_ip[key] += 1
        ws.control = TokenBucket.full(cfg.control_rate, cfg.control_burst, self.clock())
        sock = transport.get_extra_info("socket")
        if sock is not None and cfg.socket_send_buffer > 0:
            with contextlib.suppress(OSError):  # kernel memory per connection: small, fixed
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, cfg.socket_send_buffer)
        # The sign-in timeout holds even for a connection that floods (its handler may be busy) or
        # never finishes its handshake: abort it outright shortly after the polite close.
        delay = cfg.sign_in_timeout + cfg.close_timeout + 1.0
        loop = asyncio.get_running_loop()
        ws.reaper = loop.call_later(delay, self._reap, ws)
        if not ws.exempt and self.connects_per_ip.heavy(key, cfg.handshake_light_per_ip):
            now = self.clock()
            wait = self.handshakes.owe(now, max_debt=cfg.handshake_rate_global * cfg.handshake_max_wait)
            if wait > 0.0:  # its handshake waits its turn: nothing it sends is read until then
                self.stats["handshake-paced"] += 1
                transport.pause_reading()
                ws.resumer = loop.call_later(wait, self._resume, ws)
        return True

    def _resume(self, ws: RelayConnection) -> None:
        ws.resumer = None
        if not ws.transport.is_closing():
            ws.transport.resume_reading()

    def _is_exempt(self, ip: str) -> bool:
        if not self._exempt:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self._exempt)  # bound: the configured networks

    def release(self, ws: RelayConnection) -> None:
        if not ws.admitted:
            return
        ws.admitted = False
        self.open.discard(ws)
        self.leave_pre_auth(ws)  # no longer counts as pre-auth either

    def leave_pre_auth(self, ws: RelayConnection) -> None:
        for timer in (ws.reaper, ws.resumer):
            if timer is not None:
                timer.cancel()
        ws.reaper = ws.resumer = None
        if not ws.signed_in:
            ws.signed_in = True
            self.waiting.pop(ws, None)
            self.pre_auth_by_ip[ws.peer_key] -= 1
            if self.pre_auth_by_ip[ws.peer_key] <= 0:
                del self.pre_auth_by_ip[ws.peer_key]

    def _reap(self, ws: RelayConnection) -> None:
        ws.reaper = None
        if not ws.signed_in:
            self.drop(ws, "sign-in-timeout")

    def drop(self, ws: RelayConnection, why: str) -> None:
        """Abort a connection without a close handshake (it is flooding or overdue)."""
        self.stats[f"dropped:{why}"] += 1
        ws.transport.abort()

    def handshake_failed(self) -> None:
        self.stats["handshake-failed"] += 1
