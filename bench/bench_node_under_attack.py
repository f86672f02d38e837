"""What honest users suffer while a node is attacked, one attack class at a time, on loopback.

For every scenario a fresh node process (`python -m clubchat.node run`; relay and NOTIFY, plus TURN and
a 32 MiB mailbox cap for the mailbox and TURN classes) serves an honest pair (Alice -> Bob, one text
envelope every 100 ms, one-way latency measured in this process) and a fresh sign-in every 0.5 s from
127.0.0.1: first `--idle` seconds alone, then while an attacker process (this script with
`--attacker NAME`) runs the attack for `--attack` seconds from other loopback addresses (127.0.2.0/24
and up: Linux routes 127/8 to lo, so per-IP limits see attacker and honest user apart, as on the
internet). The attack window is the attacker's own (its start after its imports to its end). Sampled
from /proc every 0.25 s: the node's RSS and CPU, this process's CPU and the whole machine's busy
time, so the report tells a node that is slow from a node starved of CPU by other processes (the
attacker's CPU is measured in the attacker process).

Attack classes: the relay ones are the `attack_<name>` functions below; the mailbox, TURN and
credential-endpoint ones are `_attack_mailbox_turn.ATTACKS` (they also return rows of their own:
quotas, hand-out, disk use against the cap, TURN allocations, credential fetches).

Targets: the node never exits; honest p99 latency under any single attack <= 10x its idle p99 (same
run); sign-in success >= 95 %; the node's RSS bounded by the configured buffer budget whatever N (the
non-reading fan-out runs at two N; the row's target is idle RSS + 2x the budget, see the report's
notes); mailbox files on disk within 1.25x the configured cap.

Adding an attack class: write an `async def attack_<name>(uri, seconds, param) -> dict` (run in the
attacker process; return what it managed, e.g. frames sent) and add a `Scenario` to SCENARIOS (node
flags, a target for the peak RSS if the class has one).

Writes bench/results/node_under_attack.{json,md} through `_harness.report.write_report`.
Usage: .venv/bin/python bench/bench_node_under_attack.py [--idle S] [--attack S] [--only NAME ...]
       [--attacker-nice N] [--no-report]
(`--only connection-flood --no-report` measures one scenario without touching the committed report.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from json import dumps  # frames, the attacker's stdout and the markdown; files go through write_report
from pathlib import Path
from typing import Any

from coincurve import PrivateKey
from eth_account import Account
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import _attack_mailbox_turn as mailbox_turn  # noqa: E402
from _attack_mailbox_turn import row  # noqa: E402
from _harness.report import paragraph, source_revision, write_report  # noqa: E402

from clubchat.client.relay_client import RelayClient  # noqa: E402
from clubchat.node.localnet import free_port_range  # noqa: E402
from clubchat.node.process import NodeProcess  # noqa: E402
from clubchat.node.relay_config import RelayConfig  # noqa: E402
from clubchat.protocol import messages as m  # noqa: E402
from clubchat.protocol.siwe import build_sign_in, sign_in_hash  # noqa: E402

NAME = "node_under_attack"
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
CORES = os.cpu_count() or 1
BUDGET_MIB = 32  # --buffer-budget-mib of the fan-out scenarios
PRE_AUTH_PER_TURN = RelayConfig().pre_auth_per_turn  # the node runs with the default
MEASURED = ["clubchat", "bench/bench_node_under_attack.py", "bench/_attack_mailbox_turn.py"]

# ---------------------------------------------------------------------------------------------
# attacker side (runs in its own process: `--attacker NAME`)
# ---------------------------------------------------------------------------------------------


def attacker_ip(block: int, i: int) -> str:
    """The i-th attacker address of a block (127.<block>.x.y, never 127.0.0.1)."""
    return f"127.{block}.{1 + i // 250}.{1 + i % 250}"


async def ws_open(
    uri: str, source: str, timeout: float = 5.0, **kw: Any
) -> tuple[ClientConnection, dict] | None:
    """A WebSocket from `source` and its challenge; None when the relay refused or closed it."""
    try:
        ws = await asyncio.wait_for(
            connect(
                uri, compression=None, max_size=2**22, local_addr=(source, 0), open_timeout=timeout, **kw
            ),
            timeout,
        )
        return ws, json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except Exception:  # refused, reset, timed out: all count as "not got in"
        return None


def signer(key: bytes) -> Callable[[str], str]:
    """coincurve EIP-191 signer (~50 us): the attacker's cost must not limit the attack."""
    pk = PrivateKey(key)

    def sign(text: str) -> str:
        sig = pk.sign_recoverable(sign_in_hash(text), hasher=None)
        return "0x" + sig[:64].hex() + format(sig[64] + 27, "02x")

    return sign


def sign_in_frame(address: str, sign: Callable[[str], str], challenge: dict) -> str:
    text = build_sign_in(
        address, challenge["uri"], challenge["chainId"], challenge["nonce"], int(time.time()), 3600
    ).text()
    return m.encode(m.SignIn(message=text, signature=sign(text)))


