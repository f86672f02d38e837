"""Baseline for bench_rooms.py: the barest websockets fan-out (no sign-in, no membership, no acks).

A client's first message is its address; every later message is sent unchanged to every other
connection. Prints the port, then serves until killed.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import ServerConnection, serve

clients: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    await ws.recv()
    clients.add(ws)
    try:
        async for raw in ws:
            for target in tuple(clients):
                if target is not ws:
                    await target.send(raw)
    finally:
        clients.discard(ws)


async def main() -> None:
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=2**17) as server:
        print(next(iter(server.sockets)).getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
