"""The relay's HTTP side: the TURN credential endpoint served on the relay's own port.

    GET /turn-credentials/nonce                    -> challenge {nonce, uri, chainId, maxTtl}
    GET /turn-credentials?message=..&signature=..  -> turn-credentials, or an error with 4xx

The sign-in message is EIP-4361 bound to the credential URI and a nonce from .../nonce (single use).
websockets' HTTP parser accepts GET only, hence the query string. Requests are limited per client IP
and queued fairly per IP for the node-wide rate (`FairQueue`), so one busy IP cannot starve another.
A WebSocket upgrade is not an HTTP request here: `CredentialEndpoint.handle` lets it through.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from clubchat.node.fairqueue import FairQueue
from clubchat.node.limits import RateLimiter
from clubchat.node.relay_conn import client_key
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import SignInError, new_nonce, verify_sign_in

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer

CREDENTIAL_PATH = "/turn-credentials"
NONCE_PATH = CREDENTIAL_PATH + "/nonce"
_HTTP_STATUS = {"bad-sign-in": 401, "rate-limited": 429, "not-offered": 404, "malformed": 400}


def json_response(status: int, frame: str, retry_after: int | None = None) -> Response:
    headers = Headers([("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    headers["Content-Length"] = str(len(frame.encode()))
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(status, "OK" if status == 200 else "Error", headers, frame.encode())


class CredentialEndpoint:
    """Nonces, per-IP and node-wide request limits, and TURN credentials for signed-in wallets."""

    def __init__(self, relay: RelayServer) -> None:
        config = relay.config
        self.relay = relay
        self.per_ip = RateLimiter(config.http_rate_per_ip, config.http_burst_per_ip)
        self.fair = FairQueue(
            config.http_rate_global,
            config.http_burst_global,
            per_key=config.http_queue_per_ip,
            max_wait=config.http_queue_wait,
            clock=relay.clock,
        )
        self.nonces: dict[str, float] = {}  # nonce -> expiry; insertion-ordered

    def sweep(self, now: float) -> None:
        """Forget idle per-IP buckets and expired nonces (the relay's housekeeping calls this)."""
        self.per_ip.sweep(now)
        expired = [n for n, t in self.nonces.items() if t < now]
        for nonce in expired:  # bound: http_nonces_max
            del self.nonces[nonce]

    def _error(self, code: str, reason: str | None = None, retry_after: int | None = None) -> Response:
        self.relay.stats[f"http-error:{code}"] += 1
        return json_response(_HTTP_STATUS.get(code, 400), m.error_frame(code, reason), retry_after)

    async def _throttled(self, connection: ServerConnection, now: float) -> Response | None:
        """429 when this client IP asks more often than configured, or when its turn in the node-wide
        fair queue does not come within `http_queue_wait` (all IPs together ask too often)."""
        peer = connection.remote_address
        ip = str(peer[0]) if peer else "unknown"
        cfg = self.relay.config
        if not self.per_ip.allow(client_key(ip), now):
            wait = math.ceil(1.0 / cfg.http_rate_per_ip)
            return self._error("rate-limited", f"too many requests from {ip[:64]}; retry in {wait} s", wait)
        if not await self.fair.admit(client_key(ip)):
            wait = math.ceil(1.0 / cfg.http_rate_global)
            return self._error("rate-limited", f"this node is busy; retry in {wait} s", wait)
        return None

    async def handle(self, connection: ServerConnection, request: Request) -> Response | None:
        """websockets' `process_request`: None lets a WebSocket upgrade through to the relay."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # the relay protocol
        relay, cfg = self.relay, self.relay.config
        path, _, query = request.path.partition("?")
        throttled = await self._throttled(connection, relay.clock())
        if throttled is not None:
            return throttled
        now = relay.clock()  # the fair queue may have kept this request waiting
        if path == NONCE_PATH:
            while len(self.nonces) >= cfg.http_nonces_max:  # bound: drop the oldest
                del self.nonces[next(iter(self.nonces))]
            nonce = new_nonce()
            self.nonces[nonce] = now + cfg.http_nonce_ttl
            challenge = m.Challenge(
                nonce=nonce, uri=relay.credential_uri, chain_id=cfg.chain_id, max_ttl=cfg.sign_in_max_ttl
            )
            return json_response(200, m.encode(challenge))
        if path != CREDENTIAL_PATH:
            return self._error("not-offered", f"no such endpoint {path[:64]!r}")
        if relay.turn_credentials is None:
            return self._error("not-offered", "this node is not a TURN node")
        params = parse_qs(query, max_num_fields=4)
        message = params.get("message", [""])[0]
        signature = params.get("signature", [""])[0]
        try:
            frame = m.decode_frame(m.encode(m.SignIn(message=message, signature=signature)))
            assert isinstance(frame, m.SignIn)
        except m.ProtocolError as exc:
            return self._error("malformed", exc.reason)
        nonce = next((line[7:] for line in message.splitlines() if line.startswith("Nonce: ")), "")
        expiry = self.nonces.pop(nonce, 0.0)  # single use, even when the rest fails
        if expiry < now:
            return self._error("bad-sign-in", f"unknown or expired nonce; GET {NONCE_PATH} first")
        try:
            msg = await verify_sign_in(
                message,
                bytes.fromhex(signature[2:]),
                uri=relay.credential_uri,
                chain_id=cfg.chain_id,
                nonce=nonce,
                now=int(now),
                max_ttl=cfg.sign_in_max_ttl,
                verifier=relay.verifier,
                recover=relay.recover,
            )
        except SignInError as exc:
            return self._error("bad-sign-in", str(exc))
        if not relay.limiter.allow(msg.address.lower(), now):
            return self._error("rate-limited")
        relay.stats["turn-credentials"] += 1
        return json_response(200, m.encode(relay.turn_credentials(msg.address)))
