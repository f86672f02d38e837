"""`club gov status|simulate`: read-only governance views over web3 and the manifest (no ape needed)."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from clubchat.amounts import with_club
from clubchat.chain import ManifestError, connect, load_manifest
from clubchat.chain.rpc import ChainConnectionError
from clubchat.chain.tx import TransactionFailed
from clubchat.governance import actions as act
from clubchat.governance import proposals as gp
from clubchat.governance.simulate import simulate_on
from clubchat.governance.status import proposal_statuses, status_table


@click.group()
def gov() -> None:
    """Governance: proposals of ClubGovernor (sending votes: `ape run governance ...`)."""


@gov.command()
@click.option("--rpc-url", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC endpoint.")
@click.option("--network", default="local", show_default=True, help="Manifest name or path.")
def status(rpc_url: str, network: str) -> None:
    """Table of proposals: state, votes, quorum progress, time to the next step."""
    console = Console(width=None if sys.stdout.isatty() else 160)
    try:
        w3 = connect(rpc_url)
        manifest = load_manifest(network)
        rows = proposal_statuses(w3, manifest)
    except (ManifestError, ChainConnectionError, gp.GovernanceError) as exc:
        raise click.ClickException(str(exc)) from None
    if not rows:
        console.print("no proposals yet")
        return
    console.print(status_table(rows))


@gov.command(context_settings={"ignore_unknown_options": True})
@click.option("--rpc-url", default="http://127.0.0.1:8545", show_default=True, help="An anvil node.")
@click.option("--network", default="local", show_default=True, help="Manifest name or path.")
@click.argument("words", nargs=-1, required=True)
def simulate(rpc_url: str, network: str, words: tuple[str, ...]) -> None:
    """Dry-run one action's whole lifecycle on an anvil snapshot (reverted afterwards)."""
    try:
        w3 = connect(rpc_url)
        manifest = load_manifest(network)
        action = act.from_words(manifest, list(words))
        report = simulate_on(w3, manifest, gp.ProposalSpec((action,), f"[simulation] {action.summary}"))
    except (
        ManifestError,
        ChainConnectionError,
        gp.GovernanceError,
        act.ActionError,
        TransactionFailed,
    ) as exc:
        raise click.ClickException(str(exc)) from None
    for step, detail in report.steps:
        click.echo(f"{step:10} {detail}")
    for label, before, after in report.changes:
        click.echo(f"{label}: {with_club(before)} -> {with_club(after)}")
    click.echo(f"final state: {report.final_state} (chain reverted)")
