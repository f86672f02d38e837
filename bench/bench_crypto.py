"""End-to-end encryption benchmark: what sealing costs a client, a relay and a call. Figures, not assertions.

1. Per message: seal + open (Double Ratchet session, padding, replay check;
   clubchat.crypto.session.Sealer) of a chat text of 100 B and of 10 KiB, beside a plain JSON encode +
   decode of the same envelope with the text in the clear (`m.encode` + `m.decode_frame`), in the same
   run; medians of per-message times. The ratchet's cost in three cases: messages one way (a
   symmetric chain step each), messages alternating (a Diffie-Hellman ratchet step each), and the
   first message of a session (HPKE auth mode to the prekey + ratchet set-up); beside it the baseline
   of the design before the ratchet, one HPKE auth-mode seal + open per message. Also the check of a
   peer's key bundle (wallet signature recovery + Ed25519 prekey signature).
2. Relay throughput with sealed envelopes: PAIRS sender->receiver pairs push MESSAGES sealed
   candidate-sized envelopes through `python -m clubchat.node run --kinds relay` (the relay does not
   decrypt), beside bench/_bare_forwarder.py with the same frames (bench_relay's clients and pump).
   Target: >= 0.6x the bare forwarder. bench_relay's plaintext frames run between the sealed runs,
   so the cost of the larger sealed frames shows under the same load.
3. Call set-up with encrypted signaling: CALLS calls Alice -> Bob on a loopback network (2 relays +
   coturn, in-memory registry, aioice RTO 50 ms): offer -> connected (median, target <= 150 ms), and
   place_call total (adds rendezvous, TURN credentials, relay sign-in, key-bundle publish and fetch).

Usage: .venv/bin/python bench/bench_crypto.py [--messages N] [--pairs N] [--relay-messages N] [--calls N]
Writes bench/results/crypto.json (rows) and bench/results/crypto.md (table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _attack_mailbox_turn import row as _row
from _harness import write_report
from _harness.calls import CALL_GAP
from bench_relay import SDP_LIKE, forwarding, throughput
from eth_account import Account
from rich.console import Console
from rich.table import Table

from clubchat.client.call import use_fast_ice_retransmit
from clubchat.client.session import Listener, place_call
from clubchat.crypto import hpke
from clubchat.crypto.bundle import verify_bundle
from clubchat.crypto.device import DeviceKeys
from clubchat.crypto.padding import pad, unpad
from clubchat.crypto.session import Sealer, unwrap, wrap
from clubchat.node.localnet import local_network
from clubchat.protocol import messages as m

CHAIN_ID = 31337


def _median_us(times: list[float]) -> float:
    return round(statistics.median(times) * 1e6, 1)


def per_message(n: int, size: int, mode: str = "chain") -> dict[str, float]:
    """Median microseconds per message: seal+open, and plain encode+decode, for a `size`-byte text.
    `mode`: "chain" (Alice sends every message), "dh" (Alice and Bob alternate: every message steps
    the DH ratchet), "opening" (every message opens a new session), "hpke" (one-shot HPKE auth
    mode per message, no session: the design before the ratchet)."""
    alice, bob = Account.from_key("0x" + "a1" * 32), Account.from_key("0x" + "b2" * 32)
    now = int(time.time())
    a_dev, b_dev = DeviceKeys.create(alice, CHAIN_ID, now), DeviceKeys.create(bob, CHAIN_ID, now)
    a_bundle = asyncio.run(verify_bundle(a_dev.bundle(), address=alice.address, chain_id=CHAIN_ID, now=now))
    b_bundle = asyncio.run(verify_bundle(b_dev.bundle(), address=bob.address, chain_id=CHAIN_ID, now=now))
    a, b = Sealer(a_dev), Sealer(b_dev)
    text = m.Text(body="x" * size)
    sealed_t, plain_t = [], []
    frame = ""
    for i in range(n):
        id = f"s{size}-{i}"
        if mode == "opening":
            a, b = Sealer(a_dev), Sealer(b_dev)
        forward = not (mode == "dh" and i % 2)
        sender, receiver = (a, b) if forward else (b, a)
        to_bundle, from_bundle = (b_bundle, a_bundle) if forward else (a_bundle, b_bundle)
        t0 = time.perf_counter()
        if mode == "hpke":  # the padded payload, sealed and opened once with HPKE auth mode
            aad = f"{alice.address}|{bob.address}|{id}".encode()
            enc, ct = hpke.seal(b_bundle.prekey, a_dev.x25519, aad, pad(wrap(text, now)))
            opened = hpke.open_sealed(enc, ct, b_dev.prekeys[-1].private, a_dev.public_x25519, aad)
            assert unwrap(unpad(opened))[1] == text
        else:
            sealed = sender.seal(to_bundle, id, text)
            frame = m.encode(
                m.Envelope(id=id, sender=from_bundle.address, to=to_bundle.address, payload=sealed)
            )
            got = m.decode_frame(frame)
            assert isinstance(got, m.Envelope) and receiver.open(got, from_bundle) == text
        sealed_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain = m.decode_frame(
            m.encode(m.Envelope(id=id, sender=alice.address, to=bob.address, payload=text))
        )
        assert isinstance(plain, m.Envelope) and plain.payload == text
        plain_t.append(time.perf_counter() - t0)
    return {"sealed_us": _median_us(sealed_t), "plain_us": _median_us(plain_t), "frame_bytes": len(frame)}


def bundle_check(n: int) -> float:
    """Median microseconds to verify a peer's key bundle (EIP-191 recovery + Ed25519)."""
    now = int(time.time())
    bundles = []
    for i in range(n):
        account = Account.from_key((5000 + i).to_bytes(32, "big"))
        bundles.append((account.address, DeviceKeys.create(account, CHAIN_ID, now).bundle()))
    times = []
    for address, bundle in bundles:
        t0 = time.perf_counter()
        asyncio.run(verify_bundle(bundle, address=address, chain_id=CHAIN_ID, now=now))
        times.append(time.perf_counter() - t0)
    return _median_us(times)


