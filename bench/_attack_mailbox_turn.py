"""Attack scenarios against a node's mailbox, TURN allocations and credential endpoint, for
bench/bench_node_under_attack.py; runnable on its own.

One node process (`python -m clubchat.node run --kinds relay,turn,notify`, a 32 MiB mailbox cap, 41
relay ports like the CLI default of the attack scripts, the default quotas) on loopback; the
attackers and the honest users are clients in this process. While each attack runs, an honest wallet
signs in on a fresh connection every 0.25 s (`sign-in success` rows).

  fairness   : Mallory stores small texts for offline Carol until the relay refuses; then Alice
               (another sender) leaves Carol a message.
  poison     : Mallory stores large texts (16,000 emoji = 64 KB each) for offline Dave up to her
               quota; Dave signs in once with the reference client (which acks): how many arrive,
               is he cut off (1013)?
  diskfill   : 8 free wallets store large texts for distinct offline recipients until refused;
               the mailbox files on disk against the configured cap.
  turn       : one wallet's credential allocates from many sockets until coturn refuses; then an
               honest wallet's credential allocates.
  credflood  : 20 source IPs (127.0.0.10-29) at 9 requests/s each (under the per-IP limit) on the
               credential endpoint; an honest wallet fetches credentials (nonce + signed request)
               from 127.0.0.1 every 0.5 s.

Rows: {"metric", "value", "unit", "target", "better", "anchor", "n"} (the benchmark row format);
`run_all()` runs every scenario against a fresh node and returns them (what the combined benchmark
calls). Targets: the node never exits, honest sign-ins and credential fetches >= 95 % during each
attack, mailbox files on disk within 1.25 x the configured cap (the cap counts message bytes; SQLite
pages and the WAL come on top).
Usage: .venv/bin/python bench/_attack_mailbox_turn.py   (prints a table, writes
bench/results/node_under_attack_mailbox_turn.json). Times depend on the machine's load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aioice.stun
from aioice.turn import create_turn_endpoint
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import connect

from clubchat.client.relay_client import RelayClient, RelayError, new_envelope_id
from clubchat.client.turn_credentials import fetch_turn_credentials
from clubchat.node.localnet import free_port_range, http_status
from clubchat.node.mailbox import MailboxLimits
from clubchat.node.process import NodeProcess
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "node_under_attack_mailbox_turn.json"

MAILBOX_CAP_MB = 32
TURN_PORTS = 41
BIG = "\U0001f600" * 16_000  # 64,000 bytes of UTF-8: a frame just under the relay's 64 KiB limit
MACHINE = f"{platform.machine()}, {os.cpu_count()} cores visible (shared), load {os.getloadavg()[0]:.1f}"
SUCCESS_TARGET = 95.0  # % of honest sign-ins / fetches during an attack

Row = dict[str, Any]


def row(metric: str, value: float, unit: str, target: float | None, better: str, anchor: str, n: int) -> Row:
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


async def with_prober(uri: str, attack: Awaitable[Any]) -> tuple[Any, list[bool]]:
    """Run `attack` while an honest wallet signs in on a fresh connection every 0.25 s."""
    results: list[bool] = []
    done = asyncio.Event()
    honest = wallet(999)

    async def probe() -> None:
        while not done.is_set():
            try:
                c = await RelayClient.connect(uri, honest, timeout=5)
                await c.close()
                results.append(True)
            except (RelayError, OSError, TimeoutError):
                results.append(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.25)

    prober = asyncio.create_task(probe())
    try:
        out = await attack
    finally:
        done.set()
        await prober
    return out, results


async def store_until_refused(
    uri: str, sender: LocalAccount, recipients: Callable[[int], str], body: str, most: int
) -> Counter[str]:
    """Store envelopes until the relay refuses one (or `most`); counts outcomes by status/reason tag.

    Frames are written as a client in another language would: UTF-8 text (the reference client's
    `json.dumps` would escape every emoji into 12 ASCII characters and pass the frame size limit)."""
    out: Counter[str] = Counter()
    async with connect(uri, max_size=2**22, compression=None, open_timeout=10) as ws:
        challenge = m.decode_frame(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(challenge, m.Challenge)
        c = challenge
        text = build_sign_in(sender.address, c.uri, c.chain_id, c.nonce, int(time.time()), 3600).text()
        sig = bytes(sender.sign_message(encode_defunct(text=text)).signature)
        await ws.send(m.encode(m.SignIn(message=text, signature="0x" + sig.hex())))
        assert isinstance(m.decode_frame(await asyncio.wait_for(ws.recv(), 10)), m.SignedIn)
        for i in range(most):
            envelope = {
                "type": "envelope",
                "id": new_envelope_id(),
                "from": sender.address,
                "to": recipients(i),
                "payload": {"type": "text", "body": body},
            }
            await ws.send(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False))
            reply = m.decode_frame(await asyncio.wait_for(ws.recv(), 10))
            if isinstance(reply, m.Sent):
                out[reply.status] += 1
            else:
                assert isinstance(reply, m.Error), reply
                out[f"{reply.code}: {reply.reason.split(':', 1)[0]}"] += 1
                break
    return out


def success_rows(scenario: str, probes: list[bool]) -> list[Row]:
    pct = 100.0 * sum(probes) / len(probes) if probes else 0.0
    return [
        row(
            f"{scenario}: honest sign-in success",
            round(pct, 1),
            "%",
            SUCCESS_TARGET,
            "higher",
            "fresh connection every 0.25 s during the attack",
            len(probes),
        )
    ]


# -- mailbox -------------------------------------------------------------------------------------


async def fairness(node: NodeProcess) -> list[Row]:
    limits = MailboxLimits()
    mallory, alice, carol = wallet(1), wallet(2), wallet(3)
    flood, probes = await with_prober(
        node.uri,
        store_until_refused(node.uri, mallory, lambda _: carol.address, "spam", limits.per_recipient + 1),
    )
    honest = await store_until_refused(node.uri, alice, lambda _: carol.address, "see you at 8", 3)
    return [
        row(
            "fairness: one sender's stored messages for one recipient",
            flood["stored"],
            "messages",
            limits.per_sender_per_recipient,
            "lower",
            f"then refused with {sorted(k for k in flood if k != 'stored')}",
            sum(flood.values()),
        ),
        row(
            "fairness: another sender's messages stored afterwards",
            100.0 * honest["stored"] / 3,
            "%",
            100.0,
            "higher",
            "was 0 % (mailbox-full) before the per-sender quota",
            3,
        ),
        *success_rows("fairness", probes),
    ]


async def poison(node: NodeProcess) -> list[Row]:
    limits = MailboxLimits()
    mallory, dave = wallet(4), wallet(5)
    stored = await store_until_refused(
        node.uri, mallory, lambda _: dave.address, BIG, limits.per_sender_per_recipient + 1
    )

    async def dave_signs_in() -> tuple[int, bool, float]:
        t0 = time.perf_counter()
        c = await RelayClient.connect(node.uri, dave, timeout=10)
        got = 0
        with contextlib.suppress(TimeoutError, RelayError):
            for _ in range(stored["stored"]):
                await c.receive(10)
                got += 1
        seconds = time.perf_counter() - t0
        cut_off = c.closed.is_set()
        await c.close()
        return got, cut_off, seconds

    (got, cut_off, seconds), probes = await with_prober(node.uri, dave_signs_in())
    n = stored["stored"]
    return [
        row(
            "poison: stored large messages received in one sign-in",
            100.0 * got / n,
            "%",
            100.0,
            "higher",
            f"{n} x 64 KB, {seconds:.1f} s; was 62 then 1013 on every sign-in",
            n,
        ),
        row(
            "poison: recipient cut off (1013) during the hand-out",
            int(cut_off),
            "count",
            0,
            "lower",
            "hand-out within a byte budget, the rest as acks come in",
            1,
        ),
        *success_rows("poison", probes),
    ]


def mailbox_disk_bytes(node: NodeProcess) -> int:
    return sum(p.stat().st_size for p in node.data_dir.glob("mailbox.sqlite*") if p.is_file())


async def diskfill(node: NodeProcess) -> list[Row]:
    cap = MAILBOX_CAP_MB * 2**20
    per_wallet = 2 * cap // len(BIG.encode()) // 8 + 1  # together twice the cap

    def recipients(w: int) -> Callable[[int], str]:
        return lambda i: f"0x{w * 10_000 + i + 1:040x}"  # distinct offline recipients

    async def all_wallets() -> list[Counter[str]]:
        return await asyncio.gather(
            *(
                store_until_refused(node.uri, wallet(100 + w), recipients(w), BIG, per_wallet)
                for w in range(8)
            )
        )

    t0 = time.perf_counter()
    outcomes, probes = await with_prober(node.uri, all_wallets())
    seconds = time.perf_counter() - t0
    total: Counter[str] = sum(outcomes, Counter())
    disk = mailbox_disk_bytes(node)
    return [
        row(
            "diskfill: mailbox files on disk / configured cap",
            round(disk / cap, 3),
            "x",
            1.25,
            "lower",
            f"{disk / 2**20:.1f} MiB on disk, cap {MAILBOX_CAP_MB} MiB of messages (+ SQLite pages, WAL)",
            total["stored"],
        ),
        row(
            "diskfill: large messages stored before the cap refused",
            total["stored"],
            "messages",
            None,
            "lower",
            f"{seconds:.1f} s, refusals {sorted(k for k in total if k != 'stored')}",
            sum(total.values()),
        ),
        *success_rows("diskfill", probes),
    ]


# -- TURN and its credential endpoint ------------------------------------------------------------


async def allocate(port: int, creds: m.TurnCredentials) -> Any:
    transport, _ = await asyncio.wait_for(
        create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), creds.username, creds.password, 600
        ),
        10,
    )
    return transport


async def turn_exhaust(node: NodeProcess, turn_port: int) -> list[Row]:
    attacker = await RelayClient.connect(node.uri, wallet(6))
    creds = await attacker.turn_credentials()
    held: list[Any] = []
    refusal = ""
    old = aioice.stun.RETRY_RTO
    aioice.stun.RETRY_RTO = 0.05
    try:
        for _ in range(TURN_PORTS):
            try:
                held.append(await allocate(turn_port, creds))
            except (aioice.stun.TransactionError, TimeoutError, ConnectionError) as exc:
                refusal = str(exc)
                break
        honest_c = await RelayClient.connect(node.uri, wallet(7))
        honest_ok = 0
        try:
            held.append(await allocate(turn_port, await honest_c.turn_credentials()))
            honest_ok = 1
        except (aioice.stun.TransactionError, TimeoutError, ConnectionError) as exc:
            refusal += f"; honest: {exc}"
        await honest_c.close()
    finally:
        aioice.stun.RETRY_RTO = old
        for t in held:
            t.close()
        await attacker.close()
    n_attacker = len(held) - honest_ok
    return [
        row(
            "turn: allocations one credential holds",
            n_attacker,
            "allocations",
            4,
            "lower",
            f"{TURN_PORTS} relay ports; was all {TURN_PORTS} before the user quota; refusal: {refusal[:60]}",
            n_attacker + 1,
        ),
        row(
            "turn: honest allocation while the attacker holds its quota",
            100.0 * honest_ok,
            "%",
            100.0,
            "higher",
            "was 508 Cannot create socket",
            1,
        ),
    ]


async def credential_flood(node: NodeProcess, seconds: float = 8.0) -> list[Row]:
    port = int(node.uri.rsplit(":", 1)[1])
    endpoint = "http" + node.uri.removeprefix("ws") + "/turn-credentials"
    codes: Counter[str] = Counter()
    pending: set[asyncio.Task[None]] = set()
    done = asyncio.Event()

    async def one(ip: str) -> None:
        try:
            codes[str(await http_status(ip, port, "/turn-credentials/nonce"))] += 1
        except (OSError, TimeoutError, ValueError, IndexError) as exc:
            codes[type(exc).__name__] += 1

    async def flood(ip: str) -> None:
        while not done.is_set():
            task = asyncio.create_task(one(ip))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(1 / 9)

    async def honest() -> list[bool]:
        out = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                await fetch_turn_credentials(endpoint, wallet(8), timeout=5)
                out.append(True)
            except (RelayError, TimeoutError):
                out.append(False)
            await asyncio.sleep(0.5)
        done.set()
        return out

    floods = [asyncio.create_task(flood(f"127.0.0.{10 + i}")) for i in range(20)]
    fetched, probes = await with_prober(node.uri, honest())
    await asyncio.gather(*floods)
    await asyncio.gather(*pending)
    return [
        row(
            "credflood: honest credential fetches that succeeded",
            round(100.0 * sum(fetched) / len(fetched), 1),
            "%",
            SUCCESS_TARGET,
            "higher",
            "20 IPs x 9 req/s beside it; was 8 of 17 with one shared bucket",
            len(fetched),
        ),
        row(
            "credflood: attacker requests refused (429)",
            codes["429"],
            "requests",
            None,
            "higher",
            f"answers {dict(codes)}",
            sum(codes.values()),
        ),
        *success_rows("credflood", probes),
    ]


# -- run -----------------------------------------------------------------------------------------


def node_rows(node: NodeProcess, rss_peak_mb: float) -> list[Row]:
    alive = node.proc.poll() is None
    return [
        row(
            "node still running after every attack",
            int(alive),
            "bool",
            1,
            "higher",
            f"exit code {node.proc.returncode}",
            1,
        ),
        row(
            "node peak RSS during the attacks",
            round(rss_peak_mb, 1),
            "MiB",
            None,
            "lower",
            f"VmHWM of the node process (coturn apart); {MACHINE}",
            1,
        ),
    ]


def peak_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def scenarios(node: NodeProcess, turn_port: int) -> list[Row]:
    rows: list[Row] = []
    for name, job in [
        ("fairness", lambda: fairness(node)),
        ("poison", lambda: poison(node)),
        ("diskfill", lambda: diskfill(node)),
        ("turn", lambda: turn_exhaust(node, turn_port)),
        ("credflood", lambda: credential_flood(node)),
    ]:
        t0 = time.perf_counter()
        rows += await job()
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def run_all() -> list[Row]:
    """Every scenario against one fresh node; returns the rows."""
    turn_port = free_port_range(TURN_PORTS + 1)
    with tempfile.TemporaryDirectory(prefix="clubchat-attack-") as tmp:
        node = NodeProcess(
            Path(tmp) / "node",
            "--kinds", "relay,turn,notify",
            "--turn-port", str(turn_port),
            "--turn-min-port", str(turn_port + 1),
            "--turn-max-port", str(turn_port + TURN_PORTS),
            "--mailbox-max-mb", str(MAILBOX_CAP_MB),
            "--mailbox-min-free-mb", "1",
        )  # fmt: skip
        try:
            rows = asyncio.run(scenarios(node, turn_port))
            rows += node_rows(node, peak_rss_mb(node.proc.pid))
        finally:
            node.stop()
    return rows


def table(rows: list[Row]) -> Table:
    t = Table(title="Node under attack: mailbox, TURN, credential endpoint")
    for col in ("metric", "value", "unit", "target", "n", "anchor"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(
            r["metric"],
            str(r["value"]),
            r["unit"],
            "" if r["target"] is None else str(r["target"]),
            str(r["n"]),
            str(r["anchor"]),
        )
    return t


def main() -> None:
    rows = run_all()
    Console(width=160).print(table(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
