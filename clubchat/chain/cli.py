"""Chain access for click commands: the shared chain/key options, `open_deployment`, and `club chain`.

`chain_options` and `key_options` give every `club` command the same vocabulary (`--rpc-url`,
`--network`, `--key`/`--key-file`); `club chain fund|advance` are the local-chain helpers of the
quickstart (refused on live networks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount
from web3 import Web3

from clubchat.amounts import AmountError, format_club, format_eth, parse_club
from clubchat.chain.local import advance_time, fund, require_local
from clubchat.chain.manifest import Manifest, ManifestError, load_manifest
from clubchat.chain.rpc import ChainConnectionError, connect
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address, ClubAmount, PrivateKey, read_key_file
from clubchat.timefmt import span, utc


def open_deployment(rpc: str, manifest: str) -> tuple[Web3, Manifest]:
    """Connect to `rpc` and load `manifest` (network name or path), checked to describe that chain.

    Raises click.ClickException with the reason when the RPC is unreachable, the manifest is missing
    or malformed, or it belongs to another chain.
    """
    try:
        w3 = connect(rpc)
        m = load_manifest(manifest)
        m.check_chain(w3)
    except (ChainConnectionError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from None
    return w3, m


# -- the shared vocabulary of every `club` command that talks to a chain --------------------------

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def chain_options_as(
    rpc_dest: str = "rpc_url",
    network_dest: str = "network",
    default_rpc: str | None = DEFAULT_RPC_URL,
    rpc_help: str = "JSON-RPC endpoint (or CLUB_RPC_URL).",
) -> Callable[[Any], Any]:
    """`--rpc-url` (or CLUB_RPC_URL; old name `--rpc`) and `--network` (old name `--manifest`).

    `rpc_dest`/`network_dest` name the function parameters they fill (commands written before the
    shared vocabulary keep theirs).
    """

    def decorate(fn: Any) -> Any:
        fn = click.option(
            "--network",
            "--manifest",
            network_dest,
            default="local",
            show_default=True,
            help="Deployment manifest: network name (local, sepolia) or a path to its .json.",
        )(fn)
        return click.option(
            "--rpc-url",
            "--rpc",
            rpc_dest,
            envvar="CLUB_RPC_URL",
            default=default_rpc,
            show_default=default_rpc is not None,
            help=rpc_help,
        )(fn)

    return decorate


chain_options = chain_options_as()


def key_options(
    envvar: str = "CLUB_KEY", who: str = "the sending account", aliases: tuple[str, ...] = ()
) -> Callable[[Any], Any]:
    """`--key` (hex private key, or the env var) and `--key-file` (a file holding one) for `who`.

    `aliases` are older names of `--key` that keep working (e.g. `--operator-key`).
    """

    def decorate(fn: Any) -> Any:
        fn = click.option(
            "--key-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help=f"File whose first line is the private key of {who}.",
        )(fn)
        fn = click.option(
            "--key",
            *aliases,
            "key",
            envvar=envvar,
            type=PrivateKey(),
            default=None,
            help=f"Private key (hex) of {who}; or {envvar}.",
        )(fn)
        return fn

    return decorate


def resolve_key(key: LocalAccount | None, key_file: Path | None) -> LocalAccount:
    """The account from --key or --key-file (exactly one)."""
    if key is not None and key_file is not None:
        raise click.UsageError("give --key or --key-file, not both")
    if key_file is not None:
        return read_key_file(key_file)
    if key is None:
        raise click.UsageError("give the sending account's private key: --key 0x… or --key-file PATH")
    return key


@click.group("chain")
def chain() -> None:
    """Local development chain helpers: fund an account, move the clock (refused on live networks)."""


@chain.command("fund")
@click.argument("address", type=Address())
@chain_options
@click.option("--club", "club_wei", type=ClubAmount(allow_zero=True), default="0", help="CLUB to send.")
@click.option("--eth", "eth", default="1", show_default=True, help="ETH to send for gas.")
@one_line_errors
def fund_command(address: str, rpc_url: str, network: str, club_wei: int, eth: str) -> None:
    """Send CLUB from the treasury's genesis allocation and ETH to ADDRESS (local chains only).

    The treasury (the Timelock) is impersonated through anvil; a live network (any chain id but
    31337 or 1337) is refused, since there CLUB comes from an escrow, a grant or a purchase.
    """
    try:
        eth_wei = parse_club(eth)  # ether has 18 decimals too
    except AmountError as exc:
        raise click.BadParameter(str(exc).replace("CLUB", "ETH"), param_hint="--eth") from None
    w3 = connect(rpc_url)
    require_local(w3, "`club chain fund`")
    _, m = open_deployment(rpc_url, network)
    done = fund(w3, m, address, club_wei, eth_wei)
    click.echo(
        f"sent {format_club(done.club_wei)} and {format_eth(done.eth_wei)} to {done.address}; "
        f"it now holds {format_club(done.club_balance_wei)} and {format_eth(done.eth_balance_wei)}"
    )


@chain.command("advance")
@chain_options
@click.option("--days", default=0.0, type=float, help="Days to move forward.")
@click.option("--hours", default=0.0, type=float, help="Hours to move forward.")
@click.option("--seconds", default=0, type=int, help="Seconds to move forward.")
@one_line_errors
def advance_command(rpc_url: str, network: str, days: float, hours: float, seconds: int) -> None:
    """Move a local chain's clock forward and mine a block (evm_increaseTime + evm_mine)."""
    total = int(days * 86_400 + hours * 3_600) + seconds
    if total <= 0:
        raise click.UsageError("say how far: --days, --hours and/or --seconds, in total above 0")
    w3 = connect(rpc_url)
    before = int(w3.eth.get_block("latest")["timestamp"])
    after = advance_time(w3, total)
    click.echo(f"moved the clock {span(after - before)} forward: block time now {utc(after)} (unix {after})")


@chain.command("wait")
@chain_options
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait at most.")
def wait_command(rpc_url: str, network: str, timeout: float) -> None:
    """Wait until the RPC answers (e.g. right after starting anvil in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            w3 = connect(rpc_url, timeout=2)
        except ChainConnectionError:
            if time.monotonic() > deadline:
                raise click.ClickException(f"nothing answered at {rpc_url} within {timeout:.0f} s") from None
            time.sleep(0.2)
            continue
        click.echo(f"chain {int(w3.eth.chain_id)} answers at {rpc_url}, block {int(w3.eth.block_number)}")
        return