async def signed_in(uri: str, source: str, key: bytes) -> ClientConnection | None:
    opened = await ws_open(uri, source)
    if opened is None:
        return None
    ws, challenge = opened
    address = Account.from_key(key).address
    try:
        await ws.send(sign_in_frame(address, signer(key), challenge))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    except Exception:
        return None
    return ws if reply.get("type") == "signed-in" else None


def wallet(i: int) -> bytes:
    return (0xA77AC0000 + i).to_bytes(32, "big")


async def until(deadline: float, workers: int, job: Callable[[int], Awaitable[None]]) -> None:
    """Run `workers` copies of `job(worker)` in a loop until `deadline`."""

    async def loop(w: int) -> None:
        while time.time() < deadline:
            with contextlib.suppress(Exception):
                await job(w)

    await asyncio.gather(*(loop(w) for w in range(workers)))


async def attack_redos(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a01 of the security review: 64 KB pre-auth frames `'[]'*17 + '"' + '\\\\"'*32000`,
    rotating IPs."""
    frame = "[]" * 17 + '"' + '\\"' * 32_000
    n = {"frames": 0}
    deadline = time.time() + seconds

    async def job(w: int) -> None:
        opened = await ws_open(uri, attacker_ip(2, (w * 997 + n["frames"]) % 200))
        if opened is None:
            await asyncio.sleep(0.05)
            return
        ws = opened[0]
        try:
            for _ in range(8):
                await ws.send(frame)
                n["frames"] += 1
        finally:
            await ws.close()

    await until(deadline, 4, job)
    return n


async def attack_connection_flood(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a02/a03 of the security review: `param` never-signed-in WebSocket connections from
    127.0.3.0/24 and up (16 per IP, under the per-IP cap), re-opened as the relay reaps or evicts them."""
    deadline = time.time() + seconds
    n = {"opened": 0, "refused": 0}
    sem = asyncio.Semaphore(100)

    async def holder(i: int) -> None:
        while time.time() < deadline:
            async with sem:
                opened = await ws_open(uri, attacker_ip(3, i // 16))
            if opened is None:
                n["refused"] += 1
                await asyncio.sleep(0.2)
                continue
            n["opened"] += 1
            with contextlib.suppress(Exception):
                await asyncio.wait_for(opened[0].wait_closed(), max(0.0, deadline - time.time()))
            with contextlib.suppress(Exception):
                await opened[0].close()

    await asyncio.gather(*(holder(i) for i in range(param)))
    return n


async def attack_nonreading_fanout(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a04 of the security review: `param` never-reading sockets (SO_RCVBUF 4 KiB) of param/8
    wallets (8 each, the session cap), one wallet sending ~65 KB envelopes to them round-robin as fast
    as it may."""
    deadline = time.time() + seconds
    wallets = max(1, param // 8)
    sinks = []

    async def sink(i: int) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind((attacker_ip(4, i // 8), 0))
        host, port = uri.removeprefix("ws://").rsplit(":", 1)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        ws = await connect(uri, sock=sock, compression=None, max_size=2**22)
        challenge = json.loads(await ws.recv())
        key = wallet(1000 + i // 8)
        await ws.send(sign_in_frame(Account.from_key(key).address, signer(key), challenge))
        await ws.recv()
        ws.transport.pause_reading()  # never reads again
        sinks.append(ws)

    for batch in range(0, param, 50):  # bound: param sockets
        await asyncio.gather(*(sink(i) for i in range(batch, min(param, batch + 50))), return_exceptions=True)
    sender = await signed_in(uri, attacker_ip(5, 0), wallet(1))
    assert sender is not None, "the sending wallet could not sign in"
    body = "\u00e9" * 16_000  # 2-byte characters: 32 KB of text, ~32 KB on the wire
    me = Account.from_key(wallet(1)).address
    to = [Account.from_key(wallet(1000 + w)).address for w in range(wallets)]
    n: dict[str, Any] = {"sockets": len(sinks), "sent": 0}

    async def replies() -> None:  # counted apart: past a threshold the relay stops answering floods
        while time.time() < deadline:
            with contextlib.suppress(TimeoutError):
                reply = json.loads(await asyncio.wait_for(sender.recv(), 0.5))
                status = reply.get("status") or reply.get("code")
                n[status] = n.get(status, 0) + 1

    counter = asyncio.create_task(replies())
    i = 0
    while time.time() < deadline:
        env = m.Envelope(id=f"fan{i}", sender=me, to=to[i % wallets], payload=m.Text(body=body))
        await sender.send(dumps(m.encode_object(env), ensure_ascii=False, separators=(",", ":")))
        n["sent"] += 1
        i += 1
        await asyncio.sleep(0.005)  # ~200/s offered: the rate limit (100/s after 400) is the relay's
    await counter
    return n


async def attack_churn(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a05 of the security review: TCP connect + RST, and WebSocket open + abort, 32 in flight,
    8 IPs."""
    deadline = time.time() + seconds
    host, port = uri.removeprefix("ws://").rsplit(":", 1)
    n = {"tcp_rst": 0, "ws_open": 0}

    async def job(w: int) -> None:
        source = attacker_ip(6, w % 8)
        if w % 2:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.bind((source, 0))
            sock.setblocking(False)
            try:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, int(port))), 2)
            finally:
                sock.close()  # linger 0: RST
            n["tcp_rst"] += 1
        else:
            opened = await ws_open(uri, source, timeout=2)
            if opened is not None:
                opened[0].transport.abort()
            n["ws_open"] += 1

    await until(deadline, 32, job)
    return n


async def attack_pre_auth_flood(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a07 of the security review: pre-auth connections writing pings and tiny frames as fast as
    they can, 8 IPs."""
    deadline = time.time() + seconds
    n = {"pings": 0, "frames": 0, "connections": 0}

    async def job(w: int) -> None:
        opened = await ws_open(uri, attacker_ip(7, w), timeout=2)
        if opened is None:
            await asyncio.sleep(0.2)
            return
        ws = opened[0]
        n["connections"] += 1
        try:
            while time.time() < deadline and ws.protocol.state.name == "OPEN":
                for _ in range(100):
                    ws.protocol.send_ping(os.urandom(4))
                    ws.protocol.send_text(b"{}")
                ws.send_data()
                n["pings"] += 100
                n["frames"] += 100
                await asyncio.sleep(0)
                await ws.drain() if hasattr(ws, "drain") else await asyncio.sleep(0.001)
        finally:
            ws.transport.abort()

    await until(deadline, 8, job)
    return n


async def attack_sign_in_flood(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a06/a08 of the security review: sign-ins with random signatures on rotating connections
    from 8 IPs, and a signed-in wallet sending envelopes with duplicate keys (a spoofed first `from`) at
    full speed."""
    deadline = time.time() + seconds
    n = {"sign_ins": 0, "duplicate_key_frames": 0}
    key = wallet(7)
    me = Account.from_key(key).address

    async def bad_sign_ins(w: int) -> None:
        opened = await ws_open(uri, attacker_ip(8, w), timeout=2)
        if opened is None:
            await asyncio.sleep(0.2)
            return
        ws, challenge = opened
        try:
            for _ in range(4):  # bound: the relay closes a pre-auth connection after a few refusals
                text = build_sign_in(
                    me, challenge["uri"], challenge["chainId"], challenge["nonce"], int(time.time()), 600
                )
                await ws.send(m.encode(m.SignIn(message=text.text(), signature="0x" + os.urandom(65).hex())))
                n["sign_ins"] += 1
                reply = json.loads(await asyncio.wait_for(ws.recv(), 2))
                if reply.get("type") == "error" and reply.get("code") == "bad-sign-in":
                    challenge = json.loads(await asyncio.wait_for(ws.recv(), 2))
        finally:
            ws.transport.abort()

    async def duplicates() -> None:
        ws = await signed_in(uri, attacker_ip(8, 100), key)
        if ws is None:
            return
        victim = Account.from_key(wallet(8)).address
        i = 0
        while time.time() < deadline:
            text = m.encode(m.Envelope(id=f"d{i}", sender=me, to=victim, payload=m.Text(body="x")))
            spoof = text.replace('"from":', f'"from":"{victim}","from":', 1)
            await ws.send(spoof)
            n["duplicate_key_frames"] += 1
            i += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)

    await asyncio.gather(until(deadline, 8, bad_sign_ins), duplicates())
    return n


async def attack_replay_state(uri: str, seconds: float, param: int) -> dict[str, Any]:
    """Attack a11 of the security review: `param` wallets (10 per IP) each forwarding tiny envelopes
    with fresh 64-character ids to an attacker-owned reader as fast as their rate limit allows; the
    relay remembers each id."""
    deadline = time.time() + seconds
    reader = await signed_in(uri, attacker_ip(9, 250), wallet(9))
    assert reader is not None
    to = Account.from_key(wallet(9)).address
    n = {"envelopes": 0, "reader_cut_off": 0}

    async def drain() -> None:
        current: ClientConnection = reader
        while time.time() < deadline:  # bound: the deadline
            try:
                await asyncio.wait_for(current.recv(), 0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:  # the relay cut the slow reader (1013): it signs in again
                n["reader_cut_off"] += 1
                current = await signed_in(uri, attacker_ip(9, 250), wallet(9)) or current
                await asyncio.sleep(0.1)

    async def one(w: int) -> None:
        key = wallet(2000 + w)
        ws = await signed_in(uri, attacker_ip(9, w // 10), key)
        if ws is None:
            return
        me = Account.from_key(key).address
        i = 0

        async def acks() -> None:
            while time.time() < deadline:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.recv(), 0.5)

        ack_task = asyncio.create_task(acks())
        while time.time() < deadline:
            for _ in range(50):
                eid = f"{w:08d}{i:056d}"
                await ws.send(m.encode(m.Envelope(id=eid, sender=me, to=to, payload=m.Text(body="r"))))
                i += 1
            n["envelopes"] += 50
            await asyncio.sleep(0.5)  # 100/s: the per-address rate limit
        ack_task.cancel()

    await asyncio.gather(drain(), *(one(w) for w in range(param)))
    return n


ATTACKS: dict[str, Callable[[str, float, int], Coroutine[Any, Any, dict[str, Any]]]] = {
    "redos-frame": attack_redos,
    "connection-flood": attack_connection_flood,
    "nonreading-fanout": attack_nonreading_fanout,
    "churn": attack_churn,
    "pre-auth-flood": attack_pre_auth_flood,
    "sign-in-flood+duplicate-keys": attack_sign_in_flood,
    "replay-state": attack_replay_state,
}

# ---------------------------------------------------------------------------------------------
# measuring side
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One attack class at one size: which attack, its size parameter, the node's flags."""

    label: str
    attack: str
    param: int = 0
    node_args: tuple[str, ...] = ()
    nofile: int | None = None  # RLIMIT_NOFILE of the node (soft = hard), as a systemd service has
    rss_budget_mib: int | None = None  # the RSS target is idle RSS + 2x this
    mailbox_turn: bool = False  # a `_attack_mailbox_turn` attack: TURN and a mailbox cap on the node


SCENARIOS: list[Scenario] = [
    Scenario("redos frame (a01)", "redos-frame"),
    Scenario("connection flood, 2,000 conns, nofile 1,024 (a02/a03)", "connection-flood", 2_000, nofile=1024),
    Scenario(
        "non-reading fan-out, N=96 (a04)",
        "nonreading-fanout",
        96,
        ("--buffer-budget-mib", str(BUDGET_MIB)),
        rss_budget_mib=BUDGET_MIB,
    ),
    Scenario(
        "non-reading fan-out, N=400 (a04)",
        "nonreading-fanout",
        400,
        ("--buffer-budget-mib", str(BUDGET_MIB)),
        rss_budget_mib=BUDGET_MIB,
    ),
    Scenario("churn (a05)", "churn"),
    Scenario("pre-auth flood (a07)", "pre-auth-flood"),
    Scenario("sign-in flood + duplicate keys (a06/a08)", "sign-in-flood+duplicate-keys"),
    Scenario("replay state, 200 wallets (a11)", "replay-state", 200),
    Scenario("mailbox fairness (a10 fairness)", "mailbox-fairness", mailbox_turn=True),
    Scenario("mailbox hand-out of large messages (a10 poison)", "mailbox-handout", mailbox_turn=True),
    Scenario("mailbox disk fill (a10 diskfill, a15)", "mailbox-disk-fill", mailbox_turn=True),
    Scenario("TURN port exhaustion (a12 exhaust)", "turn-port-exhaustion", mailbox_turn=True),
    Scenario("TURN credential flood (a12 ipN-flood)", "credential-flood", mailbox_turn=True),
]
SCENARIO_NAMES = sorted({sc.attack for sc in SCENARIOS})


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat (idle and iowait are idle)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


class Sampler:
    """Every `period` s: RSS (MB) and CPU ticks of a process, this process's CPU time, the machine's
    busy and total ticks (/proc)."""

    def __init__(self, pid: int, period: float = 0.25) -> None:
        self.pid = pid
        self.period = period
        # (t, rss MB, process ticks, this process's CPU s, machine busy ticks, machine total ticks,
        #  ns the process's main thread waited runnable for a CPU, its runs on a CPU)
        self.samples: list[tuple[float, float, int, float, int, int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ticks(self) -> int:
        with open(f"/proc/{self.pid}/stat") as fh:
            parts = fh.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])

    def _rss(self) -> float:
        with open(f"/proc/{self.pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE / 2**20

    def _waited(self) -> tuple[int, int]:
        with open(f"/proc/{self.pid}/schedstat") as fh:  # ns on a CPU, ns waiting runnable, runs
            _, waited, runs = fh.read().split()
        return int(waited), int(runs)

    def _run(self) -> None:
        while not self._stop.wait(self.period):  # bound: until stop()
            try:
                self.samples.append(
                    (
                        time.time(),
                        self._rss(),
                        self._ticks(),
                        time.process_time(),
                        *machine_ticks(),
                        *self._waited(),
                    )
                )
            except (OSError, IndexError, ValueError):  # the process is gone
                return

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def window(self, t0: float, t1: float) -> dict[str, float]:
        """Peak RSS (MB); CPU (% of one core) of the process, of this process and of the whole
        machine (all cores together, so up to CORES x 100); the share of the time the process's main
        thread (the node's event loop) was runnable but waiting for a CPU (%) and its mean wait per
        run (ms), between t0 and t1."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        nan = float("nan")
        if len(inside) < 2:
            keys = ("cpu", "self_cpu", "machine_cpu", "waited", "wait_per_run")
            return {"rss": inside[0][1] if inside else nan, **dict.fromkeys(keys, nan)}
        a, b = inside[0], inside[-1]
        dt = b[0] - a[0]
        return {
            "rss": max(s[1] for s in inside),
            "cpu": 100.0 * (b[2] - a[2]) / CLK / dt,
            "self_cpu": 100.0 * (b[3] - a[3]) / dt,
            "machine_cpu": 100.0 * CORES * (b[4] - a[4]) / max(1, b[5] - a[5]),
            "waited": 100.0 * (b[6] - a[6]) / 1e9 / dt,
            "wait_per_run": (b[6] - a[6]) / 1e6 / max(1, b[7] - a[7]),
        }


@dataclass
class Honest:
    """The honest pair's latencies and the fresh sign-ins, each with its time."""

    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, ms)
    sign_ins: list[tuple[float, bool]] = field(default_factory=list)
    lost: list[float] = field(default_factory=list)  # sent at, never received within 5 s

    def window(self, t0: float, t1: float) -> dict[str, float]:
        lat = sorted(ms for t, ms in self.latencies if t0 <= t < t1)
        lost = sum(1 for t in self.lost if t0 <= t < t1)
        tries = [ok for t, ok in self.sign_ins if t0 <= t < t1]
        q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]) if lat else (lambda p: float("nan"))
        return {
            "p50": q(0.50),
            "p99": q(0.99) if not lost else 5000.0,  # a lost message counts as the 5-s timeout
            "msgs": len(lat),
            "lost": lost,
            "sign_in_pct": 100.0 * sum(tries) / len(tries) if tries else float("nan"),
            "sign_ins": len(tries),
        }


async def honest_traffic(uri: str, stop: asyncio.Event, out: Honest) -> None:
    """Alice -> Bob every 100 ms (latency stamped in the body) + a fresh sign-in every 0.5 s, until
    `stop` is set (then up to 5 s more for the messages in flight)."""
    alice = Account.from_key(b"\xa1" * 32)
    bob = Account.from_key(b"\xb2" * 32)
    a = await RelayClient.connect(uri, alice, timeout=5)
    b = await RelayClient.connect(uri, bob, timeout=5)
    pending: dict[str, float] = {}

    async def send() -> None:
        i = 0
        while not stop.is_set():  # bound: until stop
            t = time.time()
            pending[f"h{i}"] = t
            with contextlib.suppress(Exception):
                await a.send_nowait(bob.address, m.Text(body=repr(time.perf_counter())), id=f"h{i}")
            i += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, 0.1 - (time.time() - t)))

    async def receive_loop() -> None:
        grace: float | None = None
        while grace is None or (pending and time.time() < grace):  # bound: stop + 5 s
            if grace is None and stop.is_set():
                grace = time.time() + 5
            with contextlib.suppress(TimeoutError):
                got = await b.receive(0.5)
                sent_at = pending.pop(got.envelope.id, None)
                body = got.envelope.payload
                if sent_at is not None and isinstance(body, m.Text):
                    out.latencies.append((sent_at, (time.perf_counter() - float(body.body)) * 1e3))

    async def sign_ins() -> None:
        i = 0
        while not stop.is_set():  # bound: until stop
            t = time.time()
            fresh = Account.from_key((0x5EED0000 + i % 64).to_bytes(32, "big"))
            i += 1
            try:
                client = await asyncio.wait_for(RelayClient.connect(uri, fresh, timeout=5), 5)
                out.sign_ins.append((t, True))
                await client.close()
            except Exception:
                out.sign_ins.append((t, False))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, 0.5 - (time.time() - t)))

    await asyncio.gather(send(), receive_loop(), sign_ins())
    out.lost.extend(pending.values())
    for c in (a, b):
        with contextlib.suppress(Exception):
            await c.close()


