"""Notification delivery rate of one NOTIFY node to 1,000 online users, beside plain relay forwarding.

Run: `.venv/bin/python bench/bench_ads_delivery.py [--users 1000] [--campaigns 5]`. Prints a table
and writes bench/results/ads_delivery.json and .md. Not a test: nothing here asserts a rate.

One process, one event loop: a RelayServer (loopback exempt from the per-IP limits, the per-address
frame rate raised so one sender is not throttled) with a NotifyService whose chain view the
benchmark fills by hand (no chain: what is measured is the node, not an RPC). `--users` clients sign
in over real WebSockets (EIP-4361) and opt in (their signed `AdPreference` is stored before the
clock starts). Then, in the same run and over the same connections:
- NOTIFY: `--campaigns` untargeted campaigns appear one after the other; each is recorded for every
  user in one SQLite transaction (synchronous=FULL) and pushed as a `notification` frame; the clock
  runs from the campaign's appearance until every client has read its frame;
- forwarding (the baseline): one signed-in sender sends one `text` envelope to each user; the clock
  runs from the first send until every client has read its envelope.
Both rates are frames read by the clients per second. The clients read frames in the same process,
so both rates include the clients' own reading (identically). The receipts the users would answer
with are measured separately (each is a durable SQLite write: synchronous=FULL, one fsync each).
Then the repeat: campaign 1 has a per-user cap of 2 and the node's spacing is 1 ms, so the next
delivery pass after the receipts sends every user its second notification of campaign 1 (one
SQLite transaction raising every user's count, then the frames); the clock runs from that pass
until every client has read it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import write_report
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect

from clubchat.ads.preferences import AdPreference, sign_preference
from clubchat.ads.receipts import Receipt, sign_receipt
from clubchat.chain.eip712 import Domain
from clubchat.node.notify import NotifyConfig, NotifyService
from clubchat.node.notify_chain import AdMarketView, CampaignInfo
from clubchat.node.notify_store import NotifyStore
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in

DOMAIN = Domain("AdMarket", "1", 31337, "0x" + "42" * 20)
NODE = "0x" + "0d" * 20
TEXT = "Club Chat Pro: group calls without limits"


class HandView(AdMarketView):
    """The chain view without a chain: the benchmark adds the campaigns."""

    def sync_once(self) -> int:
        return 0


class Counter:
    """A signed-in client that counts the frames of each type it reads."""

    def __init__(self, ws: ClientConnection, address: str) -> None:
        self.ws, self.address = ws, address
        self.seen: dict[str, int] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            kind = json.loads(raw)["type"]
            self.seen[kind] = self.seen.get(kind, 0) + 1


async def sign_in(uri: str, account: Any) -> Counter:
    ws = await connect(uri, compression=None, max_size=2**20)
    challenge = m.decode_frame(await ws.recv())
    assert isinstance(challenge, m.Challenge)
    msg = build_sign_in(
        account.address, challenge.uri, challenge.chain_id, challenge.nonce, int(time.time()), 3_600
    )
    sig = account.sign_message(encode_defunct(text=msg.text())).signature
    await ws.send(m.encode(m.SignIn(message=msg.text(), signature="0x" + bytes(sig).hex())))
    assert isinstance(m.decode_frame(await ws.recv()), m.SignedIn)
    return Counter(ws, account.address)


async def until(clients: list[Counter], kind: str, count: int, timeout: float = 300.0) -> None:
    async with asyncio.timeout(timeout):
        while any(c.seen.get(kind, 0) < count for c in clients):
            await asyncio.sleep(0.002)


def campaign(cid: int) -> CampaignInfo:
    now = int(time.time())
    info = CampaignInfo(
        campaign=cid, advertiser=NODE, price=10**15, per_user_cap=1, start=now - 1, end=now + 3_600,
        creative_hash=keccak(TEXT.encode()), creative_uri="data:," + TEXT, targets=(), min_tier=0,
        min_stake=0,
    )  # fmt: skip
    info.per_user_cap = 2 if cid == 1 else 1  # campaign 1 is sent again after its receipt
    info.text = TEXT
    return info


async def run(users: int, campaigns: int, tmp: Path) -> dict[str, float]:
    config = RelayConfig(
        per_ip_exempt=("127.0.0.0/8",), rate_per_second=1e6, rate_burst=1e6, max_connections=users + 64,
        max_sessions_per_address=2,
    )  # fmt: skip
    server = RelayServer(config)
    await server.start()
    view = HandView(None, None, None, 0)
    config = NotifyConfig(node=NODE, poll=3_600.0, repeat_every=0.001)
    service = NotifyService(config, NotifyStore(tmp, DOMAIN), view, DOMAIN)
    await service.start(server)
    accounts = [Account.from_key(keccak(text=f"clubchat-bench-ads-delivery:{i}")) for i in range(users)]
    try:
        clients = [await sign_in(server.uri, a) for a in accounts]
        for a in accounts:  # opted in before the clock starts
            pref = AdPreference(a.address, True, 1)
            sig = sign_preference(bytes(a.key), DOMAIN, pref)
            await service.store.run(service.store.set_preference, a.address, True, 1, sig)
            service._opted_in.add(a.address.lower())
        out: dict[str, float] = {}
        started = time.perf_counter()
        for cid in range(1, campaigns + 1):  # bound: --campaigns
            view.campaigns[cid] = campaign(cid)
            await service.deliver_live()
            await until(clients, "notification", cid)
        out["notify_s"] = time.perf_counter() - started
        out["notify_rate"] = users * campaigns / out["notify_s"]

        sender = await sign_in(
            server.uri, Account.from_key(keccak(text="clubchat-bench-ads-delivery:sender"))
        )
        started = time.perf_counter()
        for i, a in enumerate(accounts):
            env = m.Envelope(id=f"b{i}", sender=sender.address, to=a.address, payload=m.Text(body=TEXT))
            await sender.ws.send(m.encode(env))
        await until(clients, "envelope", 1)
        out["forward_s"] = time.perf_counter() - started
        out["forward_rate"] = users / out["forward_s"]

        # Receipts: every user answers campaign 1 (each stored durably before `receipted`).
        frames = []
        for a, c in zip(accounts, clients, strict=True):
            r = Receipt(1, a.address, NODE, 1)
            sig = sign_receipt(bytes(a.key), DOMAIN, r).packed()
            frames.append(
                (c, m.encode(m.AdReceipt(campaign=1, node=NODE, count=1, signature="0x" + sig.hex())))
            )
        started = time.perf_counter()
        for c, text in frames:
            await c.ws.send(text)
        await until(clients, "receipted", 1)
        out["receipt_s"] = time.perf_counter() - started
        out["receipt_rate"] = users / out["receipt_s"]

        # The repeat: every user receipted campaign 1, whose cap is 2: the next pass sends it again.
        await asyncio.sleep(0.01)  # past the 1 ms spacing
        started = time.perf_counter()
        await service.deliver_live()
        await until(clients, "notification", campaigns + 1)
        out["repeat_s"] = time.perf_counter() - started
        out["repeat_rate"] = users / out["repeat_s"]
        for c in (*clients, sender):
            await c.ws.close()
        return out
    finally:
        await service.stop()
        await server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000)
    ap.add_argument("--campaigns", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(run(args.users, args.campaigns, Path(tmp)))
    n = args.users
    rows = [
        (
            "notifications delivered per second, NOTIFY node",
            r["notify_rate"],
            "1/s",
            "higher",
            n * args.campaigns,
        ),
        ("envelopes forwarded per second, same relay (baseline)", r["forward_rate"], "1/s", "higher", n),
        ("delivery rate / forwarding rate", r["notify_rate"] / r["forward_rate"], "ratio", "higher", 1),
        ("receipts stored per second (durable, one fsync each)", r["receipt_rate"], "1/s", "higher", n),
        ("repeated notifications per second (count 2 after a receipt)", r["repeat_rate"], "1/s", "higher", n),
    ]
    report_rows = [
        {"metric": k, "value": round(v, 3), "unit": u, "target": None, "better": b, "anchor": None, "n": cnt}
        for k, v, u, b, cnt in rows
    ]
    table = Table(
        title=f"NOTIFY delivery to {n:,} online users ({args.campaigns} campaigns)", title_justify="left"
    )
    for col in ("metric", "value", "unit", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    md = [
        "# NOTIFY delivery rate",
        "",
        "Generated by `bench/bench_ads_delivery.py`; see its docstring for the method.",
        "",
        "| metric | value | unit | n |",
        "|---|---:|---|---:|",
    ]
    for k, v, u, _, cnt in rows:
        table.add_row(k, f"{v:,.2f}", u, f"{cnt:,}")
        md.append(f"| {k} | {v:,.2f} | {u} | {cnt:,} |")
    Console().print(table)
    md += [
        "",
        "## Reading the figures",
        "",
        "- A delivery pass records a campaign for all users in one SQLite transaction (one fsync), then",
        "  queues one frame per connection; forwarding validates and queues each envelope as it arrives.",
        "- Receipts are slower by design: each is stored durably (synchronous=FULL) before the node",
        "  answers `receipted`, so a receipt survives a kill -9 of the node.",
        "- Times are wall-clock on a machine shared with other jobs (2 cores for several engineers):",
        "  the ratio, measured in the same run over the same connections, is the figure to compare.",
        "",
        "## Environment",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- python {sys.version.split()[0]} on {platform.platform()}",
        f"- users {n:,}, campaigns {args.campaigns}",
        "",
    ]
    write_report("ads_delivery", report_rows, "\n".join(md))


if __name__ == "__main__":
    main()
