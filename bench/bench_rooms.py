"""Community rooms on a relay: fan-out to 1,000 members, and how fast a ban cuts a member off.

1. Fan-out: one sender posts `--messages` room messages to a room of `--members` members, all
   connected to one relay (a subprocess: bench/_rooms_relay.py, membership cache filled directly);
   deliveries per second = copies received by all members / time until the last one arrived.
   Each post is a real `room-sealed` payload (a 200-character text sealed by
   clubchat.crypto.roomseal: 504 base64 characters), since the relay refuses plaintext posts.
   Baseline in the same run: bench/_bare_fanout.py (no sign-in, no membership check, no acks)
   with the same clients and frames of the same body size. Target: rooms >= 0.6x the bare fan-out.
2. Ban latency: anvil with the protocol deployed by the deploy plan; a relay in this process with
   rooms fed by `ChainFeed` (depth 1, poll 0.25 s); `--bans` members in the room are banned one by
   one; latency = the ban transaction's receipt -> the member's `room-left`, after the confirming
   block is mined at once (a chain's next block). Target: one poll interval.

Usage: .venv/bin/python bench/bench_rooms.py [--members N] [--messages N] [--repeat N] [--bans N]
Writes bench/results/rooms.json (rows) and bench/results/rooms.md (table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _harness import Chain, anvil, write_report
from _rooms_members import COMMUNITY, members
from eth_account.messages import encode_defunct
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect

from clubchat.chain.tx import send_tx
from clubchat.communities.rooms import RoomClient
from clubchat.crypto.roomseal import RoomSealer, room_name
from clubchat.deploy.plan import deploy_protocol
from clubchat.deploy.web3_backend import Web3Backend
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import ChainFeed, enable_rooms
from clubchat.params import WAD, load
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in

BENCH = Path(__file__).resolve().parent
POLL = 0.25
DEPTH = 1
# A 200-character text as a member's client posts it: sealed with a sender key (the relay only
# forwards it; its size is what matters here).
_SEALER = RoomSealer("0x" + "11" * 20)
_SEALER.start(room_name(COMMUNITY, "general"), [])
SEALED = _SEALER.seal(room_name(COMMUNITY, "general"), m.Text(body="x" * 200))
BODY = SEALED.ct  # the bare baseline forwards a body of the same size


def _spawn(script: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / script), *args], stdout=subprocess.PIPE, text=True, cwd=BENCH
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


async def _signed_in(uri: str, account: Any) -> ClientConnection:
    ws = await connect(uri, max_size=2**22, compression=None, open_timeout=30)
    challenge = m.decode_frame(await ws.recv())
    assert isinstance(challenge, m.Challenge)
    msg = build_sign_in(
        account.address, challenge.uri, challenge.chain_id, challenge.nonce, int(time.time()), 3600
    )
    sig = account.sign_message(encode_defunct(text=msg.text())).signature
    await ws.send(m.encode(m.SignIn(message=msg.text(), signature="0x" + bytes(sig).hex())))
    assert isinstance(m.decode_frame(await ws.recv()), m.SignedIn)
    return ws


async def _fan_out(uri: str, accounts: list[Any], n_messages: int, ours: bool) -> float:
    """Deliveries per second from accounts[0] to all the others."""
    clients: list[ClientConnection] = []
    for account in accounts:  # bound: --members
        if ours:
            ws = await _signed_in(uri, account)
            await ws.send(m.encode(m.RoomJoin(community=COMMUNITY, room="general")))
            joined = m.decode_frame(await ws.recv())
            assert isinstance(joined, m.RoomJoined), joined
        else:
            ws = await connect(uri, max_size=2**22, compression=None, open_timeout=30)
            await ws.send(account.address)
        clients.append(ws)
    await asyncio.sleep(0.2)
    sender, receivers = clients[0], clients[1:]

    async def receive(ws: ClientConnection) -> None:
        got = 0
        while got < n_messages:  # bound: --messages
            raw = await ws.recv()
            if '"room-message"' in raw or not ours:
                got += 1

    frames = [
        m.encode(m.RoomSend(COMMUNITY, "general", id=f"b{i}-{time.monotonic_ns()}", payload=SEALED))
        if ours
        else '{"to":"room","id":' + str(i) + ',"body":"' + BODY + '"}'
        for i in range(n_messages)
    ]
    tasks = [asyncio.create_task(receive(ws)) for ws in receivers]
    start = time.perf_counter()
    for frame in frames:
        await sender.send(frame)
    await asyncio.wait_for(asyncio.gather(*tasks), 300)
    elapsed = time.perf_counter() - start
    for ws in clients:
        await ws.close()
    return len(receivers) * n_messages / elapsed


def fan_out(n_members: int, n_messages: int) -> tuple[float, float]:
    accounts = members(n_members)
    ours_proc, ours_port = _spawn("_rooms_relay.py", str(n_members))
    try:
        ours = asyncio.run(_fan_out(f"ws://127.0.0.1:{ours_port}", accounts, n_messages, True))
    finally:
        ours_proc.kill()
    bare_proc, bare_port = _spawn("_bare_fanout.py")
    try:
        bare = asyncio.run(_fan_out(f"ws://127.0.0.1:{bare_port}", accounts, n_messages, False))
    finally:
        bare_proc.kill()
    return ours, bare


async def _ban_latencies(chain: Chain, dep: Any, n_bans: int) -> list[float]:
    w3, communities, premium, token = chain.w3, dep["Communities"], dep["Premium"], dep["ClubToken"]
    owner = chain.accounts["deployer"]
    send_tx(w3, owner, token.functions.approve(communities.address, 2**256 - 1))
    send_tx(w3, owner, communities.functions.create(owner.address, 2, 0, False))
    cid = int(communities.functions.community_count().call())
    people = members(n_bans)
    send_tx(w3, owner, communities.functions.add_members(cid, [p.address for p in people]))
    server = RelayServer(RelayConfig(chain_id=int(w3.eth.chain_id)))
    await server.start()
    feed = ChainFeed(w3, communities, premium, int(w3.eth.block_number) - 10, depth=DEPTH, poll=POLL)
    enable_rooms(server, feed)
    follower = asyncio.create_task(feed.run())
    latencies = []
    loop = asyncio.get_running_loop()
    try:
        chain.rpc("evm_mine")
        while not feed.membership.is_member(cid, people[-1].address, feed.now()):  # bound: the sync
            await asyncio.sleep(0.05)
        clients = []
        for p in people:
            client = await RoomClient.connect(server.uri, p)
            assert isinstance(client, RoomClient)
            await client.join(cid)
            clients.append(client)
        for p, client in zip(people, clients, strict=True):
            await loop.run_in_executor(None, send_tx, w3, owner, communities.functions.ban(cid, p.address))
            mined = time.perf_counter()
            chain.rpc("evm_mine")  # the block that confirms the ban at depth 1
            left = await asyncio.wait_for(client.left.get(), 30)
            latencies.append((time.perf_counter() - mined) * 1000)
            assert left.code == "banned"
            await client.close()
    finally:
        follower.cancel()
        await server.stop()
    return latencies


def ban_latency(n_bans: int) -> list[float]:
    with anvil() as url:
        chain = Chain(url, ["deployer"])
        backend = Web3Backend(chain.w3, chain.accounts["deployer"])
        dep = deploy_protocol(backend, load(), treasury=chain.address("deployer"))
        assert int(dep["ClubToken"].functions.balanceOf(chain.address("deployer")).call()) >= 100 * WAD
        return asyncio.run(_ban_latencies(chain, dep, n_bans))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="fan-out repetitions (median reported)")
    ap.add_argument("--bans", type=int, default=8)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.members + 256)), hard))

    runs = [fan_out(args.members, args.messages) for _ in range(args.repeat)]
    ratios = [ours / bare for ours, bare in runs]
    bans = ban_latency(args.bans)
    anchor = f"{platform.machine()}, {os.cpu_count()} cores visible, load {os.getloadavg()[0]:.1f} (shared)"
    deliveries = (args.members - 1) * args.messages
    rows: list[dict[str, Any]] = [
        {
            "metric": f"room fan-out, 1 sender to {args.members - 1:,} members on one relay (median)",
            "value": round(statistics.median(o for o, _ in runs)),
            "unit": "deliveries/s",
            "target": None,
            "better": "higher",
            "anchor": anchor,
            "n": deliveries * len(runs),
        },
        {
            "metric": "bare websockets fan-out forwarder (median)",
            "value": round(statistics.median(b for _, b in runs)),
            "unit": "deliveries/s",
            "target": None,
            "better": "higher",
            "anchor": "bench/_bare_fanout.py, same clients and frames",
            "n": deliveries * len(runs),
        },
        {
            "metric": "room fan-out / bare fan-out (median of per-run ratios)",
            "value": round(statistics.median(ratios), 3),
            "unit": "x",
            "target": 0.6,
            "better": "higher",
            "anchor": "each run: rooms relay then baseline, back to back",
            "n": len(runs),
        },
        {
            "metric": f"ban latency: receipt -> room-left, depth {DEPTH}, poll {POLL} s (median)",
            "value": round(statistics.median(bans)),
            "unit": "ms",
            "target": round(POLL * 1000),
            "better": "lower",
            "anchor": "the confirming block mined at once after the receipt",
            "n": len(bans),
        },
        {
            "metric": f"ban latency: receipt -> room-left, depth {DEPTH}, poll {POLL} s (max)",
            "value": round(max(bans)),
            "unit": "ms",
            "target": round(POLL * 1000),
            "better": "lower",
            "anchor": "the confirming block mined at once after the receipt",
            "n": len(bans),
        },
    ]
    table = Table(title="Community rooms")
    for col in ("metric", "value", "unit", "target", "n"):
        table.add_column(col)
    md = [
        "# Community rooms on a relay",
        "",
        "| metric | value | unit | target | n |",
        "|---|---:|---|---:|---:|",
    ]
    for r in rows:
        cells = [
            str(r["metric"]),
            f"{r['value']:,}",
            str(r["unit"]),
            "-" if r["target"] is None else str(r["target"]),
            str(r["n"]),
        ]
        table.add_row(*cells)
        md.append("| " + " | ".join(cells) + " |")
    md += ["", f"Per-run fan-out (rooms, bare deliveries/s): {[(round(o), round(b)) for o, b in runs]}"]
    md += [f"Ban latencies (ms): {[round(x) for x in bans]}", f"Machine: {anchor}", ""]
    Console(width=160).print(table)
    write_report("rooms", rows, "\n".join(md))


if __name__ == "__main__":
    main()
