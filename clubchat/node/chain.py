"""A node's view of the chain: registration (check and `club node register`), heartbeats with the
node key, and a registry event cache that trails the head by a confirmation depth.

The node never calls the RPC per message. `RegistryCache` polls `eth_getLogs` for NodeRegistry's
events up to `head - depth` and keeps what they say (kinds, endpoints, credential endpoints, node
keys, last heartbeats, jails) in memory; when the RPC does not answer it keeps serving from the
cache and reports `rpc: "down"` with the last error in its status. The heartbeat loop sends
`heartbeat()` from the node key every third of `heartbeat_seconds`. All web3 calls run in worker
threads, each with the RPC timeout of clubchat.chain.connect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, to_checksum_address

log = logging.getLogger("clubchat.node.chain")

RELAY, TURN, NOTIFY = 1, 2, 4
TURN_CREDENTIAL = 8  # the registry keeps a TURN node's credential service as a pseudo-kind endpoint
KIND_BITS = {"relay": RELAY, "turn": TURN, "notify": NOTIFY}
TX_TIMEOUT = 30.0


class RegistrationError(RuntimeError):
    """The operator is not registered as this node says; the message says what to run."""


# ------------------------------------------------------------------------------------------------
# transactions
# ------------------------------------------------------------------------------------------------


def send_tx(w3: Any, account: LocalAccount, fn: Any, timeout: float = TX_TIMEOUT) -> Any:
    """Sign `fn` (a web3 contract function call) with `account`, send it, wait for success."""
    tx = fn.build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
    )
    # Headroom: the estimate runs on the latest block, the transaction in the next one, and
    # timestamp-keyed bookkeeping (vote checkpoints, epochs) can take a costlier path there.
    tx["gas"] = int(tx["gas"] * 1.3) + 30_000
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout
    )
    if receipt["status"] != 1:
        reason = "no reason given"
        try:  # replay it as a call on the parent block to learn the revert reason
            call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
            w3.eth.call(call, receipt["blockNumber"] - 1)
        except Exception as exc:
            reason = str(exc)[:200]
        used = f"gas {receipt['gasUsed']}/{tx.get('gas')}"
        raise RuntimeError(f"transaction {receipt['transactionHash'].hex()} reverted ({used}): {reason}")
    return receipt


@dataclass(frozen=True)
class Registration:
    """What an operator registers: kinds, endpoints per kind, TURN credential endpoint, node key."""

    kinds: int
    endpoints: dict[int, str]
    node_key: str
    credential_endpoint: str = ""
    region: str = "local"
    metadata_uri: str = ""
    commission_bps: int = 500


def register_node(
    w3: Any, registry: Any, token: Any, operator: LocalAccount, reg: Registration, stake_wei: int
) -> Any:
    """Approve the stake and register `operator` (its endpoints in increasing kind order)."""
    endpoints = [reg.endpoints[k] for k in (RELAY, TURN, NOTIFY) if reg.kinds & k]
    send_tx(w3, operator, token.functions.approve(registry.address, stake_wei))
    return send_tx(
        w3,
        operator,
        registry.functions.register(
            reg.kinds,
            to_checksum_address(reg.node_key),
            reg.region,
            reg.metadata_uri,
            endpoints,
            reg.credential_endpoint,
            reg.commission_bps,
            stake_wei,
        ),
    )


def check_registration(registry: Any, operator: str, reg: Registration) -> list[str]:
    """Differences between the chain and what this node serves (empty when they agree)."""
    problems = []
    op = to_checksum_address(operator)
    key = registry.functions.node_key(op).call()
    if int(key, 16) == 0:
        return [f"{op} is not registered; run `club node register` first"]
    if to_checksum_address(key) != to_checksum_address(reg.node_key):
        problems.append(f"node key on chain is {key}, this node signs with {reg.node_key}")
    for kind in (RELAY, TURN, NOTIFY):
        if reg.kinds & kind:
            on_chain = registry.functions.endpoint(op, kind).call()
            if on_chain != reg.endpoints[kind]:
                problems.append(
                    f"kind {kind} endpoint on chain is {on_chain!r}, this node serves {reg.endpoints[kind]!r}"
                )
    if reg.kinds & TURN:
        on_chain = registry.functions.credential_endpoint(op).call()
        if on_chain != reg.credential_endpoint:
            problems.append(
                f"credential endpoint on chain is {on_chain!r}, this node serves {reg.credential_endpoint!r}"
            )
    return problems


# ------------------------------------------------------------------------------------------------
# heartbeat
# ------------------------------------------------------------------------------------------------


@dataclass
class HeartbeatStatus:
    beats: int = 0
    last_ok: float | None = None
    last_error: str | None = None


async def heartbeat_loop(
    w3: Any, registry: Any, node_key: LocalAccount, status: HeartbeatStatus, interval: float | None = None
) -> None:
    """Beat now, then every `interval` s (default: a third of the registry's `heartbeat_seconds`)."""
    loop = asyncio.get_running_loop()
    if interval is None:
        seconds = await loop.run_in_executor(None, registry.functions.heartbeat_seconds().call)
        interval = max(1.0, int(seconds) / 3)  # three chances per window
    while True:
        try:
            await loop.run_in_executor(None, send_tx, w3, node_key, registry.functions.heartbeat())
            status.beats += 1
            status.last_ok = time.time()
            status.last_error = None
        except Exception as exc:  # RPC down, nonce race, revert: report and try again next round
            status.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("heartbeat failed: %s", status.last_error)
        await asyncio.sleep(interval)


# ------------------------------------------------------------------------------------------------
# registry event cache
# ------------------------------------------------------------------------------------------------


@dataclass
class CachedNode:
    kinds: int = 0
    node_key: str = ""
    endpoints: dict[int, str] = field(default_factory=dict)
    credential_endpoint: str = ""
    last_beat: int = 0
    jailed: bool = False


class RegistryCache:
    """NodeRegistry as its events describe it, `depth` blocks behind the head."""

    def __init__(self, w3: Any, registry: Any, from_block: int, depth: int = 2, poll: float = 1.0) -> None:
        self.w3 = w3
        self.registry = registry
        self.depth = depth
        self.poll = poll
        self.synced_block = from_block - 1
        self.nodes: dict[str, CachedNode] = {}
        self.rpc_ok = False
        self.last_error: str | None = None
        self.down_since: float | None = None
        self.events = 0
        self._by_topic = {
            event_abi_to_log_topic(abi): getattr(registry.events, abi["name"])()
            for abi in registry.abi
            if abi.get("type") == "event"
        }

    def status(self) -> dict[str, Any]:
        return {
            "rpc": "up" if self.rpc_ok else "down",
            "synced_block": self.synced_block,
            "depth": self.depth,
            "nodes": len(self.nodes),
            "events": self.events,
            "last_error": self.last_error,
            "serving_from_cache_since": self.down_since,
        }

    def sync_once(self) -> int:
        """Apply the events of confirmed blocks not yet seen; returns how many (blocking)."""
        head = int(self.w3.eth.block_number)
        target = head - self.depth
        applied = 0
        # Bound: chunks of 2,000 blocks up to the confirmed head.
        while self.synced_block < target:
            start = self.synced_block + 1
            end = min(target, start + 1_999)
            logs = self.w3.eth.get_logs(
                {"address": self.registry.address, "fromBlock": start, "toBlock": end}
            )
            for raw in logs:
                event = self._by_topic.get(bytes(raw["topics"][0]))
                if event is not None:
                    self._apply(event.process_log(raw))
                    applied += 1
            self.synced_block = end
        self.events += applied
        return applied

    def _apply(self, ev: Any) -> None:
        args = ev["args"]
        name = ev["event"]
        node = to_checksum_address(args["node"]) if "node" in args else None
        if node is None:
            return
        n = self.nodes.setdefault(node, CachedNode())
        if name == "NodeRegistered":
            n.kinds = int(args["kinds"])
            n.node_key = to_checksum_address(args["node_key"])
        elif name == "EndpointChanged" and int(args["kind"]) == TURN_CREDENTIAL:
            n.credential_endpoint = str(args["uri"])
        elif name == "EndpointChanged":
            n.endpoints[int(args["kind"])] = str(args["uri"])
        elif name == "CredentialEndpointChanged":  # older registry builds had a separate event
            n.credential_endpoint = str(args["uri"])
        elif name == "NodeKeyChanged":
            n.node_key = to_checksum_address(args["new_key"])
        elif name == "Heartbeat":
            n.last_beat = int(args["timestamp"])
        elif name == "Jailed":
            n.jailed = True
        elif name == "Unjailed":
            n.jailed = False

    async def run(self) -> None:
        """Follow the chain until cancelled; never raises on RPC failures."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.sync_once)
                if not self.rpc_ok:
                    log.info("registry cache: RPC reachable, synced to block %d", self.synced_block)
                self.rpc_ok = True
                self.down_since = None
                self.last_error = None
            except Exception as exc:  # any RPC failure: keep the cache, say so
                if self.rpc_ok or self.down_since is None:
                    self.down_since = time.time()
                    log.warning(
                        "registry cache: RPC unreachable, serving from cache at block %d", self.synced_block
                    )
                self.rpc_ok = False
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            await asyncio.sleep(self.poll)
