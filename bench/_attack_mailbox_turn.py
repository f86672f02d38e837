"""Attacks on a node's mailbox, TURN allocations and TURN credential endpoint, run by
bench/bench_node_under_attack.py in its attacker process (items 4, 5 and 12 of the security review).

`ATTACKS[name](target, seconds)` attacks a node started with `node_args(turn_port)` (relay, TURN and
NOTIFY; a 32 MiB mailbox cap; 41 relay ports like the CLI default of the attack scripts; the default
quotas) for about `seconds`, from loopback addresses 127.10.0.0/16 and up (127.0.0.10-29 for the
credential flood), and returns `(rows, detail)`: benchmark rows whose metric names the benchmark
prefixes with the scenario label, and what the attacker did and saw, for the report's notes. The
honest pair and the honest sign-ins are the benchmark's, in its own process.

  mailbox-fairness     : Mallory stores small texts for offline Carol until refused, and keeps on
                         sending; meanwhile Alice (another sender) leaves Carol three messages.
  mailbox-handout      : rounds of: a fresh attacker wallet stores large texts (16,000 emoji = 64 KB
                         each) for offline Dave up to its quota, then Dave signs in with the reference
                         client (which acks): how many arrive, is he cut off (1013)?
  mailbox-disk-fill    : 8 free wallets store large texts for distinct offline recipients, and keep
                         on sending past the refusals; the mailbox files on disk against the cap.
  turn-port-exhaustion : one wallet's credential allocates until coturn refuses and holds what it
                         got, retrying; an honest wallet's credential allocates meanwhile.
  credential-flood     : 20 source IPs (127.0.0.10-29) at 9 requests/s each (under the per-IP limit)
                         on the credential endpoint; an honest wallet fetches credentials (nonce +
                         signed request) from 127.0.0.1 every 0.5 s.

Targets: see each row (the cap on one sender's stored messages, 100 % of the honest sender's
messages stored and of the large messages handed out, no 1013, mailbox files on disk within 1.25 x
the configured cap (the cap counts message bytes; SQLite pages and the WAL come on top), the
attacker's allocations within coturn's per-user quota, the honest allocation and >= 95 % of the
honest credential fetches served).

A quick look without the benchmark's honest traffic (one node, prints the rows, writes nothing):
  .venv/bin/python bench/_attack_mailbox_turn.py [--seconds S] [NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioice.stun
from aioice.turn import create_turn_endpoint
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect

from clubchat.client.relay_client import RelayClient, RelayError, new_envelope_id
from clubchat.client.turn_credentials import fetch_turn_credentials
from clubchat.node.localnet import free_port_range, http_status
from clubchat.node.mailbox import MailboxLimits
from clubchat.node.process import NodeProcess
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in

MAILBOX_CAP_MB = 32
TURN_PORTS = 41
BIG = "\U0001f600" * 16_000  # 64,000 bytes of UTF-8: a frame just under the relay's 64 KiB limit
SUCCESS_TARGET = 95.0  # % of honest credential fetches during the credential flood
REFUSED_PAUSE = 0.05  # s between an attacker's sends once the node refuses them

Row = dict[str, Any]
Detail = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """The node under attack: its relay URI, data directory (mailbox files) and TURN port."""

    uri: str
    data_dir: Path
    turn_port: int


def node_args(turn_port: int) -> tuple[str, ...]:
    """`club node run` flags of the node these attacks expect (TURN relay ports after `turn_port`)."""
    return (
        "--kinds", "relay,turn,notify",
        "--turn-port", str(turn_port),
        "--turn-min-port", str(turn_port + 1),
        "--turn-max-port", str(turn_port + TURN_PORTS),
        "--mailbox-max-mb", str(MAILBOX_CAP_MB),
        "--mailbox-min-free-mb", "1",
    )  # fmt: skip


def row(metric: str, value: Any, unit: str, target: Any, better: str, anchor: Any, n: int) -> Row:
    """A benchmark row (`anchor`: the same figure without attack, or None)."""
    return {
        "metric": metric,
        "value": value,
        "unit": unit,
        "target": target,
        "better": better,
        "anchor": anchor,
        "n": n,
    }


def wallet(i: int) -> LocalAccount:
    return Account.from_key((0xA77AC0 + i).to_bytes(32, "big"))


def source_ip(block: int, i: int) -> str:
    """The i-th attacker address of a block (127.<block>.x.y; Linux routes all of 127/8 to lo)."""
    return f"127.{block}.{1 + i // 250}.{1 + i % 250}"


async def signed_in_ws(uri: str, account: LocalAccount, source: str) -> ClientConnection:
    """A WebSocket from `source`, signed in as `account`."""
    ws = await asyncio.wait_for(
        connect(uri, max_size=2**22, compression=None, open_timeout=10, local_addr=(source, 0)), 10
    )
    c = m.decode_frame(await asyncio.wait_for(ws.recv(), 10))
    assert isinstance(c, m.Challenge), c
    text = build_sign_in(account.address, c.uri, c.chain_id, c.nonce, int(time.time()), 3600).text()
    sig = bytes(account.sign_message(encode_defunct(text=text)).signature)
    await ws.send(m.encode(m.SignIn(message=text, signature="0x" + sig.hex())))
    reply = m.decode_frame(await asyncio.wait_for(ws.recv(), 10))
    if not isinstance(reply, m.SignedIn):
        await ws.close()
        raise RuntimeError(f"{account.address} could not sign in from {source}: {reply}")
    return ws


async def store(
    uri: str,
    sender: LocalAccount,
    source: str,
    recipients: Callable[[int], str],
    body: str,
    most: int,
    until: float = 0.0,
    refused: asyncio.Event | None = None,
) -> Counter[str]:
    """Store envelopes from `source` until the relay refuses one (or `most`); with `until` (a
    time.time()), keep on sending past refusals, one every REFUSED_PAUSE, until then. Counts the
    outcomes by status or `code: reason tag`; sets `refused` at the first refusal.

    Frames are written as a client in another language would: UTF-8 text (the reference client's
    `json.dumps` would escape every emoji into 12 ASCII characters and pass the frame size limit)."""
    out: Counter[str] = Counter()
    ws = await signed_in_ws(uri, sender, source)

    def more(i: int) -> bool:
        return time.time() < until if until else i < most

    try:
        i = 0
        while more(i):  # bound: `most` envelopes, or until `until`
            envelope = {
                "type": "envelope",
                "id": new_envelope_id(),
                "from": sender.address,
                "to": recipients(i),
                "payload": {"type": "text", "body": body},
            }
            i += 1
            await ws.send(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
            try:
                reply = m.decode_frame(await asyncio.wait_for(ws.recv(), 2))
            except TimeoutError:  # past a threshold the relay stops answering refused frames
                out["no answer"] += 1
                continue
            if isinstance(reply, m.Sent):
                out[reply.status] += 1
                continue
            assert isinstance(reply, m.Error), reply
            out[f"{reply.code}: {reply.reason.split(':', 1)[0]}"] += 1
            if refused is not None:
                refused.set()
            if not until:
                break
            await asyncio.sleep(REFUSED_PAUSE)
    finally:
        await ws.close()
    return out


def refusals(outcomes: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in outcomes.items() if k != "stored"}


# -- mailbox -------------------------------------------------------------------------------------


async def fairness(t: Target, seconds: float) -> tuple[list[Row], Detail]:
    deadline = time.time() + seconds
    limits = MailboxLimits()
    mallory, alice, carol = wallet(1), wallet(2), wallet(3)
    refused = asyncio.Event()
    flood = asyncio.create_task(
        store(t.uri, mallory, source_ip(10, 0), lambda _: carol.address, "spam", 0, deadline, refused)
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(refused.wait(), max(0.1, deadline - time.time() - 2))
    honest = await store(t.uri, alice, "127.0.0.1", lambda _: carol.address, "see you at 8", 3)
    mallory_out = await flood
    rows = [
        row(
            "one sender's stored messages for one offline recipient",
            mallory_out["stored"],
            "messages",
            limits.per_sender_per_recipient,
            "lower",
            None,
            sum(mallory_out.values()),
        ),
        row(
            "another sender's messages stored during the flood",
            round(100.0 * honest["stored"] / 3, 1),
            "%",
            100.0,
            "higher",
            None,
            3,
        ),
    ]
    return rows, {
        "attacker": dict(mallory_out),
        "other sender": dict(honest),
        "before the fix": "the other sender 0 % (mailbox-full) until the recipient acked",
    }


async def handout(t: Target, seconds: float) -> tuple[list[Row], Detail]:
    deadline = time.time() + seconds
    limits = MailboxLimits()
    dave = wallet(5)
    rounds: list[tuple[int, int, bool, float]] = []  # stored, received, cut off, hand-out seconds

    async def dave_signs_in(expected: int) -> tuple[int, bool, float]:
        t0 = time.perf_counter()
        c = await RelayClient.connect(t.uri, dave, timeout=10)
        got = 0
        with contextlib.suppress(TimeoutError, RelayError):
            for _ in range(expected):
                await c.receive(10)
                got += 1
        seconds = time.perf_counter() - t0
        cut_off = c.closed.is_set()
        await c.close()
        return got, cut_off, seconds

    r = 0
    while time.time() < deadline:  # bound: rounds until the deadline
        stored = await store(
            t.uri,
            wallet(1000 + r),  # a fresh free wallet each round: the per-sender quotas do not end it
            source_ip(11, r),
            lambda _: dave.address,
            BIG,
            limits.per_sender_per_recipient + 1,
        )
        got, cut_off, took = await dave_signs_in(stored["stored"])
        rounds.append((stored["stored"], got, cut_off, took))
        r += 1
    worst = min(100.0 * got / n if n else 100.0 for n, got, _, _ in rounds)
    rows = [
        row(
            "stored 64 KB messages received in one sign-in (worst round)",
            round(worst, 1),
            "%",
            100.0,
            "higher",
            None,
            len(rounds),
        ),
        row(
            "recipient cut off (1013) during a hand-out",
            sum(cut for _, _, cut, _ in rounds),
            "count",
            0,
            "lower",
            None,
            len(rounds),
        ),
    ]
    return rows, {
        "rounds (stored, received, cut off, hand-out s)": [
            (n, got, cut, round(took, 2)) for n, got, cut, took in rounds
        ],
        "before the fix": "62 of 200 received, then 1013 on every sign-in",
    }


def mailbox_disk_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("mailbox.sqlite*") if p.is_file())


async def disk_fill(t: Target, seconds: float) -> tuple[list[Row], Detail]:
    deadline = time.time() + seconds
    cap = MAILBOX_CAP_MB * 2**20
    first_refusal: list[float] = []
    t0 = time.perf_counter()

    def recipients(w: int) -> Callable[[int], str]:
        return lambda i: f"0x{w * 10_000_000 + i + 1:040x}"  # distinct offline recipients

    async def one(w: int) -> Counter[str]:
        refused = asyncio.Event()
        waiter = asyncio.create_task(refused.wait())
        waiter.add_done_callback(
            lambda f: None if f.cancelled() else first_refusal.append(time.perf_counter() - t0)
        )
        try:
            return await store(
                t.uri, wallet(100 + w), source_ip(12, w), recipients(w), BIG, 0, deadline, refused
            )
        finally:
            waiter.cancel()

    outcomes = await asyncio.gather(*(one(w) for w in range(8)))
    total: Counter[str] = sum(outcomes, Counter())
    disk = mailbox_disk_bytes(t.data_dir)
    rows = [
        row(
            "mailbox files on disk / configured cap",
            round(disk / cap, 3),
            "x",
            1.25,
            "lower",
            None,
            total["stored"],
        ),
        row(
            "64 KB messages stored (8 wallets, until the deadline)",
            total["stored"],
            "messages",
            None,
            "lower",
            None,
            sum(total.values()),
        ),
    ]
    return rows, {
        "mailbox on disk MiB": round(disk / 2**20, 1),
        "cap MiB (message bytes)": MAILBOX_CAP_MB,
        "first refusal after s": round(min(first_refusal), 1) if first_refusal else None,
        "refusals": refusals(total),
        "before the fix": "20 free wallets stored 10,000 x 65.7 KB in 9 s, no cap",
    }


# -- TURN and its credential endpoint ------------------------------------------------------------


async def allocate(port: int, creds: m.TurnCredentials) -> Any:
    transport, _ = await asyncio.wait_for(
        create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), creds.username, creds.password, 600
        ),
        10,
    )
    return transport


async def turn_credentials(uri: str, account: LocalAccount, source: str) -> m.TurnCredentials:
    """Credentials asked for over a relay connection from `source`."""
    ws = await signed_in_ws(uri, account, source)
    try:
        await ws.send(m.encode(m.GetTurnCredentials()))
        reply = m.decode_frame(await asyncio.wait_for(ws.recv(), 10))
    finally:
        await ws.close()
    assert isinstance(reply, m.TurnCredentials), reply
    return reply


TURN_ERRORS = (aioice.stun.TransactionError, TimeoutError, ConnectionError)


async def turn_exhaust(t: Target, seconds: float) -> tuple[list[Row], Detail]:
    deadline = time.time() + seconds
    creds = await turn_credentials(t.uri, wallet(6), source_ip(13, 0))
    held: list[Any] = []
    refused: Counter[str] = Counter()
    honest_ok = 0
    old = aioice.stun.RETRY_RTO
    aioice.stun.RETRY_RTO = 0.05
    try:
        for _ in range(TURN_PORTS):  # bound: every relay port
            try:
                held.append(await allocate(t.turn_port, creds))
            except TURN_ERRORS as exc:
                refused[str(exc)[:60]] += 1
                break
        n_attacker = len(held)
        honest_creds = await turn_credentials(t.uri, wallet(7), "127.0.0.1")
        try:
            held.append(await allocate(t.turn_port, honest_creds))
            honest_ok = 1
        except TURN_ERRORS as exc:
            refused[f"honest: {str(exc)[:60]}"] += 1
        while time.time() < deadline:  # bound: the deadline; the attacker keeps on asking
            try:
                held.append(await allocate(t.turn_port, creds))
                n_attacker += 1
            except TURN_ERRORS as exc:
                refused[str(exc)[:60]] += 1
            await asyncio.sleep(0.5)
    finally:
        aioice.stun.RETRY_RTO = old
        for transport in held:
            transport.close()
    rows = [
        row(
            "allocations one credential holds",
            n_attacker,
            "allocations",
            4,
            "lower",
            None,
            sum(refused.values()) + n_attacker,
        ),
        row(
            "honest allocation while the attacker holds its quota",
            100.0 * honest_ok,
            "%",
            100.0,
            "higher",
            None,
            1,
        ),
    ]
    return rows, {
        "relay ports": TURN_PORTS,
        "refusals": dict(refused),
        "before the fix": f"one credential took all {TURN_PORTS} ports; honest: 508 Cannot create socket",
    }


async def credential_flood(t: Target, seconds: float) -> tuple[list[Row], Detail]:
    port = int(t.uri.rsplit(":", 1)[1])
    endpoint = "http" + t.uri.removeprefix("ws") + "/turn-credentials"
    codes: Counter[str] = Counter()
    pending: set[asyncio.Task[None]] = set()
    done = asyncio.Event()

    async def one(ip: str) -> None:
        try:
            codes[str(await http_status(ip, port, "/turn-credentials/nonce"))] += 1
        except (OSError, TimeoutError, ValueError, IndexError) as exc:
            codes[type(exc).__name__] += 1

    async def flood(ip: str) -> None:
        while not done.is_set():  # bound: until the honest fetches end
            task = asyncio.create_task(one(ip))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(1 / 9)

    async def honest() -> list[bool]:
        out = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:  # bound: `seconds`
            try:
                await fetch_turn_credentials(endpoint, wallet(8), timeout=5)
                out.append(True)
            except (RelayError, TimeoutError):
                out.append(False)
            await asyncio.sleep(0.5)
        done.set()
        return out

    floods = [asyncio.create_task(flood(f"127.0.0.{10 + i}")) for i in range(20)]
    fetched = await honest()
    await asyncio.gather(*floods)
    await asyncio.gather(*pending)
    rows = [
        row(
            "honest credential fetches that succeeded",
            round(100.0 * sum(fetched) / len(fetched), 1),
            "%",
            SUCCESS_TARGET,
            "higher",
            None,
            len(fetched),
        ),
        row(
            "attacker requests refused (429)",
            codes["429"],
            "requests",
            None,
            "higher",
            None,
            sum(codes.values()),
        ),
    ]
    return rows, {
        "answers to the attacker": dict(codes),
        "before the fix": "8 of 17 honest fetches failed: one shared bucket",
    }


ATTACKS: dict[str, Callable[[Target, float], Coroutine[Any, Any, tuple[list[Row], Detail]]]] = {
    "mailbox-fairness": fairness,
    "mailbox-handout": handout,
    "mailbox-disk-fill": disk_fill,
    "turn-port-exhaustion": turn_exhaust,
    "credential-flood": credential_flood,
}


# -- a quick look on its own ---------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"attacks to run (default: all): {', '.join(ATTACKS)}")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds of each attack")
    args = ap.parse_args()
    unknown = set(args.names) - set(ATTACKS)
    if unknown:
        ap.error(f"unknown attack(s) {sorted(unknown)}; choose from {', '.join(ATTACKS)}")
    turn_port = free_port_range(TURN_PORTS + 1)
    table = Table(title="Node under attack: mailbox, TURN, credential endpoint (no honest traffic)")
    for col in ("metric", "value", "unit", "target", "n"):
        table.add_column(col, overflow="fold")
    with tempfile.TemporaryDirectory(prefix="clubchat-attack-") as tmp:
        node = NodeProcess(Path(tmp) / "node", *node_args(turn_port))
        try:
            for name in args.names or ATTACKS:  # bound: the attacks, one at a time
                target = Target(node.uri, node.data_dir, turn_port)
                rows, detail = asyncio.run(ATTACKS[name](target, args.seconds))
                for r in rows:
                    table.add_row(
                        f"{name}: {r['metric']}", str(r["value"]), r["unit"], str(r["target"]), str(r["n"])
                    )
                print(f"{name}: {json.dumps(detail)}", file=sys.stderr)
            alive = node.proc.poll() is None
        finally:
            node.stop()
    Console(width=160).print(table)
    print(f"node still running after every attack: {alive}")


if __name__ == "__main__":
    main()
