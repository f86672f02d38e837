"""`ape run nodes register|stake|delegate|unbond|withdraw|claim|status`: node operators from the shell.

Thin click commands over `clubchat.registry`; the contracts come from the network's deployment manifest
(deployments/<network>.json). Amounts are whole CLUB (decimals allowed). Examples on the local chain:

    ape run nodes register --account TEST::4 --kinds relay,turn --node-key 0xabc... \\
        --relay wss://relay.example --turn turns:turn.example:5349 \\
        --credential-endpoint https://turn.example/credentials --stake 20000 --commission 500
    ape run nodes delegate 0xOperator 5000 --account TEST::5
    ape run nodes unbond 0xOperator --account TEST::5          # all shares; --shares N for part
    ape run nodes withdraw 0 --account TEST::5                 # after the unbonding period
    ape run nodes claim 0xOperator --account TEST::5
    ape run nodes status 0xOperator [--of 0xDelegator]
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option
from rich.console import Console

from clubchat.chain.ape_sender import ApeSender
from clubchat.chain.manifest import DEPLOYMENTS_DIR, ManifestError, load_manifest, manifest_name
from clubchat.chain.tx import TransactionFailed
from clubchat.registry import (
    NOTIFY,
    RELAY,
    TURN,
    NodeRegistryClient,
    Registration,
    RegistryError,
    parse_kinds,
    status_table,
)

console = Console(width=None if sys.stdout.isatty() else 160)


deployments_option = click.option(
    "--deployments",
    envvar="CLUBCHAT_DEPLOYMENTS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEPLOYMENTS_DIR,
    show_default=True,
    help="Directory of the deployment manifests.",
)


def _wei(amount: str) -> int:
    return int(Decimal(amount) * 10**18)


def _client(provider, account, deployments: Path, needs_account: bool = True) -> NodeRegistryClient:
    network = provider.network
    try:
        manifest = load_manifest(manifest_name(network.ecosystem.name, network.name), directory=deployments)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    if account is None and network.is_dev and needs_account:
        account = accounts.test_accounts[0]
    if account is None and needs_account:
        raise click.UsageError("pass --account <alias> (or TEST::<n> on a local chain)")
    sender = ApeSender(account) if account is not None else None
    return NodeRegistryClient(provider.web3, manifest, sender)


def _run(fn, *args):
    try:
        return fn(*args)
    except (RegistryError, TransactionFailed) as exc:
        raise click.ClickException(str(exc)) from None


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """Node operators and delegators: register, stake, delegate, unbond, withdraw, claim, status."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.option("--kinds", required=True, help="Comma-separated: relay, turn, notify.")
@click.option("--node-key", required=True, help="Hot key that sends heartbeats (not the operator).")
@click.option("--relay", "relay_uri", default="", help="wss:// endpoint (RELAY).")
@click.option("--turn", "turn_uri", default="", help="turn: or turns: endpoint (TURN).")
@click.option("--credential-endpoint", default="", help="https:// TURN credential service (TURN).")
@click.option("--notify", "notify_uri", default="", help="https:// endpoint (NOTIFY).")
@click.option("--region", default="", help="Region code, e.g. eu-west.")
@click.option("--metadata-uri", default="", help="Operator metadata (name, contact, terms).")
@click.option("--commission", default=500, show_default=True, help="Commission in bps (100 = 1 %).")
@click.option("--stake", "stake_club", required=True, help="Self-stake in CLUB.")
def register(
    provider,
    account,
    deployments,
    kinds,
    node_key,
    relay_uri,
    turn_uri,
    credential_endpoint,
    notify_uri,
    region,
    metadata_uri,
    commission,
    stake_club,
):
    """Register the account as a node operator and bond its self-stake."""
    client = _client(provider, account, deployments)
    mask = _run(parse_kinds, kinds)
    spec = Registration(
        kinds=mask,
        node_key=node_key,
        endpoints={RELAY: relay_uri, TURN: turn_uri, NOTIFY: notify_uri},
        credential_endpoint=credential_endpoint,
        region=region,
        metadata_uri=metadata_uri,
        commission_bps=commission,
    )
    tx = _run(client.register, spec, _wei(stake_club))
    click.echo(f"registered {client.sender.address} as kinds {kinds} with {stake_club} CLUB (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("amount")
def stake(provider, account, deployments, amount):
    """Add AMOUNT CLUB of self-stake to your own node."""
    client = _client(provider, account, deployments)
    tx = _run(client.stake, _wei(amount))
    click.echo(f"staked {amount} CLUB (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node")
@click.argument("amount")
def delegate(provider, account, deployments, node, amount):
    """Delegate AMOUNT CLUB to NODE's pool."""
    client = _client(provider, account, deployments)
    tx = _run(client.delegate, node, _wei(amount))
    click.echo(f"delegated {amount} CLUB to {node} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node")
@click.option("--shares", type=int, default=None, help="Shares to unbond (default: all).")
def unbond(provider, account, deployments, node, shares):
    """Start unbonding your shares of NODE's pool."""
    client = _client(provider, account, deployments)
    tx = _run(client.unbond, node, shares)
    click.echo(
        f"unbonding started (tx {tx}); see `ape run nodes status {node} --of <you>` for the release time"
    )


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("entry_id", type=int)
def withdraw(provider, account, deployments, entry_id):
    """Withdraw unbonding entry ENTRY_ID once released."""
    client = _client(provider, account, deployments)
    tx = _run(client.withdraw, entry_id)
    click.echo(f"withdrew entry {entry_id} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node")
def claim(provider, account, deployments, node):
    """Claim your rewards from NODE (and the commission if you are its operator)."""
    client = _client(provider, account, deployments)
    tx = _run(client.claim, node)
    click.echo(f"claimed from {node} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@deployments_option
@click.argument("node")
@click.option(
    "--of", "of", default=None, help="Show this account's shares and rewards (default: the operator)."
)
def status(provider, deployments, node, of):
    """Show NODE's pool, shares, commission schedule, unbonding queue and pending rewards."""
    client = _client(provider, None, deployments, needs_account=False)
    console.print(status_table(_run(client.status, node, of)))
