"""`club node status|stake|delegate|unbond|rebond|withdraw|claim|set-*|unjail|exit`: the operator lifecycle.

Each command is thin over `clubchat.node.operator` / `clubchat.registry`, sends as `--key` (or
`--key-file`, or CLUB_OPERATOR_KEY), prints one line with CLUB amounts and the transaction, and ends
in one sentence on any error a user can cause (`club --debug` for the traceback).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount
from rich.console import Console

from clubchat.amounts import format_club
from clubchat.chain.cli import chain_options, key_options, open_deployment, resolve_key
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address, ClubAmount, PrivateKey, check_endpoint, read_key_file
from clubchat.node import operator as op
from clubchat.registry import NodeRegistryClient, status_table
from clubchat.timefmt import when


def _sending(fn: Any) -> Any:
    """chain options + the operator's key + one-line errors, for a command that sends transactions."""
    fn = one_line_errors(fn)
    fn = key_options(
        envvar="CLUB_OPERATOR_KEY", who="the operator or delegator", aliases=("--operator-key",)
    )(fn)
    return chain_options(fn)


def _client(
    rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> NodeRegistryClient:
    account = resolve_key(key, key_file)
    w3, m = open_deployment(rpc_url, network)
    return NodeRegistryClient(w3, m, LocalSender(w3, account))


def _done(done: op.Done) -> None:
    click.echo(done.line())


@click.command("status")
@click.argument("node", type=Address())
@chain_options
@click.option("--of", "of", type=Address(), default=None, help="This account's shares and rewards.")
@one_line_errors
def status(node: str, rpc_url: str, network: str, of: str | None) -> None:
    """NODE's pool, commission schedule, unbonding queue and pending rewards."""
    w3, m = open_deployment(rpc_url, network)
    Console(width=None if sys.stdout.isatty() else 160).print(
        status_table(NodeRegistryClient(w3, m).status(node, of))
    )


@click.command("stake")
@click.argument("amount", type=ClubAmount())
@_sending
def stake(amount: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None) -> None:
    """Add AMOUNT CLUB of self-stake to your own node."""
    tx = _client(rpc_url, network, key, key_file).stake(amount)
    click.echo(f"staked {format_club(amount)} (tx {tx})")


@click.command("delegate")
@click.argument("node", type=Address())
@click.argument("amount", type=ClubAmount())
@_sending
def delegate(
    node: str, amount: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Delegate AMOUNT CLUB to NODE's pool."""
    tx = _client(rpc_url, network, key, key_file).delegate(node, amount)
    click.echo(f"delegated {format_club(amount)} to {node} (tx {tx})")


@click.command("unbond")
@click.argument("node", type=Address())
@click.option("--amount", "amount", type=ClubAmount(), default=None, help="CLUB to unbond (default: all).")
@click.option("--shares", type=int, default=None, help="Or a number of pool shares.")
@_sending
def unbond(
    node: str,
    amount: int | None,
    shares: int | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Start unbonding from NODE's pool: --amount CLUB, --shares N, or everything."""
    _done(op.unbond(_client(rpc_url, network, key, key_file), node, amount, shares))


@click.command("rebond")
@click.argument("entry_id", type=int)
@_sending
def rebond(
    entry_id: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Put unbonding entry ENTRY_ID back into its pool."""
    _done(op.rebond(_client(rpc_url, network, key, key_file), entry_id))


@click.command("withdraw")
@click.argument("entry_id", type=int, required=False)
@click.option("--all", "all_", is_flag=True, help="Every released entry.")
@_sending
def withdraw(
    entry_id: int | None,
    all_: bool,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Withdraw released unbonding entry ENTRY_ID, or --all of them."""
    client = _client(rpc_url, network, key, key_file)
    if all_ == (entry_id is not None):
        raise click.UsageError("give an ENTRY_ID or --all")
    if all_:
        _done(op.withdraw_all(client))
    else:
        assert entry_id is not None
        tx = client.withdraw(entry_id)
        click.echo(f"withdrew entry {entry_id} (tx {tx})")


@click.command("claim")
@click.argument("node", type=Address(), required=False)
@_sending
def claim(
    node: str | None, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Claim your rewards from NODE (default: your own node, commission included); prints what was paid."""
    client = _client(rpc_url, network, key, key_file)
    _done(op.claim(client, node or str(client._me().address)))


@click.command("set-commission")
@click.argument("bps", type=click.IntRange(0, 10_000))
@_sending
def set_commission(
    bps: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Schedule a commission change to BPS basis points (100 = 1 %); prints when it applies."""
    _done(op.set_commission(_client(rpc_url, network, key, key_file), bps))


@click.command("set-endpoint")
@click.argument("kind", type=click.Choice(sorted(op.ENDPOINT_KINDS)))
@click.argument("uri")
@_sending
def set_endpoint(
    kind: str, uri: str, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Replace the KIND endpoint (relay, turn, notify, or the TURN credential service) with URI."""
    try:
        check_endpoint(kind, uri)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint="URI") from None
    _done(op.set_endpoint(_client(rpc_url, network, key, key_file), kind, uri))


@click.command("set-node-key")
@click.option("--node-key", type=PrivateKey(), default=None, help="The new node key (hex private key).")
@click.option("--node-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@_sending
def set_node_key(
    node_key: LocalAccount | None,
    node_key_file: Path | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Rotate the node key that sends heartbeats (restart `club node run` with the new one)."""
    new = read_key_file(node_key_file) if node_key_file else node_key
    if new is None:
        raise click.UsageError("give the new node key: --node-key 0x… or --node-key-file PATH")
    client = _client(rpc_url, network, key, key_file)
    # The new key consents with its own transaction before the operator binds it.
    _done(op.set_node_key(client, new.address, LocalSender(client.w3, new)))


@click.command("set-metadata")
@click.option("--region", default="", help="Region code, e.g. eu-west (at most 16 characters).")
@click.option("--metadata-uri", default="", help="Operator metadata (name, contact, terms).")
@_sending
def set_metadata(
    region: str,
    metadata_uri: str,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Replace the region code and metadata URI."""
    if len(region.encode()) > 16:
        raise click.BadParameter("at most 16 bytes", param_hint="--region")
    _done(op.set_metadata(_client(rpc_url, network, key, key_file), region, metadata_uri))


@click.command("unjail")
@_sending
def unjail(rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None) -> None:
    """Release your node once its jail time is over."""
    _done(op.unjail(_client(rpc_url, network, key, key_file)))


@click.command("exit")
@_sending
def exit_(rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None) -> None:
    """Leave: unbond all of your own stake (withdraw it with `club node withdraw --all` once released)."""
    _done(op.exit_node(_client(rpc_url, network, key, key_file)))


@click.command("deregister")
@_sending
def deregister(rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None) -> None:
    """Leave for good after `exit`: free your node's slots and listing entry (withdraw entries later)."""
    _done(op.deregister(_client(rpc_url, network, key, key_file)))


@click.command("heartbeat")
@chain_options
@click.option(
    "--node-key", envvar="CLUB_NODE_KEY", type=PrivateKey(), default=None, help="The node key (hex)."
)
@click.option("--node-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@one_line_errors
def heartbeat(rpc_url: str, network: str, node_key: LocalAccount | None, node_key_file: Path | None) -> None:
    """Send one heartbeat with the node key now (`club node run` beats by itself; this checks the key)."""
    account = resolve_key(node_key, node_key_file)
    w3, m = open_deployment(rpc_url, network)
    client = NodeRegistryClient(w3, m, LocalSender(w3, account))
    tx = client.heartbeat()
    node = client.registry.functions.key_record(account.address).call()[0]
    live = client.node(node).live_until
    now = int(w3.eth.get_block("latest")["timestamp"])
    click.echo(f"heartbeat for {node}: live until {when(live, now)} (tx {tx})")


@click.command("approve-operator")
@click.argument("operator", type=Address())
@chain_options
@click.option(
    "--node-key", envvar="CLUB_NODE_KEY", type=PrivateKey(), default=None, help="The node key (hex)."
)
@click.option("--node-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@one_line_errors
def approve_operator(
    operator: str, rpc_url: str, network: str, node_key: LocalAccount | None, node_key_file: Path | None
) -> None:
    """Sent by the node key: let OPERATOR bind this key (`club node register` / `set-node-key`).

    Needed only when the operator registers with --node-key-address (without the key itself);
    given the node key, `register` and `set-node-key` send this approval themselves."""
    account = resolve_key(node_key, node_key_file)
    w3, m = open_deployment(rpc_url, network)
    _done(op.approve_operator(NodeRegistryClient(w3, m, LocalSender(w3, account)), operator))


@click.command("wait")
@click.argument("data_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait at most.")
def wait(data_dirs: tuple[Path, ...], timeout: float) -> None:
    """Wait until each node (by its --data-dir) is ready and, when on chain, has sent a heartbeat."""
    deadline = time.monotonic() + timeout
    for data_dir in data_dirs:
        while not _node_ready(data_dir / "status.json"):
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"the node of {data_dir} is not ready after {timeout:.0f} s; see its log and status.json"
                )
            time.sleep(0.25)
        click.echo(f"{data_dir}: ready")


def _node_ready(path: Path) -> bool:
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    chain = status.get("chain")
    return chain is None or int(chain.get("heartbeats", 0)) >= 1


COMMANDS = (
    heartbeat,
    wait,
    status,
    stake,
    delegate,
    unbond,
    rebond,
    withdraw,
    claim,
    set_commission,
    set_endpoint,
    set_node_key,
    approve_operator,
    set_metadata,
    unjail,
    exit_,
    deregister,
)


def attach_operator_commands(group: click.Group) -> None:
    """Add the lifecycle commands to `club node`."""
    for command in COMMANDS:
        group.add_command(command)