def _nofile(n: int) -> Callable[[], None]:
    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return set_limit


def run_scenario(sc: Scenario, idle: float, attack: float, nice: int = 0) -> dict[str, Any]:
    turn_port = free_port_range(mailbox_turn.TURN_PORTS + 1) if sc.mailbox_turn else 0
    node_args = mailbox_turn.node_args(turn_port) if sc.mailbox_turn else ("--kinds", "relay,notify")
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as errors:
        node = NodeProcess(
            Path(tmp),
            *node_args,
            *sc.node_args,
            preexec=_nofile(sc.nofile) if sc.nofile else None,
        )
        sampler = Sampler(node.proc.pid).start()
        honest = Honest()
        t0 = time.time()
        attacker_out: dict[str, Any] = {}
        loads: list[float] = []
        spawned: list[float] = []

        async def both() -> None:
            stop = asyncio.Event()
            traffic = asyncio.create_task(honest_traffic(node.uri, stop, honest))
            await asyncio.sleep(max(0.0, t0 + idle - time.time()))
            spawned.append(time.time())
            loads.append(os.getloadavg()[0])
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--attacker",
                sc.attack,
                "--uri",
                node.uri,
                "--seconds",
                str(attack),
                "--param",
                str(sc.param),
                "--attacker-nice",
                str(nice),
                "--turn-port",
                str(turn_port),
                "--data-dir",
                str(node.data_dir),
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,  # a file: reading a chatty attacker's log would cost this process CPU
                start_new_session=True,  # its own scheduling group, apart from the honest clients
            )
            out, _ = await proc.communicate()
            spawned.append(time.time())
            loads.append(os.getloadavg()[0])
            stop.set()
            lines = [x for x in out.decode().splitlines() if x.startswith("{")]
            if lines:
                attacker_out.update(json.loads(lines[-1]))
            else:
                errors.seek(0)
                attacker_out["error"] = errors.read().decode(errors="replace")[-300:]
            await traffic

        try:
            asyncio.run(both())
            survived = node.proc.poll() is None
            status = node.status().get("relay", {})
        finally:
            sampler.stop()
            node.stop()  # SIGTERM first: the node stops its coturn (SIGKILL would orphan it)
        t1, t2 = attacker_out.pop("_window", spawned)  # the attacker's own window, else its lifetime
        return {
            "scenario": sc,
            "idle": honest.window(t0 + 1, spawned[0]),  # the first second is the pair's own set-up
            "attack": honest.window(t1, t2),
            "idle_node": sampler.window(t0 + 1, spawned[0]),
            "attack_node": sampler.window(t1, t2 + 0.5),
            "attacker_cpu": attacker_out.pop("_cpu", float("nan")),
            "attack_seconds": t2 - t1,
            "load": loads,
            "survived": survived,
            "honest": honest,
            "rows": attacker_out.pop("rows", []),
            "attacker": attacker_out,
            "node_stats": {**status.get("stats", {}), "replay_ids": status.get("replay_ids")},
            "idle_turns": turns_window(status.get("turns", []), t0 + 1, spawned[0]),
            "attack_turns": turns_window(status.get("turns", []), t1, t2),
        }


