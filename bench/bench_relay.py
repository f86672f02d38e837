"""Relay and call benchmarks: forwarding throughput beside a bare websockets forwarder,
call set-up time through TURN, data-channel throughput. Figures, not assertions.

1. Throughput: PAIRS sender->receiver pairs, each sender pushes MESSAGES signaling-sized envelopes as
   fast as its socket takes them; messages/s = delivered envelopes / (first send -> last delivery).
   Measured three ways in each repetition: the relay, the relay keeping a signed history (every
   envelope's entry persisted with fsync and signed per batch before its `sent`; then the
   signed-entry latency of 100 single envelopes), and the bare forwarder.
   Ours: `python -m clubchat.node run --kinds relay` (sign-in done before the clock starts; every
   frame is validated, checked against the signed-in sender, replay-checked, rate-limited and
   acknowledged with `sent`). Baseline: bench/_bare_forwarder.py (parses "to", forwards, nothing
   else). Both run in their own process, the clients in this one; same frames, same clients.
2. Call set-up: CALLS calls Alice -> Bob on a loopback network (2 relays + coturn, in-memory
   registry), aioice retransmitting after 50 ms. "offer -> connected" is the WebRTC part (ICE
   through TURN, DTLS, SCTP, data channel open); "place_call total" adds rendezvous lookup, TURN
   credentials (HTTP sign-in) and the relay sign-in.
   Repeated `--repeat` times (each repetition measures ours and the baseline back to back); the
   rows are medians and the report lists every repetition's ratio.
3. Data channel: a 1 MiB file in Club Chat chunks through coturn, until the receiver's file-ack.
4. Sign-in: EIP-191 public-key recovery per sign-in with libsecp256k1 (coincurve, what the relay
   uses) and with eth_keys' pure-Python backend (what it used before), same signatures; and the
   relay sign-in round trip (challenge -> signed-in, client signing included) of section 1's clients.

Usage: .venv/bin/python bench/bench_relay.py [--pairs N] [--messages N] [--repeat N] [--calls N]
Writes bench/results/relay.json (rows) and bench/results/relay.md (table).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import write_report
from _harness.calls import CALL_GAP
from eth_account import Account
from eth_account.messages import encode_defunct
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect

from clubchat.client.call import use_fast_ice_retransmit
from clubchat.client.session import Listener, place_call
from clubchat.node.localnet import local_network
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in, recover_signer, sign_in_hash

REPO = Path(__file__).resolve().parent.parent
SDP_LIKE = "a=candidate:1 1 udp 16777215 127.0.0.1 50000 typ relay raddr 127.0.0.1 rport 40000 " * 3


def _cpu_seconds(pid: int, thread: bool = False) -> float | None:
    """User + system CPU seconds of a process so far, all its threads (Linux /proc; None elsewhere);
    `thread`: of its main thread only (the node's event loop; the relay log commits and signs on a
    thread of its own)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat" if thread else f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed_pump(
    pid: int, pairs: list[tuple[ClientConnection, ClientConnection]], frames: list[list[str]], acks: bool
) -> tuple[float, float | None, float | None]:
    """`_pump`, and the server process's CPU microseconds per envelope meanwhile, all threads and its
    event-loop thread alone (None without /proc): on a shared machine the CPU per envelope moves far
    less than the wall-clock rate."""
    before, loop_before = _cpu_seconds(pid), _cpu_seconds(pid, thread=True)
    seconds = await _pump(pairs, frames, acks)
    after, loop_after = _cpu_seconds(pid), _cpu_seconds(pid, thread=True)
    n = sum(len(f) for f in frames)

    def per_envelope(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else (b - a) / n * 1e6

    return seconds, per_envelope(before, after), per_envelope(loop_before, loop_after)


def _spawn(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline()


async def _sign_in(uri: str, account: Any, times: list[float] | None = None) -> ClientConnection:
    ws = await connect(uri, compression=None, max_size=2**20)
    t0 = time.perf_counter()
    challenge = m.decode_frame(await ws.recv())
    assert isinstance(challenge, m.Challenge)
    text = build_sign_in(
        account.address, challenge.uri, challenge.chain_id, challenge.nonce, int(time.time()), 3600
    ).text()
    sig = "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()
    await ws.send(m.encode(m.SignIn(message=text, signature=sig)))
    assert isinstance(m.decode_frame(await ws.recv()), m.SignedIn)
    if times is not None:
        times.append((time.perf_counter() - t0) * 1e3)
    return ws


async def _pump(
    pairs: list[tuple[ClientConnection, ClientConnection]], frames: list[list[str]], acks: bool
) -> float:
    """Send every pair's frames, wait for every delivery (and every `sent` when `acks`); seconds."""
    n = len(frames[0])

    async def sender(ws: ClientConnection, texts: list[str]) -> None:
        for t in texts:
            await ws.send(t)
        if acks:
            got = 0
            while got < n:  # `sent` acks (with a signed history they carry the durable entries)
                got += '"type":"sent"' in str(await ws.recv())

    async def receiver(ws: ClientConnection) -> None:
        got = 0
        while got < n:  # envelopes; a signed-history relay also sends `logged` frames
            got += '"type":"envelope"' in str(await ws.recv())

    t0 = time.perf_counter()
    await asyncio.gather(
        *(sender(s, f) for (s, _), f in zip(pairs, frames, strict=True)), *(receiver(r) for _, r in pairs)
    )
    return time.perf_counter() - t0


# The relay-log identity of the benchmark's signed-history node (off-chain: no registry to check).
LOG_OPERATOR = Account.from_key("0x" + "0e" * 32)
LOG_NODE_KEY = "0x" + "4e" * 32
LOG_DISPUTES = "0x" + "d1" * 20
LOG_ARGS = ["--operator", LOG_OPERATOR.address, "--node-key", LOG_NODE_KEY, "--disputes", LOG_DISPUTES]


async def _ours(
    accounts: list[Any], frames: list[list[str]], extra: list[str], sign_in_ms: list[float] | None
) -> tuple[float, float | None, float | None, list[float]]:
    """Seconds to pump `frames` through `python -m clubchat.node run` (+ `extra` flags), the node's
    CPU microseconds per envelope (all threads, its event loop alone), and with a signed history the
    signed-entry latencies (ms) of a probe afterwards."""
    n_pairs = len(frames)
    with tempfile.TemporaryDirectory() as tmp:
        proc, line = _spawn(
            # every client is on 127.0.0.1: without the exemption the per-IP limits would throttle them
            [
                sys.executable,
                "-m",
                "clubchat.node",
                "run",
                "--kinds",
                "relay",
                "--data-dir",
                tmp,
                "--per-ip-exempt",
                "127.0.0.1/32",
                *extra,
            ]
        )
        try:
            uri = json.loads(line)["relay"]["uri"]
            conns = [await _sign_in(uri, a, sign_in_ms) for a in accounts]
            pairs = [(conns[2 * i], conns[2 * i + 1]) for i in range(n_pairs)]
            seconds, cpu_us, loop_us = await _timed_pump(proc.pid, pairs, frames, acks=True)
            latencies = await _signed_entry_latency(pairs[0], accounts[0], accounts[1]) if extra else []
            for c in conns:
                await c.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return seconds, cpu_us, loop_us, latencies


async def _signed_entry_latency(
    pair: tuple[ClientConnection, ClientConnection], a: Any, b: Any
) -> list[float]:
    """ms from sending an envelope to its `sent` carrying its durable entry and a signature that
    covers it (one message every 20 ms, so each batch holds one: the entry itself is signed)."""
    ws, _ = pair
    out = []
    for j in range(100):
        text = m.encode(m.Envelope(id=f"lat{j}", sender=a.address, to=b.address, payload=m.Text(body="x")))
        t0 = time.perf_counter()
        await ws.send(text)
        while True:
            reply = json.loads(await ws.recv())
            if reply.get("type") == "sent" and reply.get("id") == f"lat{j}":
                assert reply.get("entry") and reply.get("sig"), reply
                break
        out.append((time.perf_counter() - t0) * 1e3)
        await asyncio.sleep(0.02)
    return out


async def throughput(n_pairs: int, messages: int, sign_in_ms: list[float]) -> dict[str, Any]:
    """Plaintext-shaped frames (an ICE candidate each) through our relay, with signed history, and
    the bare forwarder; the relay never looks inside a payload, so sealed frames of the same size
    cost it the same (bench_crypto measures that)."""
    accounts = [Account.from_key((i + 1).to_bytes(32, "big")) for i in range(2 * n_pairs)]
    frames = [
        [
            m.encode(
                m.Envelope(
                    id=f"b{i}-{j}",
                    sender=accounts[2 * i].address,
                    to=accounts[2 * i + 1].address,
                    payload=m.Candidates(candidates=(m.IceCandidate(SDP_LIKE, 0, "0"),)),
                )
            )
            for j in range(messages)
        ]
        for i in range(n_pairs)
    ]
    return await forwarding(accounts, frames, sign_in_ms)


async def forwarding(
    accounts: list[Any], frames: list[list[str]], sign_in_ms: list[float] | None = None, signed: bool = True
) -> dict[str, Any]:
    """Pair i = accounts[2i] -> accounts[2i+1] sends frames[i] through our relay, our relay with a
    signed history (`signed`), then the bare forwarder, each in its own process: seconds and
    messages/s of each, and the signed-entry latencies (ms)."""
    n_pairs = len(frames)
    out: dict[str, Any] = {}
    out["ours_s"], out["ours_cpu_us"], out["ours_loop_us"], _ = await _ours(accounts, frames, [], sign_in_ms)
    if signed:
        out["log_s"], out["log_cpu_us"], out["log_loop_us"], out["latency_ms"] = await _ours(
            accounts, frames, LOG_ARGS, None
        )
    # bare forwarder, same frames
    proc, line = _spawn([sys.executable, str(REPO / "bench" / "_bare_forwarder.py")])
    try:
        uri = f"ws://127.0.0.1:{int(line)}"
        conns = []
        for a in accounts:
            ws = await connect(uri, compression=None, max_size=2**20)
            await ws.send(a.address)
            conns.append(ws)
        pairs = [(conns[2 * i], conns[2 * i + 1]) for i in range(n_pairs)]
        out["bare_s"], out["bare_cpu_us"], _ = await _timed_pump(proc.pid, pairs, frames, acks=False)
        for c in conns:
            await c.close()
    finally:
        proc.terminate()
        proc.wait(10)
    total = sum(len(f) for f in frames)
    out["ours_mps"] = total / out["ours_s"]
    if signed:
        out["log_mps"] = total / out["log_s"]
    out["bare_mps"] = total / out["bare_s"]
    return out


async def calls(n_calls: int) -> dict[str, Any]:
    use_fast_ice_retransmit()
    alice, bob = Account.from_key("0x" + "a1" * 32), Account.from_key("0x" + "b2" * 32)
    setup, total, types, mbps = [], [], set(), []
    with tempfile.TemporaryDirectory() as tmp:
        async with local_network(Path(tmp)) as net:
            listener = Listener(bob, net.discovery)
            await listener.start()
            for i in range(n_calls):
                session = await place_call(alice, net.discovery, bob.address)
                incoming = await asyncio.wait_for(listener.calls.get(), 10)
                setup.append(session.call.stats.setup_ms)
                total.append(session.setup_ms)
                types.add(session.call.stats.candidate_types)
                if i < 3:
                    data = os.urandom(1 << 20)
                    assert session.call.files is not None
                    t0 = time.perf_counter()
                    ack = await session.call.files.send_file(data)
                    assert ack.ok
                    mbps.append(len(data) / (time.perf_counter() - t0) / 1e6)
                await session.hang_up()
                await incoming.close()
                await asyncio.sleep(CALL_GAP)  # coturn frees the call's allocations (bench/_harness/calls.py)
            await listener.close()
    return {"setup": setup, "total": total, "types": types, "mbps": mbps}


def recovery(n: int) -> dict[str, float]:
    """Milliseconds per signer recovery of a sign-in signature: coincurve vs pure-Python eth_keys."""
    from eth_keys.backends.native import NativeECCBackend
    from eth_keys.datatypes import Signature

    native = NativeECCBackend()
    signed = []
    for i in range(n):
        account = Account.from_key((1000 + i).to_bytes(32, "big"))
        text = build_sign_in(account.address, "ws://127.0.0.1:9000", 31337, f"nonce{i:08d}", 0, 600).text()
        signed.append(
            (account.address, text, bytes(account.sign_message(encode_defunct(text=text)).signature))
        )
    t0 = time.perf_counter()
    for address, text, sig in signed:
        assert recover_signer(text, sig) == address
    fast = (time.perf_counter() - t0) / n * 1e3
    t0 = time.perf_counter()
    for address, text, sig in signed:
        rsv = Signature(sig[:64] + bytes((sig[64] - 27,)), backend=native)
        assert rsv.recover_public_key_from_msg_hash(sign_in_hash(text)).to_checksum_address() == address
    slow = (time.perf_counter() - t0) / n * 1e3
    return {"coincurve_ms": fast, "python_ms": slow}


def _dash(x: object) -> str:
    return "-" if x is None else str(x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--messages", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=5, help="throughput repetitions (median reported)")
    ap.add_argument("--calls", type=int, default=12)
    ap.add_argument("--recoveries", type=int, default=40)
    args = ap.parse_args()

    sign_in_ms: list[float] = []
    runs = [asyncio.run(throughput(args.pairs, args.messages, sign_in_ms)) for _ in range(args.repeat)]
    ratios = [r["ours_mps"] / r["bare_mps"] for r in runs]
    log_ratios = [r["log_mps"] / r["bare_mps"] for r in runs]
    latency = sorted(x for r in runs for x in r["latency_ms"])
    rec = recovery(args.recoveries)
    cs = asyncio.run(calls(args.calls)) if args.calls else None  # --calls 0: throughput and sign-in only
    anchor = f"{platform.machine()}, {os.cpu_count()} cores visible, load {os.getloadavg()[0]:.1f}"
    n_msgs = args.pairs * args.messages
    rows: list[dict[str, Any]] = [
        {
            "metric": "relay forwarding (sign-in, checks, rate limits, acks) (median)",
            "value": round(statistics.median(r["ours_mps"] for r in runs)),
            "unit": "messages/s",
            "target": None,
            "better": "higher",
            "anchor": anchor,
            "n": n_msgs * len(runs),
        },
        {
            "metric": "bare websockets forwarder (median)",
            "value": round(statistics.median(r["bare_mps"] for r in runs)),
            "unit": "messages/s",
            "target": None,
            "better": "higher",
            "anchor": "bench/_bare_forwarder.py, same clients and frames",
            "n": n_msgs * len(runs),
        },
        {
            "metric": "relay / bare forwarder (median of per-run ratios)",
            "value": round(statistics.median(ratios), 3),
            "unit": "x",
            "target": 0.6,
            "better": "higher",
            "anchor": "each run: relay then baseline, back to back",
            "n": len(runs),
        },
        {
            "metric": "relay forwarding with signed history (sign + fsync per batch) (median)",
            "value": round(statistics.median(r["log_mps"] for r in runs)),
            "unit": "messages/s",
            "target": None,
            "better": "higher",
            "anchor": "--disputes --node-key --operator: each `sent` waits for its durable entry",
            "n": n_msgs * len(runs),
        },
        {
            "metric": "relay with signed history / bare forwarder (median of per-run ratios)",
            "value": round(statistics.median(log_ratios), 3),
            "unit": "x",
            "target": 0.6,
            "better": "higher",
            "anchor": "each run: relay, relay with signed history, baseline, back to back",
            "n": len(runs),
        },
        {
            "metric": "signed-entry latency, send -> sent with its durable signed entry (median)",
            "value": round(statistics.median(latency), 2),
            "unit": "ms",
            "target": None,
            "better": "lower",
            "anchor": "one envelope every 20 ms; a batch at most every 50 ms + SQLite commit with fsync",
            "n": len(latency),
        },
        {
            "metric": "signed-entry latency (p99)",
            "value": round(latency[min(len(latency) - 1, int(0.99 * len(latency)))], 2),
            "unit": "ms",
            "target": 1000.0,
            "better": "lower",
            "anchor": "every accepted envelope covered by a signed entry within 1 s",
            "n": len(latency),
        },
        {
            "metric": "sign-in signer recovery, coincurve (libsecp256k1)",
            "value": round(rec["coincurve_ms"], 3),
            "unit": "ms",
            "target": None,
            "better": "lower",
            "anchor": "clubchat.protocol.siwe.recover_signer, what the relay runs",
            "n": args.recoveries,
        },
        {
            "metric": "sign-in signer recovery, pure-Python eth_keys (before)",
            "value": round(rec["python_ms"], 3),
            "unit": "ms",
            "target": None,
            "better": "lower",
            "anchor": "eth_keys NativeECCBackend, same signatures",
            "n": args.recoveries,
        },
        {
            "metric": "relay sign-in round trip (median)",
            "value": round(statistics.median(sign_in_ms), 2),
            "unit": "ms",
            "target": None,
            "better": "lower",
            "anchor": "challenge -> signed-in over loopback, client signing included",
            "n": len(sign_in_ms),
        },
    ]
    cpu_runs = {
        key: [r[key] for r in runs if r.get(key) is not None]
        for key in ("ours_cpu_us", "log_cpu_us", "bare_cpu_us", "ours_loop_us", "log_loop_us")
    }
    for key, what, cpu_anchor in (
        ("ours_cpu_us", "relay", "node process user + system CPU (all threads) while it forwards"),
        (
            "log_cpu_us",
            "relay with signed history",
            "the same, keeping the signed history (hashing, signing, SQLite)",
        ),
        ("bare_cpu_us", "bare forwarder", "bench/_bare_forwarder.py process, same clients and frames"),
        ("ours_loop_us", "relay, event-loop thread", "the node's main thread alone (it forwards)"),
        (
            "log_loop_us",
            "relay with signed history, event-loop thread",
            "main thread alone: the rest of the process's CPU is the log thread (SQLite, signing)",
        ),
    ):
        if cpu_runs[key]:  # Linux /proc only
            rows.append(
                {
                    "metric": f"{what}: CPU per envelope (median)",
                    "value": round(statistics.median(cpu_runs[key]), 1),
                    "unit": "us",
                    "target": None,
                    "better": "lower",
                    "anchor": cpu_anchor,
                    "n": len(cpu_runs[key]),
                }
            )
    if cs is not None:
        rows += [
            {
                "metric": "call set-up, offer -> connected (median)",
                "value": round(statistics.median(cs["setup"]), 1),
                "unit": "ms",
                "target": 150.0,
                "better": "lower",
                "anchor": f"loopback, coturn 4.6.1, aioice RTO 50 ms, pairs {sorted(map(str, cs['types']))}",
                "n": len(cs["setup"]),
            },
            {
                "metric": "call set-up, place_call total (median)",
                "value": round(statistics.median(cs["total"]), 1),
                "unit": "ms",
                "target": None,
                "better": "lower",
                "anchor": "+ rendezvous, TURN credentials (HTTP sign-in), relay sign-in",
                "n": len(cs["total"]),
            },
            {
                "metric": "data channel file transfer through TURN (median)",
                "value": round(statistics.median(cs["mbps"]), 3),
                "unit": "MB/s",
                "target": None,
                "better": "higher",
                "anchor": "1 MiB file, 16 KiB chunks, until file-ack",
                "n": len(cs["mbps"]),
            },
        ]
    table = Table(title="Relay and call benchmark")
    for col in ("metric", "value", "unit", "target", "n"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["metric"], str(r["value"]), r["unit"], str(r["target"] or "-"), str(r["n"]))
    Console().print(table)
    md = [
        "# Relay and call benchmark",
        "",
        f"Run: `{' '.join(['bench/bench_relay.py', *sys.argv[1:]])}` on {anchor}.",
        "",
        "| metric | value | unit | target | n |",
        "|---|---|---|---|---|",
    ]
    md += [f"| {r['metric']} | {r['value']} | {r['unit']} | {_dash(r['target'])} | {r['n']} |" for r in rows]
    md += [
        "",
        "Relay / bare ratio of each throughput run: "
        + ", ".join(f"{x:.3f}" for x in ratios)
        + " (relay "
        + ", ".join(f"{r['ours_mps']:.0f}" for r in runs)
        + "; bare "
        + ", ".join(f"{r['bare_mps']:.0f}" for r in runs)
        + " messages/s).",
        "",
        "Relay with signed history / bare ratio of each run: "
        + ", ".join(f"{x:.3f}" for x in log_ratios)
        + " (relay with signed history "
        + ", ".join(f"{r['log_mps']:.0f}" for r in runs)
        + " messages/s).",
        "",
    ]
    if all(cpu_runs[key] for key in ("ours_cpu_us", "log_cpu_us", "bare_cpu_us")):
        md += [
            "CPU per envelope of each run, us (relay / with signed history / bare forwarder): "
            + ", ".join(
                f"{a:.1f} / {b:.1f} / {c:.1f}"
                for a, b, c in zip(
                    cpu_runs["ours_cpu_us"], cpu_runs["log_cpu_us"], cpu_runs["bare_cpu_us"], strict=True
                )
            )
            + ". The CPU figures move far less with the machine's load than the rates do.",
            "",
        ]
    if cs is not None:
        md += [
            f"Set-up times (ms, offer -> connected): {', '.join(f'{x:.0f}' for x in sorted(cs['setup']))}.",
            "",
        ]
    write_report("relay", rows, "\n".join(md))


if __name__ == "__main__":
    main()