async def sealed_throughput(n_pairs: int, messages: int) -> dict[str, float]:
    """bench_relay's throughput measurement with sealed envelopes: messages/s, relay and bare."""
    accounts = [Account.from_key((i + 1).to_bytes(32, "big")) for i in range(2 * n_pairs)]
    now = int(time.time())
    devices = [DeviceKeys.create(a, CHAIN_ID, now) for a in accounts]
    frames = []
    payload = m.Candidates(candidates=(m.IceCandidate(SDP_LIKE, 0, "0"),))
    for i in range(n_pairs):
        sender, to = Sealer(devices[2 * i]), devices[2 * i + 1]
        peer = await verify_bundle(to.bundle(), address=to.address, chain_id=CHAIN_ID, now=now)
        frames.append(
            [
                m.encode(
                    m.Envelope(
                        id=f"e{i}-{j}",
                        sender=accounts[2 * i].address,
                        to=to.address,
                        payload=sender.seal(peer, f"e{i}-{j}", payload),
                    )
                )
                for j in range(messages)
            ]
        )
    out = await forwarding(accounts, frames, signed=False)
    out["frame_bytes"] = len(frames[0][0])
    return out


async def calls(n_calls: int) -> dict[str, list[float]]:
    use_fast_ice_retransmit()
    alice, bob = Account.from_key("0x" + "a1" * 32), Account.from_key("0x" + "b2" * 32)
    setup, total = [], []
    with tempfile.TemporaryDirectory() as tmp:
        async with local_network(Path(tmp)) as net:
            listener = Listener(bob, net.discovery)
            await listener.start()
            for _ in range(n_calls):
                session = await place_call(alice, net.discovery, bob.address)
                incoming = await asyncio.wait_for(listener.calls.get(), 10)
                setup.append(session.call.stats.setup_ms)
                total.append(session.setup_ms)
                await session.hang_up()
                await incoming.close()
                await asyncio.sleep(CALL_GAP)  # coturn frees the call's allocations (bench/_harness/calls.py)
            await listener.close()
    return {"setup": setup, "total": total}


