"""The node-registry chapter of `club demo`: operators of each kind register and stake, then discovery.

On the local anvil the operators and their node keys are fresh addresses that anvil impersonates, and
their CLUB comes from the treasury (the Timelock) by impersonation too; on a real network that transfer
would be a governance proposal and the operators would sign with their own keys.
"""

from __future__ import annotations

from collections import Counter

from eth_utils import keccak, to_checksum_address
from rich.table import Table

from clubchat.demo.context import DemoContext
from clubchat.params import WAD
from clubchat.registry import KIND_NAMES, NOTIFY, RELAY, TURN, NodeRegistryClient, Registration, kind_names
from clubchat.registry.words import node_record

# (label, kinds, self-stake in per-kind minimums, commission bps)
OPERATORS = (
    ("relay-a", RELAY, 1, 500),
    ("relay-b", RELAY, 3, 800),
    ("relay-turn-c", RELAY | TURN, 2, 1000),
    ("turn-d", TURN, 4, 300),
    ("notify-e", NOTIFY, 1, 500),
    ("notify-f", NOTIFY, 2, 700),
)
DRAWS = 300


def _address(label: str) -> str:
    return to_checksum_address(keccak(text=f"clubchat-demo-{label}")[12:])


def _impersonate(ctx: DemoContext, address: str) -> None:
    ctx.w3.provider.make_request("anvil_impersonateAccount", [address])  # type: ignore[arg-type]
    ctx.w3.provider.make_request("anvil_setBalance", [address, hex(10**20)])  # type: ignore[arg-type]


def chapter_nodes(ctx: DemoContext) -> None:
    """Register and stake two nodes of each kind, beat, and show `sample()` results."""
    registry, token = ctx.contract("NodeRegistry"), ctx.contract("ClubToken")
    treasury = ctx.manifest.address("Timelock")
    _impersonate(ctx, treasury)
    minimum = int(registry.functions.min_self_stake_per_kind().call())
    table = Table(
        title="Node registry: operators", title_style="bold", header_style="bold cyan", title_justify="left"
    )
    for col in ("operator", "kinds", "self-stake", "commission", "relay / turn / notify endpoint"):
        table.add_column(col)
    stakes: dict[str, int] = {}
    labels: dict[str, str] = {}
    for label, kinds, mult, bps in OPERATORS:
        op, key = _address(label), _address(label + "-key")
        if node_record(registry, op).kinds != 0:
            continue  # a re-run on the same chain
        amount = mult * minimum * bin(kinds).count("1")
        for who in (op, key):
            _impersonate(ctx, who)
        ctx.transact(token.functions.transfer(op, amount), treasury)
        uris = {
            RELAY: f"wss://{label}.relay.example",
            TURN: f"turns:{label}.turn.example:5349",
            NOTIFY: f"https://{label}.notify.example",
        }
        cred = f"https://{label}.turn.example/credentials" if kinds & TURN else ""
        reg = Registration(kinds, {k: uris[k] for k in uris if kinds & k}, key, cred, "local", "", bps)
        endpoints = reg.ordered_endpoints()
        NodeRegistryClient(ctx.w3, ctx.manifest, ctx.sender(op)).register(reg, amount, ctx.sender(key))
        NodeRegistryClient(ctx.w3, ctx.manifest, ctx.sender(key)).heartbeat()
        stakes[op], labels[op] = amount, label
        names = ",".join(kind_names(kinds))
        table.add_row(label, names, f"{amount / WAD:,.0f} CLUB", f"{bps / 100:.1f} %", " ".join(endpoints))
    ctx.console.print(table)

    result = Table(
        title="Discovery: sample(kind, seed, k=3) as one eth_call",
        title_style="bold",
        header_style="bold cyan",
        title_justify="left",
    )
    result.add_column("kind")
    result.add_column("seed")
    result.add_column("nodes (in draw order)")
    report: dict[str, object] = {"operators": {labels.get(o, o): s for o, s in stakes.items()}, "samples": {}}
    for name, kind in KIND_NAMES.items():
        for seed_text in ("alice", "bob"):
            seed = keccak(text=seed_text)
            got = [str(a) for a in registry.functions.sample(kind, seed, 3).call()]
            result.add_row(name, f"keccak({seed_text!r})", ", ".join(labels.get(a, a) for a in got))
            report["samples"][f"{name}/{seed_text}"] = [labels.get(a, a) for a in got]  # type: ignore[index]
    ctx.console.print(result)

    counts = Counter(
        str(registry.functions.sample(RELAY, keccak(i.to_bytes(32, "big")), 1).call()[0])
        for i in range(DRAWS)
    )
    freq = Table(
        title=f"RELAY first picks over {DRAWS} seeds vs stake share",
        title_style="bold",
        header_style="bold cyan",
        title_justify="left",
    )
    for col in ("node", "stake share", "picked"):
        freq.add_column(col, justify="right" if col != "node" else "left")
    relay_ops = [o for o in stakes if node_record(registry, o).kinds & RELAY]
    relay_total = sum(node_record(registry, o).weight for o in relay_ops) or 1
    for o in relay_ops:
        share = node_record(registry, o).weight / relay_total
        freq.add_row(labels[o], f"{share:.1%}", f"{counts.get(o, 0) / DRAWS:.1%}")
    ctx.console.print(freq)
    ctx.report["nodes"] = report
