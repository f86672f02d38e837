"""`club demo` (`make demo`): deploy the protocol to a local anvil and show what it does.

The demo starts anvil on 127.0.0.1:8545 unless one already runs there (and stops
it at the end if it started it), runs the real `ape run deploy`, then reads
everything back with web3.py through the deployment manifest and walks through
a list of chapters. Each chapter is a function of `DemoContext` that prints rich
tables and records what it showed in `ctx.report` (written to demo-report.json).

Adding a chapter is one line: append the function to `CHAPTERS`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from clubchat.chain import ManifestError, connect, load_manifest
from clubchat.chain.anvil import Anvil, AnvilError, is_listening
from clubchat.chain.manifest import DEPLOYMENTS_DIR, Manifest
from clubchat.chain.rpc import ChainConnectionError
from clubchat.client.demo_chapter import chapter_calls
from clubchat.deploy.run import ApeDeployError, run_ape_deploy
from clubchat.governance.demo_chapter import chapter_governance
from clubchat.nodes.demo import chapter_nodes
from clubchat.params import REPO_ROOT, WAD

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEFAULT_REPORT = REPO_ROOT / "demo-report.json"
# anvil's unlocked test accounts: 0 deploys, 1..3 receive the vesting allocations
# (scripts/deploy.py), the last one plays the keeper that triggers emission epochs.
KEEPER_INDEX = 9


@dataclass
class DemoContext:
    """What every chapter gets: the chain, the deployment, named accounts, output and report."""

    w3: Web3
    manifest: Manifest
    accounts: dict[str, str]
    console: Console
    report: dict[str, Any] = field(default_factory=dict)
    epochs: int = 3

    def contract(self, name: str) -> Contract:
        return self.manifest.contract(self.w3, name)

    def transact(self, fn: Any, sender: str) -> TxReceipt:
        """Send a contract function call from an unlocked anvil account and wait for its receipt."""
        tx_hash = fn.transact({"from": Web3.to_checksum_address(sender)})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        if receipt["status"] != 1:
            raise click.ClickException(f"transaction {tx_hash.hex()} reverted")
        return receipt

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel_to(self, timestamp: int) -> None:
        """Mine the next block at `timestamp` (anvil only); later blocks follow from there."""
        if timestamp > self.now():
            self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def label(self, address: str) -> str:
        """A readable name for an address of the deployment, else the short address."""
        address = Web3.to_checksum_address(address)
        for name, record in self.manifest.contracts.items():
            if record.address == address:
                return name
        for name, escrow in self.manifest.escrows.items():
            if escrow == address:
                return f"{name} escrow"
        for name, account in self.accounts.items():
            if Web3.to_checksum_address(account) == address:
                return name
        return f"{address[:6]}…{address[-4:]}"


Chapter = Callable[[DemoContext], None]


# -- formatting ---------------------------------------------------------------------------


def club(wei: int, decimals: int = 2) -> str:
    """`1234.5 CLUB` from wei, with thousands separators (rounded down for display)."""
    whole, frac = divmod(int(wei), WAD)
    text = f"{whole:,}"
    if decimals:
        text += "." + f"{frac:018d}"[:decimals]
    return text


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "-"


def date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


def days(seconds: int) -> str:
    return f"{seconds / 86_400:,.0f} d"


def _table(title: str, *columns: str, right: tuple[int, ...] = ()) -> Table:
    table = Table(title=title, title_style="bold", header_style="bold cyan", title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if index in right else "left")
    return table


# -- chapters -----------------------------------------------------------------------------


def chapter_deployment(ctx: DemoContext) -> None:
    """Deployment: every contract of the manifest with its deployment block."""
    table = _table("Deployment (deployments/local.json)", "contract", "address", "block", right=(2,))
    for name, record in sorted(ctx.manifest.contracts.items(), key=lambda item: item[1].block):
        table.add_row(name, record.address, str(record.block))
    ctx.console.print(table)
    ctx.report["deployment"] = {
        "chain_id": ctx.manifest.chain_id,
        "block": ctx.manifest.block,
        "contracts": {name: r.address for name, r in ctx.manifest.contracts.items()},
        "treasury": ctx.manifest.treasury,
    }


@dataclass(frozen=True)
class AllocationRow:
    allocation: str
    holder: str
    amount_wei: int


def chapter_allocations(ctx: DemoContext) -> None:
    """Genesis allocations: what was minted at deployment, from the parameters it used."""
    token = ctx.contract("ClubToken")
    emission = ctx.contract("Emission")
    cap = int(token.functions.cap().call())
    genesis = ctx.manifest.parameters["genesis"]
    treasury_wei = (int(genesis["treasury"]) + int(genesis["liquidity"])) * WAD
    rows = [AllocationRow("treasury + liquidity", ctx.manifest.treasury, treasury_wei)]
    for alloc in genesis["vesting"]:
        holder = ctx.manifest.escrows.get(alloc["name"], "")
        rows.append(AllocationRow(f"{alloc['name']} (vesting)", holder, int(alloc["amount"]) * WAD))
    reserve = int(emission.functions.reserve().call())
    rows.append(AllocationRow("emission reserve (unminted)", str(emission.address), reserve))

    table = _table("Genesis allocations", "allocation", "held by", "CLUB", "% of cap", right=(2, 3))
    for row in rows:
        holder = ctx.label(row.holder) if row.holder else "-"
        table.add_row(row.allocation, holder, club(row.amount_wei, 0), percent(row.amount_wei, cap))
    total = sum(r.amount_wei for r in rows)
    table.add_section()
    table.add_row("total", "", club(total, 0), percent(total, cap), style="bold")
    ctx.console.print(table)
    ctx.report["allocations"] = [asdict(r) for r in rows]


@dataclass(frozen=True)
class EpochRow:
    """One `Emission.advance()` call as the demo saw it (amounts in wei)."""

    first_epoch: int
    epochs: int
    settled_at: int
    minted_wei: int
    tip_wei: int
    keeper_received_wei: int
    per_receiver_wei: list[int]
    remaining_wei: int
    gas: int


def _advance_once(
    ctx: DemoContext, emission: Contract, token: Contract, keeper: str, receivers: list[str]
) -> EpochRow:
    before = int(token.functions.balanceOf(keeper).call())
    receipt = ctx.transact(emission.functions.advance(), keeper)
    emitted = emission.events.Emitted().process_receipt(receipt, errors=DISCARD)
    if not emitted:
        raise click.ClickException("Emission.advance() settled no epoch although one was due")
    ev = emitted[0]["args"]
    # Distributed events come in receiver order (zero shares skipped), so they are matched
    # by position: two shares held by one address (e.g. the treasury) stay apart.
    events = [
        (str(d["args"]["receiver"]), int(d["args"]["amount"]))
        for d in emission.events.Distributed().process_receipt(receipt, errors=DISCARD)
    ]
    paid = [0] * len(receivers)
    for i, receiver in enumerate(receivers):
        if events and events[0][0] == receiver:
            paid[i] = events.pop(0)[1]
    return EpochRow(
        first_epoch=int(ev["first_epoch"]),
        epochs=int(ev["epochs"]),
        settled_at=ctx.now(),
        minted_wei=int(ev["amount"]),
        tip_wei=int(ev["tip"]),
        keeper_received_wei=int(token.functions.balanceOf(keeper).call()) - before,
        per_receiver_wei=paid,
        remaining_wei=int(emission.functions.remaining().call()),
        gas=int(receipt["gasUsed"]),
    )


def chapter_emission(ctx: DemoContext) -> None:
    """Emission: epochs triggered by a keeper (the last step lets two fall due to show the catch-up)."""
    emission = ctx.contract("Emission")
    token = ctx.contract("ClubToken")
    keeper = ctx.accounts["keeper"]
    receivers = [str(a) for a in emission.functions.receivers().call()]
    weights = [int(w) for w in emission.functions.weights().call()]
    # Parameter names in order; governance may since have replaced the receivers.
    names = [r["name"] for r in ctx.manifest.parameters["emission"]["receivers"]]
    labels = [names[i] if i < len(names) else f"receiver {i}" for i in range(len(receivers))]
    epoch_seconds = int(emission.functions.epoch_seconds().call())
    shares = ", ".join(
        f"{label} {w / 100:g} % (held by {ctx.label(a)})"
        for label, a, w in zip(labels, receivers, weights, strict=True)
    )
    ctx.console.print(
        f"Each {days(epoch_seconds)} epoch mints "
        f"{int(emission.functions.rate_per_epoch().call()) / WAD:.2%} of what is left of the reserve; "
        f"the keeper who triggers it earns {club(emission.functions.tip().call(), 0)} CLUB per epoch; "
        f"the rest goes to {shares}."
    )

    rows: list[EpochRow] = []
    for step in range(ctx.epochs):
        # Every step waits for the next epoch; the last waits one more so two are settled at once.
        extra = epoch_seconds if step == ctx.epochs - 1 and ctx.epochs > 1 else 0
        ctx.travel_to(int(emission.functions.next_epoch_time().call()) + extra)
        rows.append(_advance_once(ctx, emission, token, keeper, receivers))

    table = _table(
        "Emission epochs",
        "epoch",
        "settled at",
        "minted",
        *labels,
        "tip → keeper",
        "reserve left",
        "gas",
        right=tuple(range(2, 6 + len(labels))),
    )
    for row in rows:
        last = row.first_epoch + row.epochs - 1
        epoch_label = str(row.first_epoch) if row.epochs == 1 else f"{row.first_epoch}-{last} (catch-up)"
        paid = [club(wei) for wei in row.per_receiver_wei]
        table.add_row(
            epoch_label,
            date(row.settled_at),
            club(row.minted_wei),
            *paid,
            club(row.keeper_received_wei),
            club(row.remaining_wei, 0),
            f"{row.gas:,}",
        )
    ctx.console.print(table)
    ctx.report["emission"] = {
        "receivers": [
            {"name": label, "address": a, "weight_bps": w}
            for label, a, w in zip(labels, receivers, weights, strict=True)
        ],
        "steps": [asdict(r) for r in rows],
        "emitted_wei": int(emission.functions.emitted().call()),
        "epochs_minted": int(emission.functions.epochs_minted().call()),
    }


@dataclass(frozen=True)
class EscrowRow:
    """One vesting escrow now (amounts in wei, times as timestamps)."""

    allocation: str
    escrow: str
    beneficiary: str
    total_wei: int
    vested_wei: int
    claimable_wei: int
    locked_wei: int
    cliff_end: int
    end: int
    revocable: bool
    votes_delegated_to: str


def _escrow_row(ctx: DemoContext, allocation: str, address: str) -> EscrowRow:
    escrow = ctx.w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=ctx.manifest.contracts["VestingEscrow"].abi
    )
    f = escrow.functions
    start = int(f.start().call())
    return EscrowRow(
        allocation=allocation,
        escrow=address,
        beneficiary=str(f.beneficiary().call()),
        total_wei=int(f.total().call()),
        vested_wei=int(f.vested().call()),
        claimable_wei=int(f.claimable().call()),
        locked_wei=int(f.locked().call()),
        cliff_end=start + int(f.cliff().call()),
        end=start + int(f.duration().call()),
        revocable=bool(f.revocable().call()),
        votes_delegated_to=str(ctx.contract("ClubToken").functions.delegates(address).call()),
    )


def chapter_vesting(ctx: DemoContext) -> None:
    """Vesting: who gets what, how much has vested and can be claimed now."""
    rows = [_escrow_row(ctx, name, address) for name, address in ctx.manifest.escrows.items()]
    table = _table(
        f"Vesting escrows (chain time {date(ctx.now())})",
        "allocation",
        "beneficiary",
        "total",
        "vested",
        "claimable",
        "locked",
        "cliff ends",
        "fully vested",
        "revocable",
        "votes go to",
        right=(2, 3, 4, 5),
    )
    for row in rows:
        table.add_row(
            row.allocation,
            ctx.label(row.beneficiary),
            club(row.total_wei, 0),
            club(row.vested_wei),
            club(row.claimable_wei),
            club(row.locked_wei, 0),
            date(row.cliff_end),
            date(row.end),
            "yes" if row.revocable else "no",
            ctx.label(row.votes_delegated_to),
        )
    ctx.console.print(table)
    ctx.report["vesting"] = [asdict(r) for r in rows]


def chapter_supply(ctx: DemoContext) -> None:
    """Supply: cap, minted, what circulates, what emission still holds back."""
    token = ctx.contract("ClubToken")
    emission = ctx.contract("Emission")
    cap = int(token.functions.cap().call())
    total = int(token.functions.totalSupply().call())
    locked = sum(_escrow_row(ctx, n, a).locked_wei for n, a in ctx.manifest.escrows.items())
    treasury = int(token.functions.balanceOf(ctx.manifest.treasury).call())
    circulating = total - locked - treasury
    remaining = int(emission.functions.remaining().call())
    rows = [
        ("cap", cap),
        ("total supply (minted)", total),
        ("  locked in vesting escrows (not vested yet)", locked),
        (f"  held by the treasury ({ctx.label(ctx.manifest.treasury)})", treasury),
        ("  circulating (total - locked - treasury)", circulating),
        ("emission reserve remaining (unminted)", remaining),
        ("headroom under the cap (cap - total - reserve)", cap - total - remaining),
    ]
    table = _table("Supply", "", "CLUB", "% of cap", right=(1, 2))
    for label, value in rows:
        table.add_row(label, club(value), percent(value, cap))
    ctx.console.print(table)
    ctx.report["supply"] = {
        "cap_wei": cap,
        "total_wei": total,
        "locked_wei": locked,
        "treasury_wei": treasury,
        "circulating_wei": circulating,
        "emission_remaining_wei": remaining,
    }


# The demo, in order. Later parts of the protocol append their chapter here.
CHAPTERS: list[Chapter] = [
    chapter_deployment,
    chapter_allocations,
    chapter_emission,
    chapter_vesting,
    chapter_supply,
    chapter_governance,
    chapter_nodes,
    chapter_calls,
]


# -- the command --------------------------------------------------------------------------


def _ensure_anvil(rpc_url: str, console: Console) -> Anvil | None:
    """Start anvil at `rpc_url` unless something already listens there; return it if started."""
    parsed = urlparse(rpc_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 8545
    if is_listening(host, port):
        console.print(f"[dim]Using the chain already running at {rpc_url}.[/dim]")
        return None
    if host not in ("127.0.0.1", "localhost"):
        raise click.ClickException(f"nothing answers at {rpc_url}; start that node or omit --rpc-url")
    anvil = Anvil(port, host)
    anvil.start()
    console.print(f"[dim]Started anvil at {rpc_url} (stopped again when the demo ends).[/dim]")
    return anvil


def _deploy(rpc_url: str, console: Console, deployments_dir: Path) -> None:
    console.rule("ape run deploy --network ethereum:local:foundry")
    started = time.monotonic()

    def show(line: str) -> None:
        # The deploy script's own lines; ape's INFO chatter stays out of the demo.
        if line.split(" ", 1)[0] in ("found", "stale", "deploy", "reuse", "wrote"):
            console.print(f"  {line}", highlight=False)

    run_ape_deploy(rpc_url, on_line=show, extra_args=["--out-dir", str(deployments_dir)])
    console.print(f"[dim]  deploy finished in {time.monotonic() - started:.0f} s[/dim]")


def run_demo(
    rpc_url: str,
    epochs: int,
    report_path: Path,
    console: Console,
    deployments_dir: Path = DEPLOYMENTS_DIR,
) -> dict[str, Any]:
    """Everything `club demo` does; returns the report it wrote.

    `deployments_dir` is where `ape run deploy` writes the manifest the demo reads
    (the tests use a temporary one).
    """
    anvil = _ensure_anvil(rpc_url, console)
    try:
        _deploy(rpc_url, console, deployments_dir)
        w3 = connect(rpc_url)
        if "anvil" not in w3.client_version.lower():
            raise click.ClickException(
                f"the node at {rpc_url} is not anvil; the demo needs anvil's time travel"
            )
        manifest = load_manifest("local", directory=deployments_dir)
        manifest.check_chain(w3)
        names = list(manifest.beneficiaries)
        node_accounts = [str(a) for a in w3.eth.accounts]
        accounts = {"deployer": manifest.deployer, **manifest.beneficiaries}
        if len(node_accounts) > KEEPER_INDEX:
            accounts["keeper"] = node_accounts[KEEPER_INDEX]
        else:
            raise click.ClickException(f"anvil at {rpc_url} unlocks fewer than {KEEPER_INDEX + 1} accounts")
        ctx = DemoContext(w3=w3, manifest=manifest, accounts=accounts, console=console, epochs=epochs)
        ctx.report["beneficiaries"] = {n: manifest.beneficiaries[n] for n in names}
        for chapter in CHAPTERS:
            console.rule((chapter.__doc__ or chapter.__name__).splitlines()[0].split(":")[0])
            chapter(ctx)
        report_path.write_text(json.dumps(ctx.report, indent=2, default=str) + "\n")
        console.print(Panel.fit(f"Report written to {report_path}", style="green"))
        return ctx.report
    finally:
        if anvil is not None:
            anvil.stop()
            console.print("[dim]Stopped the anvil the demo started.[/dim]")


@click.command()
@click.option("--rpc-url", default=DEFAULT_RPC_URL, show_default=True, help="Local chain (anvil).")
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1, 52), help="Emission steps.")
@click.option(
    "--report",
    "report_path",
    default=DEFAULT_REPORT,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the JSON report goes.",
)
def demo(rpc_url: str, epochs: int, report_path: Path) -> None:
    """Deploy the protocol to a local anvil and show what it did."""
    # Wide enough for the tables when the output is piped (make, CI logs).
    console = Console(width=None if sys.stdout.isatty() else 140)
    try:
        run_demo(rpc_url, epochs, report_path, console)
    except (AnvilError, ApeDeployError, ManifestError, ChainConnectionError) as exc:
        raise click.ClickException(str(exc)) from None
