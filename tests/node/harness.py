"""Test helpers for the relay: run a RelayServer in-process and talk to it with raw frames."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from websockets.asyncio.client import ClientConnection, connect

from clubchat.node.mailbox import Mailbox
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import LogSigner
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in

T = TypeVar("T")

# The relay-log identity of the test relays: the operator, its registered node key, a Disputes address.
LOG_OPERATOR = Account.from_key("0x" + "0e" * 32)
LOG_NODE_KEY = Account.from_key("0x" + "4e" * 32)
LOG_DISPUTES = "0x" + "d1" * 20
LOG_CHAIN_ID = 31337
LOG_SIGNER = LogSigner.create(LOG_OPERATOR.address, bytes(LOG_NODE_KEY.key), LOG_CHAIN_ID, LOG_DISPUTES)


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    """Run one async scenario with an overall timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def count_turns(turn: list[int]) -> None:
    """Count the running loop's turns in turn[0] from now on (CPython's selector loop runs one
    `_run_once` per turn)."""
    loop = asyncio.get_running_loop()
    run_once = loop._run_once  # type: ignore[attr-defined]

    def counted_turn() -> None:
        turn[0] += 1
        run_once()

    loop._run_once = counted_turn  # type: ignore[attr-defined]


@asynccontextmanager
async def relay(config: RelayConfig | None = None, **kwargs: Any) -> AsyncIterator[RelayServer]:
    server = RelayServer(config or RelayConfig(), **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def mailbox(path: Any) -> AsyncIterator[Mailbox]:
    box = Mailbox(path)
    await box.open()
    try:
        yield box
    finally:
        await box.close()


class Raw:
    """A WebSocket that speaks frames by hand (for malformed input)."""

    def __init__(self, ws: ClientConnection, challenge: m.Challenge) -> None:
        self.ws = ws
        self.challenge = challenge

    @classmethod
    async def open(cls, uri: str, max_size: int = 2**22) -> Raw:
        ws = await connect(uri, max_size=max_size, compression=None)
        challenge = m.decode_frame(await asyncio.wait_for(ws.recv(), 5))
        assert isinstance(challenge, m.Challenge)
        return cls(ws, challenge)

    def sign_in_frame(self, account: LocalAccount, **overrides: Any) -> str:
        c = self.challenge
        fields = {"uri": c.uri, "chain_id": c.chain_id, "nonce": c.nonce, "now": int(time.time()), "ttl": 600}
        fields.update(overrides)
        msg = build_sign_in(
            account.address, fields["uri"], fields["chain_id"], fields["nonce"], fields["now"], fields["ttl"]
        )
        text = msg.text()
        sig = account.sign_message(encode_defunct(text=text)).signature
        return m.encode(m.SignIn(message=text, signature="0x" + bytes(sig).hex()))

    async def sign_in(self, account: LocalAccount) -> m.SignedIn:
        await self.ws.send(self.sign_in_frame(account))
        reply = await self.frame()
        assert isinstance(reply, m.SignedIn), reply
        return reply

    async def send(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def frame(self, timeout: float = 5.0) -> Any:
        return m.decode_frame(await asyncio.wait_for(self.ws.recv(), timeout))

    async def obj(self, timeout: float = 5.0) -> dict[str, Any]:
        return dict(json.loads(await asyncio.wait_for(self.ws.recv(), timeout)))

    async def close(self) -> None:
        await self.ws.close()


def envelope(sender: str, to: str, id: str, payload: m.Payload | None = None) -> str:
    return m.encode(m.Envelope(id=id, sender=sender, to=to, payload=payload or m.Text(body=f"msg {id}")))
