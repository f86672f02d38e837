"""`ape run local fund|advance`: the local-chain helpers of `club chain`, for ape users.

Refused on live networks (any chain id but 31337 or 1337): CLUB comes from the treasury's genesis
allocation (the Timelock, impersonated through anvil) and ETH from anvil's first account.

    ape run local fund 0xOperator --club 20000 --eth 1
    ape run local advance --days 7
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from clubchat.amounts import AmountError, format_club, format_eth, parse_club
from clubchat.chain.local import LocalChainError, advance_time, fund, require_local
from clubchat.chain.manifest import ManifestError
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.chain.tx import TransactionFailed
from clubchat.timefmt import span, utc


@click.group(short_help=__doc__.splitlines()[0])
def cli():
    """Local development chain: fund an account from genesis, move the clock."""


@cli.command("fund", cls=ConnectedProviderCommand)
@deployments_option
@click.argument("address")
@click.option("--club", "club", default="0", help="CLUB to send.")
@click.option("--eth", "eth", default="1", show_default=True, help="ETH to send for gas.")
def fund_command(provider, deployments, address, club, eth):
    """Send CLUB from the treasury's genesis allocation and ETH to ADDRESS (local chains only)."""
    w3 = provider.web3
    try:
        club_wei, eth_wei = parse_club(club), parse_club(eth)
        require_local(w3, "`ape run local fund`")
        manifest = network_manifest(provider, deployments)
        done = fund(w3, manifest, address, club_wei, eth_wei)
    except (AmountError, LocalChainError, ManifestError, TransactionFailed) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"sent {format_club(done.club_wei)} and {format_eth(done.eth_wei)} to {done.address}; "
        f"it now holds {format_club(done.club_balance_wei)} and {format_eth(done.eth_balance_wei)}"
    )


@cli.command("advance", cls=ConnectedProviderCommand)
@click.option("--days", default=0.0, type=float)
@click.option("--hours", default=0.0, type=float)
@click.option("--seconds", default=0, type=int)
def advance_command(provider, days, hours, seconds):
    """Move a local chain's clock forward and mine a block."""
    total = int(days * 86_400 + hours * 3_600) + seconds
    if total <= 0:
        raise click.UsageError("say how far: --days, --hours and/or --seconds, in total above 0")
    w3 = provider.web3
    before = int(w3.eth.get_block("latest")["timestamp"])
    try:
        after = advance_time(w3, total)
    except LocalChainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"moved the clock {span(after - before)} forward: block time now {utc(after)} (unix {after})")
