"""A relay that forks every room, in its own process: `python -m tests.node.forking_relay OPERATOR
NODE_KEY CHAIN_ID DISPUTES DB`. It signs its history with NODE_KEY for OPERATOR in the Disputes
domain of CHAIN_ID (clubchat.node.relay_log with `fork_for_tests`: the sender of an envelope is
shown one signed entry, its recipients another at the same seq), prints one JSON line
`{"event": "ready", "uri": ...}` and serves until SIGTERM. Tests register its URI as a node's relay
endpoint, so the `club` commands find it through the registry like any relay."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import LogSigner, RelayLog


async def serve(operator: str, node_key: str, chain_id: int, disputes: str, db: Path) -> None:
    signer = LogSigner.create(operator, bytes.fromhex(node_key.removeprefix("0x")), chain_id, disputes)
    log = RelayLog(db, signer, fork_for_tests=True)
    await log.open()
    server = RelayServer(RelayConfig(chain_id=chain_id), log=log)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"event": "ready", "uri": server.uri}), flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
        await log.close()


if __name__ == "__main__":
    operator, node_key, chain_id, disputes, db = sys.argv[1:6]
    asyncio.run(serve(operator, node_key, int(chain_id), disputes, Path(db)))
