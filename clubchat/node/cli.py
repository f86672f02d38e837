"""`club node run|register`: operate a Club Chat node."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

import click

from clubchat.node.relay import RelayConfig
from clubchat.node.runner import KINDS, Node, NodeConfig, turn_secret
from clubchat.node.turn import TurnConfig


@click.group("node")
def node() -> None:
    """Run and register Club Chat nodes (RELAY, TURN, NOTIFY)."""


def _kinds(value: str) -> frozenset[str]:
    kinds = frozenset(k.strip().lower() for k in value.split(",") if k.strip())
    bad = kinds - set(KINDS)
    if bad or not kinds:
        raise click.BadParameter(f"use a comma-separated subset of {', '.join(KINDS)}")
    return kinds


@node.command("run")
@click.option("--kinds", default="relay", show_default=True, help="Comma-separated: relay,turn,notify.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), required=True, help="Mailbox, coturn files, secrets."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, help="WebSocket port (0 = any free port).")
@click.option("--public-uri", default=None, help="Endpoint as registered on-chain (default ws://host:port).")
@click.option("--chain-id", default=31337, show_default=True, help="Chain id sign-ins must name.")
@click.option("--turn-port", default=3478, show_default=True)
@click.option("--turn-min-port", default=49160, show_default=True)
@click.option("--turn-max-port", default=49200, show_default=True)
@click.option(
    "--turn-secret", "secret", envvar="CLUB_TURN_SECRET", default=None, help="Static TURN REST secret."
)
@click.option(
    "--allow-loopback-peers", is_flag=True, help="Let coturn relay to 127.0.0.1 peers (tests only)."
)
@click.option("-v", "--verbose", is_flag=True)
def run(
    kinds: str,
    data_dir: Path,
    host: str,
    port: int,
    public_uri: str | None,
    chain_id: int,
    turn_port: int,
    turn_min_port: int,
    turn_max_port: int,
    secret: str | None,
    allow_loopback_peers: bool,
    verbose: bool,
) -> None:
    """Serve until SIGINT/SIGTERM; prints one JSON `ready` line with the endpoints."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    kind_set = _kinds(kinds)
    data_dir = data_dir.resolve()
    turn = None
    if "turn" in kind_set:
        turn = TurnConfig(
            data_dir=data_dir / "coturn",
            listen_ip=host,
            port=turn_port,
            min_port=turn_min_port,
            max_port=turn_max_port,
            secret=secret or turn_secret(data_dir),
            allow_loopback_peers=allow_loopback_peers,
        )
    config = NodeConfig(
        data_dir=data_dir,
        kinds=kind_set,
        relay=RelayConfig(host=host, port=port, public_uri=public_uri, chain_id=chain_id),
        turn=turn,
    )
    asyncio.run(_serve(Node(config)))


async def _serve(node: Node) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    try:
        click.echo(json.dumps({"event": "ready", **node.status()}), nl=True)
        sys.stdout.flush()
        await stop.wait()
    finally:
        await node.stop()
