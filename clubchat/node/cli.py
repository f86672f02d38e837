"""`club node run|register`: operate a Club Chat node."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from clubchat.amounts import format_club, format_eth
from clubchat.chain.cli import chain_options, chain_options_as, key_options, open_deployment, resolve_key
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address, ClubAmount, PrivateKey, check_endpoint, parse_key, read_key_file
from clubchat.node.eip1271 import Eip1271Verifier
from clubchat.node.keybundles import Replicator
from clubchat.node.limits import tune_gc
from clubchat.node.mailbox import MailboxLimits
from clubchat.node.notify import NodeAds, ads_run_options, for_node
from clubchat.node.operator_cli import attach_operator_commands
from clubchat.node.relay import RelayConfig
from clubchat.node.relay_log import LogSigner, RelayLogError
from clubchat.node.reviewer import Reviewer, probe_command
from clubchat.node.rooms import ChainFeed, enable_rooms, open_feed
from clubchat.node.runner import KINDS, Node, NodeConfig, turn_secret
from clubchat.node.turn import TurnConfig
from clubchat.registry import (
    KIND_NAMES,
    NOTIFY,
    RELAY,
    TURN,
    HeartbeatStatus,
    NodeRegistryClient,
    Registration,
    RegistryCache,
    RegistryDiscovery,
    check_registration,
    heartbeat_loop,
)


@click.group("node")
def node() -> None:
    """Run and register Club Chat nodes (RELAY, TURN, NOTIFY)."""


def _kinds(value: str) -> frozenset[str]:
    kinds = frozenset(k.strip().lower() for k in value.split(",") if k.strip())
    bad = kinds - set(KINDS)
    if bad or not kinds:
        raise click.BadParameter(f"use a comma-separated subset of {', '.join(KINDS)}")
    return kinds


_chain_options = chain_options_as(
    "rpc", "manifest", None, "JSON-RPC URL (or CLUB_RPC_URL); without it the node runs off-chain."
)


# Gas of one heartbeat, rounded up (bench/results/registry_gas.md measures ~45-60k).
HEARTBEAT_GAS = 80_000
REGISTRATION_HINT = (
    "; change the registration with `club node set-endpoint KIND URI` / `club node set-node-key`, "
    "or serve what is registered (--public-uri for the relay, --public-turn-uri for TURN)"
)


def _operator_run_options(fn: Any) -> Any:
    """Options of `club node run` for operators on a public host (kept apart from the others)."""
    fn = click.option(
        "--node-key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="File whose first line is the node key (instead of --node-key).",
    )(fn)
    fn = click.option(
        "--public-turn-uri",
        default=None,
        help="TURN URI as registered (e.g. turn:turn.example:3478?transport=udp) when coturn binds "
        "another address locally (--host/--turn-port).",
    )(fn)
    return fn


def _node_key(node_key: str | None, node_key_file: Path | None, needed_by: str = "--rpc-url") -> LocalAccount:
    if node_key and node_key_file:
        raise click.UsageError("give --node-key or --node-key-file, not both")
    if node_key_file is not None:
        return read_key_file(node_key_file)
    if not node_key:
        raise click.UsageError(f"{needed_by} needs --node-key (or --node-key-file, or CLUB_NODE_KEY)")
    try:
        return parse_key(node_key)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint="--node-key") from None


@node.command("run")
@click.option("--kinds", default="relay", show_default=True, help="Comma-separated: relay,turn,notify.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), required=True, help="Mailbox, coturn files, secrets."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, help="WebSocket port (0 = any free port).")
@click.option("--public-uri", default=None, help="Endpoint as registered on-chain (default ws://host:port).")
@click.option(
    "--chain-id", default=None, type=int, help="Chain id sign-ins must name (default: the RPC's, else 31337)."
)
@click.option("--turn-port", default=3478, show_default=True)
@click.option("--turn-min-port", default=49160, show_default=True)
@click.option("--turn-max-port", default=50159, show_default=True)
@click.option(
    "--turn-user-quota", default=4, show_default=True, help="Concurrent TURN allocations per credential."
)
@click.option(
    "--turn-total-quota",
    default=None,
    type=int,
    help="Concurrent TURN allocations in total [default: ports/2].",
)
@click.option(
    "--mailbox-max-mb", default=1024, show_default=True, help="MiB of stored offline messages, all senders."
)
@click.option(
    "--mailbox-retention-days",
    default=7.0,
    show_default=True,
    help="Days an unread offline message is kept.",
)
@click.option(
    "--mailbox-min-free-mb",
    default=128,
    show_default=True,
    help="Refuse stores below this much free disk (MiB).",
)
@click.option(
    "--turn-secret", "secret", envvar="CLUB_TURN_SECRET", default=None, help="Static TURN REST secret."
)
@click.option(
    "--allow-loopback-peers",
    is_flag=True,
    help="Let coturn relay to loopback peers (automatic on a loopback host; refused elsewhere).",
)
@_chain_options
@click.option("--operator", default=None, help="Operator address this node serves (with --rpc).")
@click.option(
    "--node-key", envvar="CLUB_NODE_KEY", default=None, help="Node key (hex private key) for heartbeats."
)
@click.option(
    "--confirmations", default=2, show_default=True, help="Blocks the registry cache trails the head."
)
@click.option(
    "--max-connections",
    default=RelayConfig.max_connections,
    show_default=True,
    help="Open relay connections at most (also kept below the fd limit).",
)
@click.option(
    "--max-pre-auth-per-ip",
    default=RelayConfig.max_pre_auth_per_ip,
    show_default=True,
    help="Connections of one IP (IPv6: /64) not signed in yet.",
)
@click.option(
    "--per-ip-exempt",
    multiple=True,
    help="Client network without per-IP limits (a reverse proxy's address); repeatable.",
)
@click.option(
    "--buffer-budget-mib",
    default=RelayConfig.max_buffered_total // 2**20,
    show_default=True,
    help="Unsent envelope bytes of all connections together, MiB.",
)
@click.option(
    "--forward-rate-per-ip",
    default=RelayConfig.forward_rate_per_ip,
    show_default=True,
    help="Envelopes per second one client IP may send through this node (then it waits).",
)
@click.option(
    "--forward-rate-global",
    default=RelayConfig.forward_rate_global,
    show_default=True,
    help="Envelopes per second through this node; past it the heaviest IPs wait.",
)
@click.option(
    "--disputes",
    default=None,
    help="Disputes contract address for signed relay history [default: the manifest's Disputes].",
)
@click.option(
    "--relay-log/--no-relay-log",
    default=None,
    help="Sign relay history with the node key [default: on when there is a Disputes address].",
)
@click.option("-v", "--verbose", is_flag=True)
@_operator_run_options
@ads_run_options
@one_line_errors
def run(
    kinds: str,
    data_dir: Path,
    host: str,
    port: int,
    public_uri: str | None,
    chain_id: int | None,
    turn_port: int,
    turn_min_port: int,
    turn_max_port: int,
    turn_user_quota: int,
    turn_total_quota: int | None,
    mailbox_max_mb: int,
    mailbox_retention_days: float,
    mailbox_min_free_mb: int,
    secret: str | None,
    allow_loopback_peers: bool,
    rpc: str | None,
    manifest: str,
    operator: str | None,
    node_key: str | None,
    confirmations: int,
    max_connections: int,
    max_pre_auth_per_ip: int,
    per_ip_exempt: tuple[str, ...],
    buffer_budget_mib: int,
    forward_rate_per_ip: float,
    forward_rate_global: float,
    disputes: str | None,
    relay_log: bool | None,
    verbose: bool,
    public_turn_uri: str | None,
    node_key_file: Path | None,
    ads_settle_min_wei: int | None,
    ads_fetch_http: bool,
    ads_repeat_every: float,
) -> None:
    """Serve until SIGINT/SIGTERM; prints one JSON `ready` line with the endpoints.

    With --rpc, the node first checks that --operator is registered with exactly these endpoints
    and the --node-key's address, then heartbeats and follows the registry (status in
    <data-dir>/status.json, refreshed every 2 s).
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    kind_set = _kinds(kinds)
    data_dir = data_dir.resolve()
    chain: ChainLink | None = None
    if public_turn_uri:
        try:
            check_endpoint("turn", public_turn_uri)
        except click.BadParameter as exc:
            raise click.BadParameter(exc.message, param_hint="--public-turn-uri") from None
    if rpc:
        hot_key = _node_key(node_key, node_key_file)
        if not operator:
            raise click.UsageError("--rpc-url needs --operator (the registered operator's address)")
        operator = Address().convert(operator, None, None)
        chain = ChainLink.open(rpc, manifest, operator, hot_key, confirmations)
        chain.public_turn_uri = public_turn_uri
        chain.ads_options = (ads_settle_min_wei, ads_fetch_http, ads_repeat_every)
        chain_id = chain_id or chain.chain_id
        warning = chain.gas_warning()
        if warning:
            click.echo(f"warning: {warning}", err=True)
    try:  # out-of-range limits are a usage error, not a traceback
        limits = MailboxLimits(
            total_bytes=mailbox_max_mb * 2**20,
            retention=int(mailbox_retention_days * 86_400),
            min_free_disk=mailbox_min_free_mb * 2**20,
        )
        turn = None
        if "turn" in kind_set:
            turn = TurnConfig(
                data_dir=data_dir / "coturn",
                listen_ip=host,
                port=turn_port,
                min_port=turn_min_port,
                max_port=turn_max_port,
                user_quota=turn_user_quota,
                total_quota=turn_total_quota,
                secret=secret or turn_secret(data_dir),
                allow_loopback_peers=allow_loopback_peers,
            )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    log_signer = _log_signer(relay_log, disputes, chain, operator, node_key, node_key_file, chain_id or 31337)
    try:  # e.g. loopback TURN peers asked for on a public host
        config = NodeConfig(
            data_dir=data_dir,
            kinds=kind_set,
            relay=RelayConfig(
                host=host,
                port=port,
                public_uri=public_uri,
                chain_id=chain_id or 31337,
                max_connections=max_connections,
                max_pre_auth_per_ip=max_pre_auth_per_ip,
                per_ip_exempt=per_ip_exempt,
                max_buffered_total=buffer_budget_mib * 2**20,
                forward_rate_per_ip=forward_rate_per_ip,
                forward_burst_per_ip=4 * forward_rate_per_ip,
                forward_rate_global=forward_rate_global,
                forward_burst_global=forward_rate_global / 5,
            ),
            turn=turn,
            mailbox=limits,
            log=log_signer,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    verifier = Eip1271Verifier(chain.w3) if chain is not None else None  # contract-wallet sign-ins
    try:
        asyncio.run(_serve(Node(config, verifier=verifier), chain))
    finally:
        if verifier is not None:
            verifier.close()  # its own thread pool: drop queued checks


def _log_signer(
    wanted: bool | None,
    disputes: str | None,
    chain: ChainLink | None,
    operator: str | None,
    node_key: str | None,
    node_key_file: Path | None,
    chain_id: int,
) -> LogSigner | None:
    """Who signs the relay history, or None when it is off. On by default when a Disputes address is
    known (--disputes, or the manifest's with --rpc); --relay-log without one is an error."""
    if wanted is False:
        return None
    address = disputes
    if address is None and chain is not None:
        address = chain.disputes
    if address is None:
        if wanted:
            raise click.UsageError(str(RelayLogError.no_disputes()))
        if chain is not None:
            click.echo(f"warning: signed relay history is off: {RelayLogError.no_disputes()}", err=True)
        return None
    address = Address().convert(address, None, None)
    if chain is not None:
        key: LocalAccount = chain.key
        operator = chain.operator
    else:
        if not operator:
            raise click.UsageError("signed relay history needs --operator (the address entries name)")
        operator = Address().convert(operator, None, None)
        key = _node_key(node_key, node_key_file, "signed relay history")
    return LogSigner.create(operator, bytes(key.key), chain_id, address)


class ChainLink:
    """What `club node run --rpc` needs: web3, the registry, the operator and the node key."""

    def __init__(self, w3: Any, registry: Any, operator: str, key: Any, from_block: int, depth: int) -> None:
        self.w3, self.registry, self.operator, self.key = w3, registry, operator, key
        self.chain_id = int(w3.eth.chain_id)
        self.cache = RegistryCache(w3, registry, from_block, depth)
        self.beats = HeartbeatStatus()
        self.disputes: str | None = None  # the manifest's Disputes contract, when it has one
        self.reviewer: Reviewer | None = None  # reviews disputes when the manifest has Disputes
        self.manifest: Any = None

    public_turn_uri: str | None = None  # the TURN URI as registered, when coturn binds another address
    ads_options: tuple[int | None, bool, float] = (
        None,
        False,
        86_400.0,
    )  # --ads-settle-min, -fetch-http, -repeat-every
    rooms: ChainFeed | None = None  # Communities + Premium events, when the deployment has them

    @classmethod
    def open(cls, rpc: str, manifest: str, operator: str, node_key: LocalAccount, depth: int) -> ChainLink:
        w3, m = open_deployment(rpc, manifest)
        link = cls(w3, m.contract(w3, "NodeRegistry"), operator, node_key, m.block, depth)
        if "Disputes" in m.contracts:
            link.disputes = m.address("Disputes")
        link.manifest = m
        link.rooms = open_feed(w3, m, depth)  # community rooms (clubchat.node.rooms)
        return link

    def gas_warning(self) -> str | None:
        """A sentence naming the node key and the ETH to send when it cannot pay for a day of heartbeats."""
        balance = int(self.w3.eth.get_balance(self.key.address))
        period = max(1, int(self.registry.functions.heartbeat_seconds().call()))
        beats_a_day = 3 * 86_400 // period + 1  # a heartbeat every third of the period
        fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0)) * 2 + 10**9
        need = beats_a_day * HEARTBEAT_GAS * fee
        if balance >= need:
            return None
        return (
            f"node key {self.key.address} holds {format_eth(balance)}, less than a day of heartbeats "
            f"(about {format_eth(need)}); send it ETH (on a local chain: "
            f"`club chain fund {self.key.address} --eth 1`)"
        )

    def registration(self, node: Node) -> Registration:
        assert node.relay is not None
        kinds = node.config.kinds
        bits = sum(KIND_NAMES[k] for k in kinds)
        uri = node.relay.uri
        endpoints = {}
        if "relay" in kinds:
            endpoints[RELAY] = uri
        if "notify" in kinds:
            endpoints[NOTIFY] = websocket_to_http(uri)
        cred = ""
        if "turn" in kinds:
            assert node.coturn is not None
            endpoints[TURN] = self.public_turn_uri or node.coturn.config.uri
            cred = node.relay.credential_uri
        return Registration(bits, endpoints, self.key.address, cred)

    def status(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "heartbeats": self.beats.beats,
            "last_heartbeat": self.beats.last_ok,
            "heartbeat_error": self.beats.last_error,
            "registry_cache": self.cache.status(),
            **({"rooms": self.rooms.status()} if self.rooms is not None else {}),
            **({"reviewer": self.reviewer.status()} if self.reviewer is not None else {}),
        }


