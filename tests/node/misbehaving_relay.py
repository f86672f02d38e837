"""A relay that misbehaves, in its own process: `python -m tests.node.misbehaving_relay MODE OPERATOR
SIGNING_KEY CHAIN_ID DISPUTES DB`. It signs its history with SIGNING_KEY for OPERATOR in the
Disputes domain of CHAIN_ID, prints one JSON line `{"event": "ready", "uri": ...}` and serves until
SIGTERM. MODE `fork`: every room is forked (clubchat.node.relay_log with `fork_for_tests`: the
sender of an envelope is shown one signed entry, its recipients another at the same seq); MODE
`sign`: the log is kept honestly, and the misbehaviour is the key (a test passes one that is not
the operator's node key; with the node key it is an honest relay); MODE `withhold`: envelopes are
delivered and signed honestly, but `history` is answered with no entries (it withholds history);
MODE `withhold-room`: the same for one room only, given as a seventh argument (0x and 64 hex digits),
every other room's history is produced. With `--rooms RPC MANIFEST` it also carries the community
rooms of the deployment in MANIFEST, admitted from its Communities' logs (depth 0, 0.25-s polls);
the room `withhold-room` withholds may then be a community room's id.
Tests register its URI as a node's relay endpoint, so the `club` commands find it through the
registry like any relay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from web3 import Web3

from clubchat.chain.manifest import load_manifest
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import LogSigner, RelayLog
from clubchat.node.rooms import enable_rooms, open_feed
from clubchat.protocol.log_entry import LogEntry


class WithholdingLog(RelayLog):
    """Signs and keeps every entry, but produces none of them when asked."""

    async def history(self, room: bytes, start: int, end: int) -> list[tuple[LogEntry, bytes | None]]:
        return []


class OneRoomWithheld(RelayLog):
    """Withholds the history of one room (`withheld`) only."""

    withheld = b""

    async def history(self, room: bytes, start: int, end: int) -> list[tuple[LogEntry, bytes | None]]:
        return [] if room == self.withheld else await super().history(room, start, end)


async def serve(
    mode: str,
    operator: str,
    node_key: str,
    chain_id: int,
    disputes: str,
    db: Path,
    room: str = "",
    rooms: tuple[str, str] | None = None,
) -> None:
    signer = LogSigner.create(operator, bytes.fromhex(node_key.removeprefix("0x")), chain_id, disputes)
    cls = {"withhold": WithholdingLog, "withhold-room": OneRoomWithheld}.get(mode, RelayLog)
    log = cls(db, signer, fork_for_tests=mode == "fork")
    if isinstance(log, OneRoomWithheld):
        log.withheld = bytes.fromhex(room.removeprefix("0x"))
    await log.open()
    server = RelayServer(RelayConfig(chain_id=chain_id), log=log)
    await server.start()
    follower = None
    if rooms is not None:
        w3 = Web3(Web3.HTTPProvider(rooms[0]))
        feed = open_feed(w3, load_manifest(Path(rooms[1])), depth=0, poll=0.25)
        assert feed is not None, "the manifest has no Communities"
        enable_rooms(server, feed)
        follower = asyncio.create_task(feed.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"event": "ready", "uri": server.uri}), flush=True)
    try:
        await stop.wait()
    finally:
        if follower is not None:
            follower.cancel()
        await server.stop()
        await log.close()


@contextmanager
def running(
    c: Any, mode: str, op: Any, key: Any, db: Path, room: bytes = b"", rooms: bool = False
) -> Iterator[str]:
    """This relay in MODE in its own process for `op` (a tests.node.chain_env Chain's deployment),
    signing with the account `key` (withholding `room` in MODE withhold-room; with `rooms`, carrying
    the deployment's community rooms); yields its URI and stops it afterwards."""
    args = [mode, op.address, "0x" + bytes(key.key).hex(), str(c.w3.eth.chain_id)]
    args += [c.manifest.address("Disputes"), str(db), *(["0x" + room.hex()] if room else [])]
    if rooms:
        args += ["--rooms", c.w3.provider.endpoint_uri, str(c.manifest_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.node.misbehaving_relay", *args],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready, proc.stderr.read() if proc.stderr else ""
        yield str(json.loads(ready)["uri"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    feed_args = None
    if "--rooms" in sys.argv:
        at = sys.argv.index("--rooms")
        feed_args = (sys.argv[at + 1], sys.argv[at + 2])
        del sys.argv[at : at + 3]
    mode, operator, node_key, chain_id, disputes, db = sys.argv[1:7]
    if mode not in ("fork", "sign", "withhold", "withhold-room"):
        sys.exit(f"MODE is fork, sign, withhold or withhold-room, not {mode!r}")
    if mode == "withhold-room" and len(sys.argv) != 8:
        sys.exit("MODE withhold-room takes the room to withhold (0x and 64 hex digits) after DB")
    room_arg = sys.argv[7] if len(sys.argv) > 7 else ""
    asyncio.run(serve(mode, operator, node_key, int(chain_id), disputes, Path(db), room_arg, feed_args))
