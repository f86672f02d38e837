"""Finding nodes without a directory: a small `Discovery` protocol over NodeRegistry's views.

Two implementations: `RegistryDiscovery` reads the deployed NodeRegistry through web3.py and the
deployment manifest (one `eth_call` per view, no ape), `InMemoryDiscovery` holds the same data in a
dict for protocol-level tests. `rendezvous(discovery, address)` is where an address can be reached:
`sample(RELAY, keccak256(address), k)` — caller and callee compute it from chain state alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_utils import keccak, to_canonical_address, to_checksum_address

from clubchat.protocol.endpoints import is_valid_endpoint

RELAY, TURN, NOTIFY = 1, 2, 4
KIND_NAMES = {"relay": RELAY, "turn": TURN, "notify": NOTIFY}
RENDEZVOUS_K = 2


class Discovery(Protocol):
    """The registry views a client needs (addresses are EIP-55 strings, seeds 32 bytes)."""

    def sample(self, kind: int, seed: bytes, k: int) -> list[str]:
        """Up to k distinct live nodes of `kind`, stake-weighted, deterministic for `seed`."""
        ...

    def endpoint(self, node: str, kind: int) -> str:
        """The node's URI for `kind` (ws(s):// relay, turn: server, http(s):// notify)."""
        ...

    def node_key(self, node: str) -> str:
        """The node's hot key (heartbeats)."""
        ...

    def credential_endpoint(self, node: str) -> str:
        """A TURN node's credential service (http(s)://)."""
        ...


def address_seed(address: str) -> bytes:
    """keccak256 of the 20 address bytes (Solidity's keccak256(abi.encodePacked(addr)))."""
    return bytes(keccak(to_canonical_address(address)))


def rendezvous(discovery: Discovery, address: str, k: int = RENDEZVOUS_K) -> list[str]:
    """Relay endpoints where `address` listens, in sampling order (invalid endpoints skipped)."""
    nodes = discovery.sample(RELAY, address_seed(address), k)
    return [uri for node in nodes if is_valid_endpoint(RELAY, uri := discovery.endpoint(node, RELAY))]


def websocket_uri(uri: str) -> str:
    """A node's http(s):// endpoint as the ws(s):// URI of the same server (NOTIFY endpoints)."""
    if uri.startswith("http"):
        return "ws" + uri.removeprefix("http")
    return uri


@dataclass
class NodeRecord:
    """One registered node, as the in-memory registry keeps it."""

    kinds: int
    endpoints: dict[int, str]
    node_key: str
    stake: int = 1
    credential_endpoint: str = ""
    live: bool = True


@dataclass
class InMemoryDiscovery:
    """A registry in a dict: weighted sampling without replacement seeded like the contract's."""

    nodes: dict[str, NodeRecord] = field(default_factory=dict)

    def register(self, operator: str, record: NodeRecord) -> None:
        self.nodes[to_checksum_address(operator)] = record

    def sample(self, kind: int, seed: bytes, k: int) -> list[str]:
        pool = [(a, n.stake) for a, n in self.nodes.items() if n.kinds & kind and n.live and n.stake > 0]
        out: list[str] = []
        # Bound: at most k draws, each removes one node from the pool.
        for i in range(min(k, len(pool))):
            total = sum(w for _, w in pool)
            point = int.from_bytes(keccak(seed + i.to_bytes(32, "big")), "big") % total
            for j, (addr, w) in enumerate(pool):
                if point < w:
                    out.append(addr)
                    del pool[j]
                    break
                point -= w
        return out

    def endpoint(self, node: str, kind: int) -> str:
        return self.nodes[to_checksum_address(node)].endpoints.get(kind, "")

    def node_key(self, node: str) -> str:
        return self.nodes[to_checksum_address(node)].node_key

    def credential_endpoint(self, node: str) -> str:
        return self.nodes[to_checksum_address(node)].credential_endpoint


class RegistryDiscovery:
    """Discovery through the deployed NodeRegistry (web3.py + the deployment manifest)."""

    def __init__(self, w3: Any, manifest: Any, name: str = "NodeRegistry") -> None:
        self.contract = manifest.contract(w3, name)

    def sample(self, kind: int, seed: bytes, k: int) -> list[str]:
        return [to_checksum_address(a) for a in self.contract.functions.sample(kind, seed, k).call()]

    def endpoint(self, node: str, kind: int) -> str:
        return str(self.contract.functions.endpoint(to_checksum_address(node), kind).call())

    def node_key(self, node: str) -> str:
        return to_checksum_address(self.contract.functions.node_key(to_checksum_address(node)).call())

    def credential_endpoint(self, node: str) -> str:
        return str(self.contract.functions.credential_endpoint(to_checksum_address(node)).call())
