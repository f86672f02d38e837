"""`ape run disputes …`: prove a relay's fork, flag-and-vote; the same as `club report` / `club dispute`.

Thin click commands over `clubchat.disputes`; the contracts come from the network's deployment
manifest (deployments/<network>.json). Examples on the local chain:

    ape run disputes report first.json second.json --account TEST::3
    ape run disputes flag 0xOperator --reason offline --evidence ipfs://... --account TEST::3
    ape run disputes flag 0xOperator --reason withholding-history --attach evidence.json \
        --peer 0xPeer --account TEST::3   # the history store's refusal + a grant to read the room
    ape run disputes flag 0xOperator --reason withholding-history --attach evidence.json \
        --community 7 --room general --account TEST::3   # ... of a community room
    ape run disputes draw 1 --account TEST::3
    ape run disputes vote 1 --reviewer 0xReviewer --kick --account TEST::4   # later: --reveal
    ape run disputes finalize 1 --account TEST::3
    ape run disputes status 1
"""

from __future__ import annotations

from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from clubchat.chain.ape_sender import ApeSender, ApeTypedSigner
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.cli_errors import one_line_errors
from clubchat.disputes import REASONS, DisputesClient, SignedEntry
from clubchat.disputes.cli import attach_evidence, evidence_options, granted_room


def _client(provider, account, deployments: Path) -> DisputesClient:
    network = provider.network
    if account is None and network.is_dev:
        account = accounts.test_accounts[0]
    if account is None:
        raise click.UsageError("pass --account <alias> (or TEST::<n> on a local chain)")
    return DisputesClient(provider.web3, network_manifest(provider, deployments), ApeSender(account))


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """Prove forks (report) and flag, draw, vote on, finalise disputes."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("first", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("second", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@one_line_errors
def report(provider, account, deployments, first, second):
    """Commit, wait a block, reveal two conflicting signed entries; print the slash."""
    client = _client(provider, account, deployments)
    result = client.report(SignedEntry.load(first), SignedEntry.load(second))
    click.echo(
        f"fork of {result.node} proven: slashed {result.cut_wei} wei, you got {result.reporter_wei} wei"
    )


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node")
@click.option("--reason", type=click.Choice(sorted(REASONS)), required=True)
@click.option("--evidence", "evidence_uri", default="")
@evidence_options
@one_line_errors
def flag(provider, account, deployments, node, reason, evidence_uri, attach, store, peer, community, room):
    """Post the flag bond against NODE (its stake is frozen until the dispute ends)."""
    granted = granted_room(attach, peer, community, room)
    client = _client(provider, account, deployments)
    if attach is not None:
        signer = ApeTypedSigner(client.sender.account) if peer is not None or granted is not None else None
        evidence_uri = evidence_uri or attach_evidence(
            client, reason, node, attach, store, peer, signer, granted
        )
    dispute_id, tx = client.flag(node, REASONS[reason], evidence_uri)
    click.echo(f"dispute {dispute_id} opened (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("dispute_id", type=int)
@one_line_errors
def draw(provider, account, deployments, dispute_id):
    """Draw the panel once the seed block is mined (permissionless)."""
    panel = _client(provider, account, deployments).draw(dispute_id)
    click.echo(f"panel: {', '.join(panel)}" if panel else "no panel: re-armed or dismissed")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("dispute_id", type=int)
@click.option("--reviewer", required=True)
@click.option("--kick/--keep", default=None)
@click.option("--reveal", is_flag=True)
@one_line_errors
def vote(provider, account, deployments, dispute_id, reviewer, kick, reveal):
    """Commit (--kick/--keep) or --reveal a reviewer's vote."""
    client = _client(provider, account, deployments)
    if reveal == (kick is not None):
        raise click.UsageError("give --kick or --keep to commit, or --reveal after the commit deadline")
    if reveal:
        revealed, tx = client.reveal_vote(dispute_id, reviewer)
        click.echo(f"revealed {'kick' if revealed else 'keep'} (tx {tx})")
    else:
        click.echo(f"committed (tx {client.commit_vote(dispute_id, reviewer, kick)})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("dispute_id", type=int)
@one_line_errors
def finalize(provider, account, deployments, dispute_id):
    """Decide a dispute after its reveal deadline (permissionless)."""
    outcome, tx = _client(provider, account, deployments).finalize(dispute_id)
    click.echo(f"dispute {dispute_id}: {outcome} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("dispute_id", type=int)
@one_line_errors
def status(provider, account, deployments, dispute_id):
    """Phase, panel, weights and deadlines of a dispute."""
    for line in _client(provider, account, deployments).status(dispute_id).lines():
        click.echo(line)
