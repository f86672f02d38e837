"""`ape run keeper [--once]`: `club keeper run` for ape accounts (advance emission, finalise reward epochs).

ape run keeper --once --account keeper --network ethereum:sepolia:node
"""

from __future__ import annotations

import time

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from clubchat.chain.ape_sender import ApeSender
from clubchat.chain.script_options import deployments_option, network_manifest
from clubchat.chain.tx import TransactionFailed
from clubchat.keeper import Keeper


@click.command(cls=ConnectedProviderCommand, short_help=__doc__.splitlines()[0])
@account_option(prompt=False)
@deployments_option
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between passes.")
def cli(provider, account, deployments, once, interval):
    """Call Emission.advance() and NodeRegistry.finalize_epoch() when due; the tips go to the account."""
    network = provider.network
    if account is None:
        if not network.is_dev:
            raise click.UsageError("pass --account <alias> (the keeper receives the tips and pays the gas)")
        account = accounts.test_accounts[0]
    keeper = Keeper(provider.web3, network_manifest(provider, deployments), ApeSender(account))
    while True:
        try:
            result = keeper.run_once()
        except TransactionFailed as exc:
            raise click.ClickException(str(exc)) from None
        for line in result.lines():
            click.echo(line)
        if once:
            return
        time.sleep(interval)
