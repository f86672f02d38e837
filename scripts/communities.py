"""`ape run communities …`: scripted community admins, the same operations as `club community …`.

Thin click commands over `clubchat.communities.CommunitiesClient` (and `PremiumClient` for
`settle`); the contracts come from the network's deployment manifest. `invite` signs a voucher with
the ape account (EIP-712 through the account's own `sign_message`, so keystores and hardware
wallets sign too; no transaction); the invitee redeems it with `club community join --voucher`.
Examples on the local chain:

    ape run communities create --policy allowlist --membership-days 30 --account TEST::3
    ape run communities add 1 0xAlice 0xBob --account TEST::3       # or --csv members.csv
    ape run communities set-root 1 members.csv --account TEST::3     # MERKLE: CSV or OZ tree dump
    ape run communities ban 1 0xMallory --account TEST::3            # --unban to lift it
    ape run communities remove 1 0xBob --account TEST::3
    ape run communities invite 1 0xCarol --out voucher.json --account TEST::3
    ape run communities info 1 [--of 0xAlice]
    ape run communities settle --account TEST::3                     # Premium: burn + node share
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from clubchat.chain.ape_sender import ApeSender, ApeTypedSigner
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.cli_errors import one_line_errors
from clubchat.communities import CommunitiesClient, load_tree_file
from clubchat.communities.client import NEVER, POLICIES
from clubchat.communities.merkle import read_addresses
from clubchat.premium import PremiumClient


def _sender(provider, account):
    if account is None and provider.network.is_dev:
        account = accounts.test_accounts[0]
    if account is None:
        raise click.UsageError("pass --account <alias> (or TEST::<n> on a local chain)")
    return ApeSender(account)


def _client(provider, account, deployments: Path, needs_account: bool = True) -> CommunitiesClient:
    sender = _sender(provider, account) if needs_account else None
    return CommunitiesClient(provider.web3, network_manifest(provider, deployments), sender)


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """Community admins: create, add, remove, ban, invite, set-root, info; Premium settle."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.option("--policy", type=click.Choice(list(POLICIES)), default="open", show_default=True)
@click.option("--owner", default=None, help="Owner (EOA or contract wallet); default: the account.")
@click.option("--membership-days", type=int, default=0, show_default=True, help="0: never expire.")
@click.option("--fail-open", is_flag=True, help="Relays serve the cached member list without RPC.")
@one_line_errors
def create(provider, account, deployments, policy, owner, membership_days, fail_open):
    """Create a community (burns the creation fee)."""
    client = _client(provider, account, deployments)
    cid = client.create(owner, POLICIES[policy], membership_days * 86400, fail_open)
    click.echo(f"community {cid} created ({policy})")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("community_id", type=int)
@click.argument("addresses", nargs=-1)
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@one_line_errors
def add(provider, account, deployments, community_id, addresses, csv_file):
    """Add members (owner or admin) from arguments and/or a CSV."""
    wanted = [*addresses, *(read_addresses(csv_file) if csv_file else [])]
    if not wanted:
        raise click.UsageError("name at least one address (or --csv FILE)")
    txs = _client(provider, account, deployments).add(community_id, wanted)
    click.echo(f"added {len(wanted)} member(s) in {len(txs)} transaction(s)")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("community_id", type=int)
@click.argument("addresses", nargs=-1, required=True)
@one_line_errors
def remove(provider, account, deployments, community_id, addresses):
    """Remove members (owner, admin or moderator)."""
    _client(provider, account, deployments).remove(community_id, list(addresses))
    click.echo(f"removed {len(addresses)} member(s)")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("community_id", type=int)
@click.argument("address")
@click.option("--unban", is_flag=True, help="Lift the ban instead.")
@one_line_errors
def ban(provider, account, deployments, community_id, address, unban):
    """Ban ADDRESS (or lift a ban with --unban)."""
    client = _client(provider, account, deployments)
    (client.unban if unban else client.ban)(community_id, address)
    click.echo(f"{address} {'unbanned' if unban else 'banned'}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("community_id", type=int)
@click.argument("invitee")
@click.option("--valid-hours", type=float, default=72.0, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Voucher file (default: stdout).",
)
@one_line_errors
def invite(provider, account, deployments, community_id, invitee, valid_hours, out):
    """Sign an invite voucher for INVITEE as the account (owner or admin; no transaction)."""
    sender = _sender(provider, account)
    client = _client(provider, None, deployments, needs_account=False)
    voucher = client.invite(community_id, invitee, int(valid_hours * 3600), ApeTypedSigner(sender.account))
    text = json.dumps(voucher.as_json(), indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n")
        click.echo(f"voucher for {voucher.invite.invitee} (nonce {voucher.invite.nonce}) written to {out}")


@cli.command("set-root", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.argument("community_id", type=int)
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@one_line_errors
def set_root(provider, account, deployments, community_id, source):
    """Set the MERKLE root from a CSV of addresses or an OpenZeppelin tree dump."""
    tree = load_tree_file(source)
    _client(provider, account, deployments).set_merkle_root(community_id, tree.root)
    click.echo(f"root 0x{tree.root.hex()} set ({len(tree.addresses)} addresses)")


@cli.command(cls=ConnectedProviderCommand)
@deployments_option
@click.argument("community_id", type=int)
@click.option("--of", "of", default=None, help="Also show this address's membership.")
@one_line_errors
def info(provider, deployments, community_id, of):
    """Show a community (and one address's membership)."""
    client = _client(provider, None, deployments, needs_account=False)
    i = client.info(community_id)
    click.echo(f"community {i.community_id}: {i.policy}, owner {i.owner}, {i.member_count} member(s)")
    if of:
        m = client.membership(community_id, of)
        ends = "never" if m.expires_at == NEVER else str(m.expires_at)
        click.echo(f"{of}: member {m.is_member}, ends {ends}, banned {m.banned}, roles {m.roles}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@one_line_errors
def settle(provider, account, deployments):
    """Burn Premium's set-aside burn share and send the node share to the NodeRegistry."""
    manifest = network_manifest(provider, deployments)
    client = PremiumClient(provider.web3, manifest, _sender(provider, account))
    client.settle()
    click.echo("settled")
