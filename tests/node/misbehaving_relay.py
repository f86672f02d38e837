"""A relay that misbehaves, in its own process: `python -m tests.node.misbehaving_relay MODE OPERATOR
SIGNING_KEY CHAIN_ID DISPUTES DB`. It signs its history with SIGNING_KEY for OPERATOR in the
Disputes domain of CHAIN_ID, prints one JSON line `{"event": "ready", "uri": ...}` and serves until
SIGTERM. MODE `fork`: every room is forked (clubchat.node.relay_log with `fork_for_tests`: the
sender of an envelope is shown one signed entry, its recipients another at the same seq); MODE
`sign`: the log is kept honestly, and the misbehaviour is the key (a test passes one that is not
the operator's node key). Tests register its URI as a node's relay endpoint, so the `club`
commands find it through the registry like any relay."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import LogSigner, RelayLog


async def serve(fork: bool, operator: str, node_key: str, chain_id: int, disputes: str, db: Path) -> None:
    signer = LogSigner.create(operator, bytes.fromhex(node_key.removeprefix("0x")), chain_id, disputes)
    log = RelayLog(db, signer, fork_for_tests=fork)
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
    mode, operator, node_key, chain_id, disputes, db = sys.argv[1:7]
    if mode not in ("fork", "sign"):
        sys.exit(f"MODE is fork or sign, not {mode!r}")
    asyncio.run(serve(mode == "fork", operator, node_key, int(chain_id), disputes, Path(db)))