def _dash(target: float | None) -> str:
    return "-" if target is None else str(target)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=500, help="messages per size for the per-message times")
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--relay-messages", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3, help="throughput repetitions (median reported)")
    ap.add_argument("--calls", type=int, default=12)
    args = ap.parse_args()

    small, large = per_message(args.messages, 100), per_message(args.messages, 10 * 1024)
    modes = {mode: per_message(args.messages, 100, mode) for mode in ("dh", "opening", "hpke")}
    check_us = bundle_check(50)
    runs, plain = [], []
    for _ in range(args.repeat):  # sealed and plaintext frames back to back, under the same load
        runs.append(asyncio.run(sealed_throughput(args.pairs, args.relay_messages)))
        plain.append(asyncio.run(throughput(args.pairs, args.relay_messages, [])))
    ratio = statistics.median(r["ours_mps"] / r["bare_mps"] for r in runs)
    plain_ratio = statistics.median(r["ours_mps"] / r["bare_mps"] for r in plain)
    cs = asyncio.run(calls(args.calls))
    load = os.getloadavg()[0]
    machine = f"{platform.machine()}, {os.cpu_count()} cores visible, load {load:.1f} (shared machine)"
    n_relay = args.pairs * args.relay_messages * len(runs)
    rows = [
        _row(
            "seal + open, 100 B text, one sender: a chain step each (median)",
            small["sealed_us"],
            "us/message",
            None,
            "lower",
            machine,
            args.messages,
        ),
        _row(
            "plain JSON encode + decode, 100 B text (median)",
            small["plain_us"],
            "us/message",
            None,
            "lower",
            "same run",
            args.messages,
        ),
        _row(
            "seal + open, 10 KiB text, one sender: a chain step each (median)",
            large["sealed_us"],
            "us/message",
            None,
            "lower",
            machine,
            args.messages,
        ),
        _row(
            "plain JSON encode + decode, 10 KiB text (median)",
            large["plain_us"],
            "us/message",
            None,
            "lower",
            "same run",
            args.messages,
        ),
        *(
            _row(
                f"{label} (median)",
                modes[mode]["sealed_us"],
                "us/message",
                None,
                "lower",
                anchor,
                args.messages,
            )
            for mode, label, anchor in (
                ("dh", "seal + open, 100 B text, alternating senders: a DH ratchet step each", "same run"),
                (
                    "opening",
                    "seal + open, 100 B text, first message of a session: HPKE + ratchet set-up",
                    "same run",
                ),
                (
                    "hpke",
                    "baseline: one-shot HPKE auth-mode seal + open per message, 100 B text",
                    "same run; the design before the ratchet, no envelope framing",
                ),
            )
        ),
        _row(
            "sealed envelope size, 100 B text",
            small["frame_bytes"],
            "bytes",
            None,
            "lower",
            "256 B padding bucket",
            1,
        ),
        _row(
            "sealed envelope size, 10 KiB text",
            large["frame_bytes"],
            "bytes",
            None,
            "lower",
            "16 KiB padding bucket",
            1,
        ),
        _row(
            "key bundle check (EIP-191 recovery + Ed25519) (median)",
            check_us,
            "us",
            None,
            "lower",
            "coincurve + cryptography",
            50,
        ),
        _row(
            "relay forwarding, sealed envelopes (median)",
            round(statistics.median(r["ours_mps"] for r in runs)),
            "messages/s",
            None,
            "higher",
            machine,
            n_relay,
        ),
        _row(
            "bare websockets forwarder, same frames (median)",
            round(statistics.median(r["bare_mps"] for r in runs)),
            "messages/s",
            None,
            "higher",
            "bench/_bare_forwarder.py",
            n_relay,
        ),
        _row(
            "relay / bare forwarder, sealed envelopes (median ratio)",
            round(ratio, 3),
            "x",
            0.6,
            "higher",
            f"{runs[0]['frame_bytes']:.0f}-byte frames",
            len(runs),
        ),
        _row(
            "relay / bare forwarder, the same messages in the clear (median ratio)",
            round(plain_ratio, 3),
            "x",
            None,
            "higher",
            "bench_relay's frames, run between the sealed runs",
            len(plain),
        ),
        _row(
            "call set-up, offer -> connected, encrypted signaling (median)",
            round(statistics.median(cs["setup"]), 1),
            "ms",
            150.0,
            "lower",
            "loopback, coturn, aioice RTO 50 ms",
            len(cs["setup"]),
        ),
        _row(
            "call set-up, place_call total, encrypted signaling (median)",
            round(statistics.median(cs["total"]), 1),
            "ms",
            None,
            "lower",
            "+ rendezvous, TURN credentials, sign-in, key bundles",
            len(cs["total"]),
        ),
    ]
    table = Table(title="End-to-end encryption benchmark")
    for col in ("metric", "value", "unit", "target", "n"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["metric"],
            str(r["value"]),
            r["unit"],
            _dash(r["target"]),
            str(r["n"]),
        )
    Console().print(table)
    md = [
        "# End-to-end encryption benchmark",
        "",
        f"Run: `{' '.join(['bench/bench_crypto.py', *sys.argv[1:]])}` on {machine}.",
        "Times are noisy: seven engineers share the machine's cores.",
        "",
        "| metric | value | unit | target | n |",
        "|---|---|---|---|---|",
    ]
    md += [f"| {r['metric']} | {r['value']} | {r['unit']} | {_dash(r['target'])} | {r['n']} |" for r in rows]
    md += [
        "",
        "Relay / bare ratio of each sealed throughput run: "
        + ", ".join(f"{r['ours_mps'] / r['bare_mps']:.3f}" for r in runs)
        + "; of each plaintext run beside it: "
        + ", ".join(f"{r['ours_mps'] / r['bare_mps']:.3f}" for r in plain)
        + ".",
        "",
        f"Set-up times (ms, offer -> connected): {', '.join(f'{x:.0f}' for x in sorted(cs['setup']))}.",
        "",
    ]
    write_report("crypto", rows, "\n".join(md))


if __name__ == "__main__":
    main()