def turns_window(seconds: list[list[float]], t0: float, t1: float) -> dict[str, float]:
    """From the node's per-second turn record (status "turns": second, longest loop lag ms, most
    pre-auth slices in one turn, most pre-auth CPU ms in one turn, most CPU ms of one turn), the
    seconds that overlap [t0, t1): the longest lag and turn, the median second's longest, and the most
    pre-auth slices and CPU of a turn."""
    inside = [row for row in seconds if t0 - 1 < row[0] < t1]
    keys = ("lag_max", "lag_median", "turn_max", "turn_median", "slices", "pre_auth_cpu")
    if not inside or len(inside[0]) < 5:
        return dict.fromkeys(keys, float("nan"))
    lags = sorted(row[1] for row in inside)
    turns = sorted(row[4] for row in inside)
    return dict(
        zip(
            keys,
            (
                lags[-1],
                lags[len(lags) // 2],
                turns[-1],
                turns[len(turns) // 2],
                max(row[2] for row in inside),
                max(row[3] for row in inside),
            ),
            strict=True,
        )
    )


def _r(x: float, digits: int = 1) -> float | None:
    return None if x != x else round(x, digits)  # NaN -> null


def rows_of(res: dict[str, Any]) -> list[dict[str, Any]]:
    sc: Scenario = res["scenario"]
    idle, att = res["idle"], res["attack"]
    idle_node, att_node = res["idle_node"], res["attack_node"]
    p = sc.label
    # The budget bounds the unsent bytes; the process also holds each frame once more while it is
    # parsed and copied into a transport, and the allocator keeps freed arenas: 2x budget over idle.
    rss_target = None if sc.rss_budget_mib is None else _r(idle_node["rss"] + 2 * sc.rss_budget_mib)
    nan = float("nan")
    others = att_node["machine_cpu"] - att_node["cpu"] - att_node["self_cpu"] - res["attacker_cpu"]
    idle_others = idle_node["machine_cpu"] - idle_node["cpu"] - idle_node["self_cpu"]
    out = [
        row(
            f"{p}: honest p50 latency under attack",
            _r(att["p50"], 2),
            "ms",
            None,
            "lower",
            _r(idle["p50"], 2),
            att["msgs"],
        ),
        row(
            f"{p}: honest p99 latency under attack",
            _r(att["p99"], 2),
            "ms",
            _r(10 * idle["p99"], 2),
            "lower",
            _r(idle["p99"], 2),
            att["msgs"],
        ),
        row(
            f"{p}: honest messages lost (> 5 s)",
            att["lost"],
            "messages",
            0,
            "lower",
            idle["lost"],
            att["msgs"] + att["lost"],
        ),
        row(
            f"{p}: sign-in success under attack",
            _r(att["sign_in_pct"]),
            "%",
            95.0,
            "higher",
            _r(idle["sign_in_pct"]),
            att["sign_ins"],
        ),
        row(
            f"{p}: node peak RSS under attack",
            _r(att_node["rss"]),
            "MB",
            rss_target,
            "lower",
            _r(idle_node["rss"]),
            1,
        ),
        *({**r, "metric": f"{p}: {r['metric']}"} for r in res["rows"]),
        row(f"{p}: node survived", 1 if res["survived"] else 0, "bool", 1, "higher", None, 1),
        *turn_rows(p, res["idle_turns"], res["attack_turns"]),
        *(  # where the CPU went: no targets, they tell a slow node from a node starved of CPU
            row(f"{p}: {name}", _r(value, 2), unit, None, "lower", _r(anchor, 2), 1)
            for name, value, anchor, unit in (
                ("node CPU under attack", att_node["cpu"], idle_node["cpu"], "% of a core"),
                ("attacker process CPU", res["attacker_cpu"], nan, "% of a core"),
                ("honest clients' process CPU", att_node["self_cpu"], idle_node["self_cpu"], "% of a core"),
                ("CPU of every other process on the machine", others, idle_others, "% of a core"),
                (
                    "node event loop runnable but waiting for a CPU",
                    att_node["waited"],
                    idle_node["waited"],
                    "% of the time",
                ),
                (
                    "node event loop's mean wait for a CPU per run",
                    att_node["wait_per_run"],
                    idle_node["wait_per_run"],
                    "ms",
                ),
                ("1-minute load average at the end of the attack", res["load"][-1], res["load"][0], "load"),
            )
        ),
    ]
    return [r for r in out if r["value"] is not None]  # e.g. no attacker CPU when the attacker failed


def turn_rows(p: str, idle: dict[str, float], att: dict[str, float]) -> list[dict[str, Any]]:
    """Where the honest frames' waiting comes from, measured inside the node (its status "turns"):
    how long turns held the event loop, and the pre-auth work one turn did. The slices per turn have
    the node's budget as target; CPU time per turn does not grow with the machine's load as the
    latencies do."""
    return [
        row(f"{p}: {name}", _r(att[key], 2), unit, target, "lower", _r(idle[key], 2), 1)
        for name, key, unit, target in (
            ("node event loop's longest stall (a 10-ms timer's lag, wall time)", "lag_max", "ms", None),
            ("node event loop's stall, median second's longest", "lag_median", "ms", None),
            ("node event loop's longest turn (CPU time)", "turn_max", "ms", None),
            ("node event loop's longest turn, median second's", "turn_median", "ms", None),
            ("pre-auth slices handled in one loop turn, most", "slices", "slices", PRE_AUTH_PER_TURN),
            ("pre-auth CPU in one loop turn, most", "pre_auth_cpu", "ms", None),
        )
    ]


def _dash(x: Any) -> str:
    return "-" if x is None else str(x)


def _met(r: dict[str, Any]) -> str:
    if r["target"] is None or r["value"] is None:
        return ""
    ok = r["value"] <= r["target"] if r["better"] == "lower" else r["value"] >= r["target"]
    return "yes" if ok else "**no**"


def markdown(
    rows: list[dict[str, Any]], results: list[dict[str, Any]], argv: list[str], load: tuple[float, float]
) -> str:
    with_target = [r for r in rows if r["target"] is not None]
    missed = [r for r in with_target if _met(r) != "yes"]
    md = [
        "# Node under attack",
        "",
        f"Run: `{' '.join(['bench/bench_node_under_attack.py', *argv])}` on {platform.node() or 'a host'}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {CORES} cores shared with other jobs "
        f"(latencies are noisy), Python {platform.python_version()}, {source_revision(MEASURED)}. "
        f"1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} at the end; each scenario's "
        "load is in its rows.",
        "",
        f"**{len(with_target) - len(missed)} of {len(with_target)} rows with a target met.**"
        + (
            " Missed: " + "; ".join(f"{r['metric']} ({r['value']} vs {r['target']})" for r in missed) + "."
            if missed
            else ""
        ),
        "",
        "## How to read it",
        "",
        paragraph(
            """
            Each scenario starts a fresh node. *Anchor* is the same figure without attack, measured in
            the same run just before the attack: from 1 s after the honest pair signed in to the start of
            the attacker process (for RSS: the node's RSS then; for CPU: the CPU then). The attack window
            is the attacker's own, from after its imports to its end, so the attacker's start-up is in
            neither window.
            """
        ),
        "",
        paragraph(
            f"""
            Targets (security review, 'Benchmark'): the node survives every attack; honest p99 latency
            under attack <= 10x the idle p99 of the same run; sign-in success >= 95 %; no honest message
            lost; for the non-reading fan-out (`--buffer-budget-mib {BUDGET_MIB}`, run at two N) RSS <=
            idle RSS + 2x the budget: the budget bounds unsent bytes, the process also holds each frame
            once more while parsing and copying it into a transport and keeps freed allocator arenas; what
            matters is that the peak does not grow with N (kernel socket buffers are not in RSS;
            SO_SNDBUF, 64 KiB doubled by Linux, bounds them); mailbox files on disk <= 1.25x the
            configured cap (the cap counts message bytes; SQLite pages and the WAL come on top); the
            mailbox and TURN rows carry their own targets (one sender's quota for one recipient, 100 % of
            another sender's messages and of a large hand-out, no 1013, coturn's per-user quota of 4
            allocations, the honest allocation, >= 95 % of honest credential fetches).
            """
        ),
        "",
        paragraph(
            f"""
            CPU rows (% of one core, the window's CPU time over its length): the node; the attacker
            process (its own measurement); this process, which runs the honest clients; and every other
            process on the machine (busy time of all {CORES} cores from /proc/stat minus those three;
            coturn of the TURN scenarios and other people's jobs land here). The node's event loop (its
            main thread, /proc/PID/schedstat): the share of the time it was runnable but waiting for a
            CPU, and its mean wait per run. A p99 miss while the node waited a large share of the time
            is partly the machine's; the targets are kept as they are all the same.
            """
        ),
        "",
        "## Results",
        "",
        "| metric | value | unit | target | anchor | met? | n |",
        "|---|---|---|---|---|---|---|",
    ]
    md += [
        f"| {r['metric']} | {r['value']} | {r['unit']} | {_dash(r['target'])} | {_dash(r['anchor'])} | "
        f"{_met(r)} | {r['n']} |"
        for r in rows
    ]
    md += ["", "## What each attacker did and saw, and the node's counters", ""]
    for res in results:
        md.append(
            f"- {res['scenario'].label} (`--only {res['scenario'].attack}`; "
            f"attack {res['attack_seconds']:.1f} s): "
            f"attacker {dumps(res['attacker'], ensure_ascii=False)}; "
            f"node {dumps(res['node_stats'])}"
        )
    md += [
        "",
        "## Not in this benchmark",
        "",
        "- EIP-1271 sign-in floods (item 10 of the review) need a chain with a contract wallet and an "
        "operator registered for the node; `tests/node/test_eip1271_limits.py` covers them with a stand-in "
        "RPC (bounded pool, gas cap, cache of addresses without code).",
        "- An allocation outliving its TURN credential (a14) takes the credential TTL to show; "
        "`tests/node/test_turn.py` checks coturn's `--max-allocate-lifetime` against the TTL.",
    ]
    return "\n".join(md) + "\n"


def run_attacker(args: argparse.Namespace) -> dict[str, Any]:
    """The attacker process: one attack, what it did, its own window and CPU (% of a core)."""
    os.nice(args.attacker_nice)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write(str(args.attacker_nice))  # with autogroups (Linux) a session's nice is its group's
    t_start, cpu0 = time.time(), time.process_time()
    if args.attacker in mailbox_turn.ATTACKS:
        target = mailbox_turn.Target(args.uri, Path(args.data_dir), args.turn_port)
        rows, detail = asyncio.run(mailbox_turn.ATTACKS[args.attacker](target, args.seconds))
        result = {**detail, "rows": rows}
    else:
        result = asyncio.run(ATTACKS[args.attacker](args.uri, args.seconds, args.param))
    t_end = time.time()
    return {
        **result,
        "_window": [t_start, t_end],
        "_cpu": 100.0 * (time.process_time() - cpu0) / (t_end - t_start),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", type=float, default=8.0, help="seconds of honest traffic alone")
    ap.add_argument("--attack", type=float, default=12.0, help="seconds of attack")
    ap.add_argument(
        "--only",
        nargs="*",
        default=None,
        help=f"attack names to run (default: all): {', '.join(SCENARIO_NAMES)}",
    )
    ap.add_argument(
        "--attacker-nice",
        type=int,
        default=0,
        help="nice value of the attacker process: on one machine its CPU competes with the node's, "
        "which an attacker on another host does not (0 = same priority, the harder test)",
    )
    ap.add_argument(
        "--no-report",
        action="store_true",
        help="print the table only, leave bench/results alone (for measuring one scenario)",
    )
    ap.add_argument("--attacker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--uri", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    ap.add_argument("--param", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--turn-port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.attacker:
        print(dumps(run_attacker(args)), flush=True)
        return
    unknown = set(args.only or ()) - set(SCENARIO_NAMES)
    if unknown:
        ap.error(f"unknown attack name(s) {sorted(unknown)}; choose from {', '.join(SCENARIO_NAMES)}")
    random.seed(18)
    load_start = os.getloadavg()[0]
    results = []
    for sc in SCENARIOS:  # bound: the scenarios, one at a time
        if args.only and sc.attack not in args.only:
            continue
        Console().print(f"[bold]{sc.label}[/] ...")
        results.append(run_scenario(sc, args.idle, args.attack, args.attacker_nice))
    rows = [r for res in results for r in rows_of(res)]
    table = Table(title="Node under attack: honest traffic during each attack (anchor: same run, no attack)")
    for col in ("metric", "value", "unit", "target", "anchor", "met?"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["metric"], str(r["value"]), r["unit"], _dash(r["target"]), _dash(r["anchor"]), _met(r)
        )
    Console(width=180).print(table)
    if args.no_report:
        for res in results:  # what the report's notes would say
            print(res["scenario"].label, dumps(res["attacker"]), dumps(res["node_stats"]))
        return
    paths = write_report(NAME, rows, markdown(rows, results, sys.argv[1:], (load_start, os.getloadavg()[0])))
    print("wrote", *(p.relative_to(REPO) for p in paths))


if __name__ == "__main__":
    main()
