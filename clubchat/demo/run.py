"""`club demo` (`make demo`): deploy the protocol to a local anvil and show what it does.

The demo starts anvil on 127.0.0.1:8545 unless one already runs there (and stops
it at the end if it started it), runs the real `ape run deploy`, then reads
everything back with web3.py through the deployment manifest and walks through
a list of chapters. Each chapter (one module of this package) is a function of
`DemoContext` that prints rich tables and records what it showed in `ctx.report`
(written to demo-report.json).

Adding a chapter is a module with its function, appended to `CHAPTERS`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click
from rich.console import Console
from rich.panel import Panel

from clubchat.chain import ManifestError, TransactionFailed, connect, load_manifest
from clubchat.chain.anvil import Anvil, AnvilError, is_listening
from clubchat.chain.manifest import DEPLOYMENTS_DIR
from clubchat.chain.rpc import ChainConnectionError
from clubchat.demo.ads import chapter_ads
from clubchat.demo.allocations import chapter_allocations
from clubchat.demo.calls import chapter_calls
from clubchat.demo.communities import chapter_communities
from clubchat.demo.context import Chapter, DemoContext
from clubchat.demo.deployment import chapter_deployment
from clubchat.demo.emission import chapter_emission
from clubchat.demo.governance import chapter_governance
from clubchat.demo.nodes import chapter_nodes
from clubchat.demo.policing import chapter_policing
from clubchat.demo.supply import chapter_supply
from clubchat.demo.vesting import chapter_vesting
from clubchat.deploy.run import ApeDeployError, run_ape_deploy
from clubchat.params import REPO_ROOT

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEFAULT_REPORT = REPO_ROOT / "demo-report.json"
# anvil's unlocked test accounts: 0 deploys, 1..3 receive the vesting allocations
# (scripts/deploy.py), the last one plays the keeper that triggers emission epochs.
KEEPER_INDEX = 9


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
    chapter_policing,
    chapter_communities,
    chapter_ads,
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
    except (AnvilError, ApeDeployError, ManifestError, ChainConnectionError, TransactionFailed) as exc:
        raise click.ClickException(str(exc)) from None
