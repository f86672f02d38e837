"""Baseline for bench_relay.py: the barest websockets forwarder (no sign-in, no validation, no acks).

A client's first message is its address; every later message is JSON with a "to" key and is sent
unchanged to that address's connection. Prints the port, then serves until killed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection, serve

clients: dict[str, ServerConnection] = {}


async def handler(ws: ServerConnection) -> None:
    me = str(await ws.recv())
    clients[me] = ws
    try:
        async for raw in ws:
            target = clients.get(json.loads(raw)["to"])
            if target is not None:
                await target.send(raw)
    finally:
        clients.pop(me, None)


async def main(serve_with: Callable[[ServerConnection], Awaitable[None]] = handler) -> None:
    """Serve `serve_with` on a free loopback port (the same server settings for every baseline),
    print the port, then serve until killed."""
    async with serve(serve_with, "127.0.0.1", 0, compression=None, max_size=2**17) as server:
        print(next(iter(server.sockets)).getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
