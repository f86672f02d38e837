"""The relay side of bench_rooms.py: a RelayServer with rooms whose membership cache lists the
bench's members (no chain: the cache is filled directly). argv: member count. Prints the port, then
serves until killed."""

from __future__ import annotations

import asyncio
import sys

from _rooms_members import COMMUNITY, members

from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import CacheView, Rooms


async def main(n: int) -> None:
    view = CacheView(stale_after=86_400.0)
    view.membership.apply(
        "CommunityCreated",
        {
            "community_id": COMMUNITY,
            "owner": "0x" + "00" * 19 + "01",
            "policy": 2,
            "membership_seconds": 0,
            "fail_open": False,
        },
    )
    for account in members(n):  # bound: argv
        view.membership.apply(
            "MemberJoined", {"community_id": COMMUNITY, "account": account.address, "expires_at": 2**64 - 1}
        )
    view.mark_synced()
    config = RelayConfig(
        per_ip_exempt=("127.0.0.0/8",), max_connections=n + 64, max_buffered_total=512 * 2**20
    )
    server = RelayServer(config)
    Rooms(server, view)
    await server.start()
    print(server.uri.rsplit(":", 1)[1], flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
