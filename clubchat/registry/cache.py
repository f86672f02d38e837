"""A node's view of NodeRegistry: an event cache that trails the head by a confirmation depth.

The node never calls the RPC per message. `RegistryCache` polls `eth_getLogs` for NodeRegistry's
events up to `head - depth` and keeps what they say (kinds, endpoints, credential endpoints, node
keys, last heartbeats, jails) in memory; when the RPC does not answer it keeps serving from the
cache and reports `rpc: "down"` with the last error in its status. All web3 calls run in worker
threads, each with the RPC timeout of clubchat.chain.connect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address

from clubchat.chain.logs import log_chunks
from clubchat.registry.kinds import TURN_CREDENTIAL

log = logging.getLogger("clubchat.registry.cache")


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
        for end, logs in log_chunks(self.w3, self.registry.address, self.synced_block, target):
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