def websocket_to_http(uri: str) -> str:
    return "http" + uri.removeprefix("ws")


async def _serve(node: Node, chain: ChainLink | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    tasks: list[asyncio.Task[None]] = []
    ads: NodeAds | None = None
    try:
        if chain is not None:
            reg = chain.registration(node)
            problems = await loop.run_in_executor(
                None, check_registration, chain.registry, chain.operator, reg
            )
            if problems:
                raise click.ClickException("; ".join(problems) + REGISTRATION_HINT)
            tasks.append(
                asyncio.create_task(heartbeat_loop(chain.w3, chain.registry, chain.key, chain.beats))
            )
            tasks.append(asyncio.create_task(chain.cache.run()))
            ads = for_node(chain.w3, chain.manifest, node.config.data_dir, "notify" in node.config.kinds,
                           chain.operator, chain.key, chain.cache.depth, *chain.ads_options)  # fmt: skip
            if ads is not None and node.relay is not None:  # clubchat.node.notify: requests, delivery
                await ads.start(node.relay)
            if chain.rooms is not None and node.relay is not None:
                enable_rooms(node.relay, chain.rooms)
                tasks.append(asyncio.create_task(chain.rooms.run()))
            if node.relay is not None:  # key bundles published here go to the other rendezvous relays
                discovery = RegistryDiscovery(chain.w3, chain.manifest)
                tasks.append(asyncio.create_task(Replicator.attach(node.relay, discovery).run()))
            if chain.disputes is not None:  # the node reviews the disputes it is drawn for
                link = chain
                chain.reviewer = Reviewer(
                    chain.w3,
                    chain.manifest,
                    chain.operator,
                    chain.key,
                    node.config.data_dir,
                    may_send=lambda: link.beats.beats > 0,  # after the first heartbeat (one key)
                )
                tasks.append(asyncio.create_task(chain.reviewer.run()))

        def status() -> dict[str, Any]:
            out = node.status()
            if chain is not None:
                out["chain"] = chain.status()
            if ads is not None:
                out["ads"] = ads.status()
            return out

        tune_gc()  # start-up done: freeze its heap, space out full collections
        click.echo(json.dumps({"event": "ready", **status()}), nl=True)
        sys.stdout.flush()
        path = node.config.data_dir / "status.json"
        while not stop.is_set():
            try:  # a failed status write (e.g. EMFILE under a flood) must never end the server
                path.write_text(json.dumps(status(), indent=2, default=str) + "\n")
            except OSError as exc:
                logging.getLogger("clubchat.node").warning("status.json not written: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
    finally:
        for t in tasks:
            t.cancel()
        if ads is not None:
            await ads.stop()
        await node.stop()


@node.command("register")
@chain_options
@key_options(envvar="CLUB_OPERATOR_KEY", who="the operator (pays the stake)", aliases=("--operator-key",))
@click.option(
    "--node-key",
    "node_key",
    envvar="CLUB_NODE_KEY",
    type=PrivateKey(),
    default=None,
    help="The node's hot key (hex private key, as `club node run` takes it); or CLUB_NODE_KEY.",
)
@click.option("--node-key-address", type=Address(), default=None, help="Or only the node key's address.")
@click.option("--kinds", default="relay", show_default=True, help="Comma-separated: relay,turn,notify.")
@click.option(
    "--relay-uri", "--relay", "relay_uri", default=None, help="wss:// (ws://127.0.0.1:… on loopback)"
)
@click.option("--turn-uri", "--turn", "turn_uri", default=None, help="turn:host:port?transport=udp")
@click.option(
    "--credential-uri",
    "--credential-endpoint",
    "credential_uri",
    default=None,
    help="https://host:port/turn-credentials (http://127.0.0.1:… on loopback)",
)
@click.option(
    "--notify-uri", "--notify", "notify_uri", default=None, help="https:// (http://127.0.0.1:… on loopback)"
)
@click.option(
    "--stake", "stake_wei", type=ClubAmount(), required=True, help="Self-stake in CLUB, e.g. 20000."
)
@click.option("--commission-bps", "--commission", "commission_bps", default=500, show_default=True)
@click.option("--region", default="local", show_default=True)
@click.option("--metadata-uri", default="", help="Operator metadata (name, contact, terms).")
@one_line_errors
def register(
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
    node_key: LocalAccount | None,
    node_key_address: str | None,
    kinds: str,
    relay_uri: str | None,
    turn_uri: str | None,
    credential_uri: str | None,
    notify_uri: str | None,
    stake_wei: int,
    commission_bps: int,
    region: str,
    metadata_uri: str,
) -> None:
    """Approve the stake and register this operator's node in NodeRegistry (endpoints checked first)."""
    operator = resolve_key(key, key_file)
    if (node_key is None) == (node_key_address is None):
        raise click.UsageError("give the node key: --node-key 0x<private key> (or --node-key-address 0x…)")
    key_address = node_key.address if node_key is not None else str(node_key_address)
    kind_set = _kinds(kinds)
    given = {"relay": relay_uri, "turn": turn_uri, "notify": notify_uri}
    missing = [k for k in kind_set if not given[k]] + (
        ["credential"] if "turn" in kind_set and not credential_uri else []
    )
    if missing:
        raise click.UsageError(f"give --{'-uri, --'.join(missing)}-uri for the declared kinds")
    for k in kind_set:
        check_endpoint(k, str(given[k]))
    if "turn" in kind_set:
        check_endpoint("credential", str(credential_uri))
    w3, m = open_deployment(rpc_url, network)
    reg = Registration(
        kinds=sum(KIND_NAMES[k] for k in kind_set),
        endpoints={KIND_NAMES[k]: str(given[k]) for k in kind_set},
        node_key=key_address,
        credential_endpoint=credential_uri or "",
        region=region,
        metadata_uri=metadata_uri,
        commission_bps=commission_bps,
    )
    client = NodeRegistryClient(w3, m, LocalSender(w3, operator))
    if client.node(operator.address).kinds != 0:
        raise click.ClickException(
            f"{operator.address} is already registered; change it with `club node set-endpoint`, "
            "`set-node-key`, `set-metadata`, `set-commission` or `stake` (see `club node status`)"
        )
    # The node key consents with its own transaction (given its private key; with only its address
    # it must have sent `club node approve-operator` already).
    tx = client.register(reg, stake_wei, LocalSender(w3, node_key) if node_key is not None else None)
    click.echo(
        json.dumps(
            {
                "event": "registered",
                "operator": operator.address,
                "node_key": key_address,
                "kinds": sorted(kind_set),
                "stake": format_club(stake_wei),
                "tx": tx,
            }
        )
    )


attach_operator_commands(node)
node.add_command(probe_command)
