"""Baseline for bench_rooms.py: the barest websockets fan-out (no sign-in, no membership, no acks).

A client's first message is its address; every later message is sent unchanged to every other
connection. Prints the port, then serves until killed.
"""

from __future__ import annotations

import asyncio

from _bare_forwarder import main as serve_on_a_free_port
from websockets.asyncio.server import ServerConnection

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


if __name__ == "__main__":
    asyncio.run(serve_on_a_free_port(handler))
