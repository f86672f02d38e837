"""`ape run ads …`: the ad market from the shell with ape accounts, the same actions as `club ads …`.

Thin click commands over `clubchat.ads`; the AdMarket comes from the network's deployment manifest
(deployments/<network>.json). Amounts are exact decimal CLUB. Examples on a local chain:

    ape run ads create --account TEST::3 --budget 1000 --price 0.5 --per-user-cap 10 --days 7 \\
        --creative-file banner.json --creative-uri ipfs://bafy… --target 7
    ape run ads status 1
    ape run ads pause 1 --account TEST::3        # also: resume, cancel, refund
    ape run ads earnings 0xUser
    ape run ads withdraw --account TEST::5
"""

from __future__ import annotations

from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from clubchat.ads import AdMarketClient, CampaignSpec
from clubchat.ads.cli import creative_hash
from clubchat.amounts import AmountError, format_club, parse_club
from clubchat.chain.ape_sender import ApeSender
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.cli_errors import call_in_one_sentence as _run
from clubchat.timefmt import utc


def _wei(amount: str, allow_zero: bool = False) -> int:
    try:
        return parse_club(amount, allow_zero=allow_zero)
    except AmountError as exc:
        raise click.BadParameter(str(exc)) from None


def _client(provider, account, deployments: Path, needs_account: bool = True) -> AdMarketClient:
    manifest = network_manifest(provider, deployments)
    if account is None and needs_account:
        if not provider.network.is_dev:
            raise click.UsageError("pass --account <alias> (or TEST::<n> on a local chain)")
        account = accounts.test_accounts[0]
    return _run(AdMarketClient, provider.web3, manifest, ApeSender(account) if account is not None else None)


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """Advertisers and users: create, pause, resume, cancel, refund, status, earnings, withdraw."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
@click.option("--budget", required=True, help="CLUB escrowed.")
@click.option("--price", required=True, help="CLUB per confirmed notification.")
@click.option("--per-user-cap", type=int, required=True, help="Most notifications paid per user.")
@click.option("--days", type=float, required=True, help="How long the campaign runs.")
@click.option("--start-in-hours", type=float, default=0.0, show_default=True)
@click.option("--creative-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--creative-hash", "creative_hash_hex", default=None, help="keccak256 of the creative (hex).")
@click.option("--creative-uri", required=True)
@click.option(
    "--target", "targets", type=int, multiple=True, help="Target community id (repeat; none = all)."
)
@click.option("--min-tier", type=int, default=0, show_default=True)
@click.option("--min-stake", default="0", help="Minimum stake of paid users, CLUB.")
def create(
    provider,
    account,
    deployments,
    budget,
    price,
    per_user_cap,
    days,
    start_in_hours,
    creative_file,
    creative_hash_hex,
    creative_uri,
    targets,
    min_tier,
    min_stake,
):
    """Escrow a campaign's budget (approves the market first if needed)."""
    client = _client(provider, account, deployments)
    start = int(provider.web3.eth.get_block("latest")["timestamp"]) + int(start_in_hours * 3_600)
    spec = CampaignSpec(
        budget_wei=_wei(budget),
        price_wei=_wei(price),
        per_user_cap=per_user_cap,
        start=start,
        end=start + int(days * 86_400),
        creative_hash=creative_hash(creative_file, creative_hash_hex),
        creative_uri=creative_uri,
        targets=tuple(targets),
        min_tier=min_tier,
        min_stake_wei=_wei(min_stake, allow_zero=True),
    )
    cid = _run(client.create_campaign, spec)
    click.echo(f"campaign {cid} created: {format_club(spec.budget_wei)} escrowed, runs until {utc(spec.end)}")


def _action(name: str, doc: str) -> None:
    @cli.command(name, cls=ConnectedProviderCommand, help=doc)
    @click.argument("campaign_id", type=int)
    @account_option(prompt=False)
    @deployments_option
    def command(provider, account, deployments, campaign_id):
        client = _client(provider, account, deployments)
        done = _run(getattr(client, name), campaign_id)
        if name == "refund":
            click.echo(f"campaign {campaign_id}: {format_club(done)} refunded")
        else:
            click.echo(f"campaign {campaign_id}: {name} sent")


_action("pause", "Ask NOTIFY nodes to stop delivering (earlier views still settle).")
_action("resume", "Let NOTIFY nodes deliver again.")
_action("cancel", "End the campaign now; receipts settle for the grace period, then refund.")
_action("refund", "Take back the unspent budget once settlement has closed.")


@cli.command(cls=ConnectedProviderCommand)
@click.argument("campaign_id", type=int)
@deployments_option
def status(provider, deployments, campaign_id):
    """Show a campaign: budget, spend, window, targets, gates."""
    client = _client(provider, None, deployments, needs_account=False)
    now = int(provider.web3.eth.get_block("latest")["timestamp"])
    for line in _run(client.status, campaign_id).lines(now):
        click.echo(line)


@cli.command(cls=ConnectedProviderCommand)
@click.argument("address")
@deployments_option
def earnings(provider, deployments, address):
    """What ADDRESS earned in the ad market and can withdraw now."""
    client = _client(provider, None, deployments, needs_account=False)
    click.echo(f"{address} can withdraw {format_club(_run(client.earnings, address))}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@deployments_option
def withdraw(provider, account, deployments):
    """Withdraw everything the account earned."""
    click.echo(f"withdrew {format_club(_run(_client(provider, account, deployments).withdraw))}")
