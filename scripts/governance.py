"""`ape run governance delegate|propose|vote|queue|execute|status|simulate`: CLUB governance from the shell.

Thin click commands over `clubchat.governance`; the contracts come from the network's
deployment manifest (deployments/<network>.json). Examples on the local chain:

    ape run governance delegate --account TEST::1
    ape run governance propose --account TEST::1 call Emission set_tip 5CLUB -d "Lower the keeper tip"
    ape run governance vote 0x1234... for --reason "tips are too high" --account TEST::1
    ape run governance queue 0x1234...        # after the voting period
    ape run governance execute 0x1234...      # after the Timelock delay
    ape run governance status
    ape run governance simulate call Emission set_tip 5CLUB
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option
from rich.console import Console
from rich.table import Table

from clubchat.amounts import with_club
from clubchat.chain.ape_sender import ApeSender
from clubchat.chain.manifest import Manifest
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.cli_errors import one_sentence
from clubchat.governance import actions as act
from clubchat.governance import proposals as gp
from clubchat.governance.simulate import Check, forked_anvil, simulate_on
from clubchat.governance.status import proposal_statuses, status_table
from clubchat.timefmt import when

# Wide enough for the status table when the output is piped (tests, logs).
console = Console(width=None if sys.stdout.isatty() else 160)


def _context(provider, account, deployments: Path) -> tuple[object, Manifest, ApeSender | None]:
    network = provider.network
    manifest = network_manifest(provider, deployments)
    w3 = provider.web3
    if account is None and network.is_dev:
        account = accounts.test_accounts[0]
    return w3, manifest, (ApeSender(account) if account is not None else None)


def _need(sender: ApeSender | None) -> ApeSender:
    if sender is None:
        raise click.UsageError("pass --account <alias> (or TEST::<n> on a local chain)")
    return sender


# Errors of the governance helpers a user causes (their messages are already one sentence).
KNOWN = (gp.GovernanceError, act.ActionError)


def _run(fn, *args):
    """Call `fn`; an error a user can cause (a revert, a refused amount, …) ends the command in a sentence."""
    try:
        return fn(*args)
    except click.ClickException:
        raise
    except Exception as exc:
        sentence = str(exc) if isinstance(exc, KNOWN) else one_sentence(exc)
        if sentence is None:
            raise
        raise click.ClickException(sentence) from None


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """CLUB governance: delegate, propose, vote, queue, execute, status, simulate."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.option("--to", "delegatee", help="Delegate to this address (default: yourself).")
def delegate(provider, account, deployments, delegatee):
    """Delegate your CLUB votes (needed once before your tokens count)."""
    w3, manifest, sender = _context(provider, account, deployments)
    sender = _need(sender)
    tx = _run(gp.delegate, w3, manifest, sender, delegatee)
    click.echo(f"delegated the votes of {sender.address} to {delegatee or sender.address} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand, context_settings={"ignore_unknown_options": True})
@account_option(prompt=False)
@deployments_option
@click.option("-d", "--description", help="Proposal text (markdown); default: the action's summary.")
@click.option(
    "--unrestricted",
    is_flag=True,
    help="Do not append '#proposer=<your address>' to the description (then anyone can propose "
    "the same text first and cancel it to block yours).",
)
@click.argument("words", nargs=-1, required=True)
def propose(provider, account, deployments, description, unrestricted, words):
    """Propose one action: call | grant-role | revoke-role | release | revoke-release | transfer | raw."""
    w3, manifest, sender = _context(provider, account, deployments)
    action = _run(act.from_words, manifest, list(words))
    spec = gp.ProposalSpec((action,), description or action.summary)
    pid = _run(gp.propose, w3, manifest, _need(sender), spec, not unrestricted)
    gov = gp.governor(w3, manifest)
    click.echo(f"proposed: {action.summary}")
    if not unrestricted:
        click.echo(f"only {sender.address} can create this proposal (its description ends with #proposer=)")
    click.echo(f"proposal id: {pid:#066x}")
    start, end = gov.functions.proposalSnapshot(pid).call() + 1, gov.functions.proposalDeadline(pid).call()
    now = int(w3.eth.get_block("latest")["timestamp"])
    click.echo(f"voting from {when(start, now)} to {when(end, now)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.option("--reason", default="", help="Reason shown with the vote.")
@click.argument("proposal_id")
@click.argument("support", type=click.Choice(["for", "against", "abstain"], case_sensitive=False))
def vote(provider, account, deployments, reason, proposal_id, support):
    """Vote for, against or abstain on a proposal."""
    w3, manifest, sender = _context(provider, account, deployments)
    pid = _run(gp.parse_id, proposal_id)
    weight = _run(gp.vote, w3, manifest, _need(sender), pid, gp.Support.parse(support), reason)
    click.echo(f"{sender.address} voted {support.lower()} with {weight / 1e18:,.0f} votes")
    if weight == 0:
        click.echo(
            f"warning: {sender.address} had no voting power at the proposal's snapshot, so this vote "
            "counts 0; delegate (`ape run governance delegate`) before the next proposal is made",
            err=True,
        )


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("proposal_id")
def queue(provider, account, deployments, proposal_id):
    """Queue a succeeded proposal in the Timelock (anyone may)."""
    w3, manifest, sender = _context(provider, account, deployments)
    eta = _run(gp.queue, w3, manifest, _need(sender), _run(gp.parse_id, proposal_id))
    now = int(w3.eth.get_block("latest")["timestamp"])
    click.echo(f"queued; executable from {when(eta, now)}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("proposal_id")
def execute(provider, account, deployments, proposal_id):
    """Execute a queued proposal once the Timelock delay has passed (anyone may)."""
    w3, manifest, sender = _context(provider, account, deployments)
    pid = _run(gp.parse_id, proposal_id)
    tx = _run(gp.execute, w3, manifest, _need(sender), pid)
    state = gp.STATE_NAMES[gp.state(w3, manifest, pid)]
    click.echo(f"executed (tx {tx}); proposal is {state}")


@cli.command(cls=ConnectedProviderCommand)
@deployments_option
def status(provider, deployments):
    """Table of proposals: state, votes, quorum progress, time to the next step."""
    w3, manifest, _ = _context(provider, None, deployments)
    rows = _run(proposal_statuses, w3, manifest)
    if not rows:
        click.echo("no proposals yet")
        return
    console.print(status_table(rows))
    for r in rows:
        click.echo(f"{r.proposal_id:#066x} {r.state}")


@cli.command(cls=ConnectedProviderCommand, context_settings={"ignore_unknown_options": True})
@deployments_option
@click.option("-d", "--description", help="Proposal text (default: the action's summary).")
@click.option(
    "--fork-url", help="Fork this RPC (e.g. a testnet) instead of snapshotting the connected chain."
)
@click.option(
    "--check", "checks", multiple=True, metavar="Contract.view", help="A view to show before/after."
)
@click.argument("words", nargs=-1, required=True)
def simulate(provider, deployments, description, fork_url, checks, words):
    """Dry-run the whole lifecycle of one action on a throw-away chain and show what changes."""
    w3, manifest, _ = _context(provider, None, deployments)
    action = _run(act.from_words, manifest, list(words))
    spec = gp.ProposalSpec((action,), description or f"[simulation] {action.summary}")
    parsed = []
    for c in checks:
        contract, _, fn = c.partition(".")
        parsed.append(Check(contract, fn))
    if fork_url:
        with forked_anvil(fork_url) as fork_w3:
            report = _run(simulate_on, fork_w3, manifest, spec, parsed)
    else:
        report = _run(simulate_on, w3, manifest, spec, parsed)
    table = Table(title=f"simulation of {action.summary}")
    table.add_column("step")
    table.add_column("detail")
    for step, detail in report.steps:
        table.add_row(step, detail)
    console.print(table)
    changes = Table(title="state changed by the proposal")
    for column in ("view", "before", "after"):
        changes.add_column(column)
    for label, before, after in report.changes:
        changes.add_row(label, with_club(before), with_club(after))
    console.print(changes)
    click.echo(f"final state: {report.final_state}; nothing was sent (the chain was reverted)")
