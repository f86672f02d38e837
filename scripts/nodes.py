"""`ape run nodes …`: node operators and delegators from the shell, the same commands as `club node …`.

Thin click commands over `clubchat.registry` and `clubchat.node.operator`; the contracts come from the
network's deployment manifest (deployments/<network>.json). Amounts are exact decimal CLUB; the
options are those of `club node` (`--node-key` is always the node key's private key,
`--node-key-address` its address). Examples on the local chain:

    ape run nodes register --account TEST::4 --kinds relay,turn --node-key-address 0xabc... \\
        --relay-uri wss://relay.example --turn-uri turns:turn.example:5349 \\
        --credential-uri https://turn.example/credentials --stake 20000 --commission-bps 500
    ape run nodes delegate 0xOperator 5000 --account TEST::5
    ape run nodes unbond 0xOperator --account TEST::5          # everything; --amount CLUB for part
    ape run nodes withdraw --all --account TEST::5             # after the unbonding period
    ape run nodes claim 0xOperator --account TEST::5           # prints what it paid
    ape run nodes set-commission 700 --account TEST::4         # prints when it applies
    ape run nodes status 0xOperator [--of 0xDelegator]
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option
from rich.console import Console

from clubchat.amounts import AmountError, format_club, parse_club
from clubchat.chain.ape_sender import ApeSender
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_sentence
from clubchat.cli_params import check_endpoint, parse_key
from clubchat.node import operator as op
from clubchat.registry import (
    NOTIFY,
    RELAY,
    TURN,
    NodeRegistryClient,
    Registration,
    parse_kinds,
    status_table,
)

console = Console(width=None if sys.stdout.isatty() else 160)


def _wei(amount: str) -> int:
    try:
        return parse_club(amount, allow_zero=False)
    except AmountError as exc:
        raise click.BadParameter(str(exc)) from None


def _client(provider, account, deployments: Path, needs_account: bool = True) -> NodeRegistryClient:
    network = provider.network
    manifest = network_manifest(provider, deployments)
    if account is None and network.is_dev and needs_account:
        account = accounts.test_accounts[0]
    if account is None and needs_account:
        raise click.UsageError("pass --account <alias> (or TEST::<n> on a local chain)")
    sender = ApeSender(account) if account is not None else None
    return NodeRegistryClient(provider.web3, manifest, sender)


def _run(fn, *args):
    """Call `fn`; an error a user can cause (a revert, a refused amount, …) ends the command in a sentence."""
    try:
        return fn(*args)
    except click.ClickException:
        raise
    except Exception as exc:
        sentence = one_sentence(exc)
        if sentence is None:
            raise
        raise click.ClickException(sentence) from None


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """Node operators and delegators: register, stake, delegate, unbond, withdraw, claim, status."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.option("--kinds", required=True, help="Comma-separated: relay, turn, notify.")
@click.option(
    "--node-key", default=None, help="The node's hot key (hex private key), as `club node run` takes it."
)
@click.option("--node-key-address", default=None, help="Or only the node key's address.")
@click.option("--relay-uri", "--relay", "relay_uri", default="", help="wss:// endpoint (RELAY).")
@click.option("--turn-uri", "--turn", "turn_uri", default="", help="turn: or turns: endpoint (TURN).")
@click.option(
    "--credential-uri",
    "--credential-endpoint",
    "credential_endpoint",
    default="",
    help="https:// TURN credentials.",
)
@click.option("--notify-uri", "--notify", "notify_uri", default="", help="https:// endpoint (NOTIFY).")
@click.option("--region", default="", help="Region code, e.g. eu-west.")
@click.option("--metadata-uri", default="", help="Operator metadata (name, contact, terms).")
@click.option(
    "--commission-bps", "--commission", "commission", default=500, show_default=True, help="bps (100 = 1 %)."
)
@click.option("--stake", "stake_club", required=True, help="Self-stake in CLUB.")
def register(
    provider,
    account,
    deployments,
    kinds,
    node_key,
    node_key_address,
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
    if bool(node_key) == bool(node_key_address):
        raise click.UsageError("give the node key: --node-key 0x<private key> (or --node-key-address 0x…)")
    key_account = parse_key(node_key) if node_key else None
    node_key = key_account.address if key_account else node_key_address
    mask = _run(parse_kinds, kinds)
    for name, uri in (("relay", relay_uri), ("turn", turn_uri), ("notify", notify_uri)):
        if uri:
            check_endpoint(name, uri)
    if credential_endpoint:
        check_endpoint("credential", credential_endpoint)
    stake_wei = _wei(stake_club)
    client = _client(provider, account, deployments)
    spec = Registration(
        kinds=mask,
        node_key=node_key,
        endpoints={RELAY: relay_uri, TURN: turn_uri, NOTIFY: notify_uri},
        credential_endpoint=credential_endpoint,
        region=region,
        metadata_uri=metadata_uri,
        commission_bps=commission,
    )
    # The node key consents with its own transaction (only possible here when its private key is given).
    key_sender = LocalSender(client.w3, key_account) if key_account else None
    tx = _run(client.register, spec, stake_wei, key_sender)
    click.echo(f"registered {client.sender.address} as kinds {kinds} with {format_club(stake_wei)} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("amount")
def stake(provider, account, deployments, amount):
    """Add AMOUNT CLUB of self-stake to your own node."""
    client = _client(provider, account, deployments)
    wei = _wei(amount)
    tx = _run(client.stake, wei)
    click.echo(f"staked {format_club(wei)} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node")
@click.argument("amount")
def delegate(provider, account, deployments, node, amount):
    """Delegate AMOUNT CLUB to NODE's pool."""
    client = _client(provider, account, deployments)
    wei = _wei(amount)
    tx = _run(client.delegate, node, wei)
    click.echo(f"delegated {format_club(wei)} to {node} (tx {tx})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node")
@click.option("--amount", default=None, help="CLUB to unbond (default: everything).")
@click.option("--shares", type=int, default=None, help="Or a number of pool shares.")
def unbond(provider, account, deployments, node, amount, shares):
    """Start unbonding from NODE's pool: --amount CLUB, --shares N, or everything."""
    wei = _wei(amount) if amount is not None else None
    client = _client(provider, account, deployments)
    click.echo(_run(op.unbond, client, node, wei, shares).line())


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("entry_id", type=int)
def rebond(provider, account, deployments, entry_id):
    """Put unbonding entry ENTRY_ID back into its pool."""
    click.echo(_run(op.rebond, _client(provider, account, deployments), entry_id).line())


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("entry_id", type=int, required=False)
@click.option("--all", "all_", is_flag=True, help="Every released entry.")
def withdraw(provider, account, deployments, entry_id, all_):
    """Withdraw released unbonding entry ENTRY_ID, or --all of them."""
    if all_ == (entry_id is not None):
        raise click.UsageError("give an ENTRY_ID or --all")
    client = _client(provider, account, deployments)
    if all_:
        click.echo(_run(op.withdraw_all, client).line())
    else:
        click.echo(f"withdrew entry {entry_id} (tx {_run(client.withdraw, entry_id)})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("node", required=False)
def claim(provider, account, deployments, node):
    """Claim your rewards from NODE (default: your own node, commission included); prints what was paid."""
    client = _client(provider, account, deployments)
    click.echo(_run(op.claim, client, node or client.sender.address).line())


@cli.command("set-commission", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("bps", type=click.IntRange(0, 10_000))
def set_commission(provider, account, deployments, bps):
    """Schedule a commission change to BPS basis points; prints when it applies."""
    click.echo(_run(op.set_commission, _client(provider, account, deployments), bps).line())


@cli.command("set-endpoint", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("kind", type=click.Choice(sorted(op.ENDPOINT_KINDS)))
@click.argument("uri")
def set_endpoint(provider, account, deployments, kind, uri):
    """Replace the KIND endpoint (relay, turn, notify, credential) with URI."""
    check_endpoint(kind, uri)
    click.echo(_run(op.set_endpoint, _client(provider, account, deployments), kind, uri).line())


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
def unjail(provider, account, deployments):
    """Release your node once its jail time is over."""
    click.echo(_run(op.unjail, _client(provider, account, deployments)).line())


@cli.command("exit", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
def exit_(provider, account, deployments):
    """Leave: unbond all of your own stake (then `withdraw --all` once released)."""
    click.echo(_run(op.exit_node, _client(provider, account, deployments)).line())


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
