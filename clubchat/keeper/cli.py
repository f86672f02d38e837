"""`club keeper run`: advance emission and finalise reward epochs when due, paid by the tips."""

from __future__ import annotations

import time
from pathlib import Path

import click
from eth_account.signers.local import LocalAccount

from clubchat.amounts import format_club
from clubchat.chain.cli import chain_options, key_options, open_deployment, resolve_key
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_line_errors
from clubchat.keeper import REPORT_DECIMALS, Keeper


@click.group("keeper")
def keeper() -> None:
    """Keep emission and node rewards flowing (permissionless; the tips pay the gas)."""


@keeper.command("run")
@chain_options
@key_options(envvar="CLUB_KEEPER_KEY", who="the keeper (it receives the tips and pays the gas)")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between passes.")
@one_line_errors
def run(
    rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None, once: bool, interval: float
) -> None:
    """Call Emission.advance() and NodeRegistry.finalize_epoch() when due; print what was done."""
    account = resolve_key(key, key_file)
    w3, manifest = open_deployment(rpc_url, network)
    k = Keeper(w3, manifest, LocalSender(w3, account))
    click.echo(f"keeper {account.address} on chain {manifest.chain_id} ({manifest.network or network})")
    total = 0
    while True:
        result = k.run_once()
        total += result.tips_wei
        for line in result.lines():
            click.echo(line)
        if once:
            return
        click.echo(
            f"tips so far: {format_club(total, decimals=REPORT_DECIMALS)}; next pass in {interval:.0f} s",
            err=True,
        )
        time.sleep(interval)
