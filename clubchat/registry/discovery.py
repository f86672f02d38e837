"""Finding nodes without a directory: a small `Discovery` protocol over NodeRegistry's views.

Two implementations: `RegistryDiscovery` reads the deployed NodeRegistry through web3.py and the
deployment manifest (one `eth_call` per view, no ape), `InMemoryDiscovery` holds the same data in a
dict for protocol-level tests. `rendezvous(discovery, address)` is where an address can be reached:
`sample(RELAY, keccak256(address), k)` — caller and callee compute it from chain state alone.

The registry re-draws every sampling epoch (weights frozen at the epoch start, a seed recorded
after it), so a rendezvous set holds for one sampling key (epoch, epoch seed) and changes at the
boundary and when the epoch's seed is recorded. Near a change the two sides may see different keys
(RPC lag, a refresh period, clock skew): for `OVERLAP_SECONDS` after a change the callee keeps
listening on the previous set too (`RendezvousWatch`), and a caller whose current set fails tries
the set of `OVERLAP_SECONDS` ago (`previous_rendezvous`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from eth_utils import keccak, to_canonical_address, to_checksum_address
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from clubchat.protocol.endpoints import is_valid_endpoint
from clubchat.registry.kinds import RELAY, TURN_CREDENTIAL

RENDEZVOUS_K = 2
# Seconds after a change of sampling key during which the previous rendezvous set stays in use.
# Covers the refresh period of listeners (REFRESH_SECONDS), RPC lag and clock skew with a wide margin.
OVERLAP_SECONDS = 900
REFRESH_SECONDS = 30


@dataclass(frozen=True)
class SamplingKey:
    """What a registry draw depends on besides the weights: the sampling epoch and its seed."""

    epoch: int
    seed: bytes


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

    def sampling_key(self) -> SamplingKey:
        """The sampling epoch and epoch seed `sample` uses now."""
        ...

    def sample_before(self, kind: int, seed: bytes, k: int, seconds: float) -> list[str]:
        """`sample` as the registry answered it `seconds` ago."""
        ...


def address_seed(address: str) -> bytes:
    """keccak256 of the 20 address bytes (Solidity's keccak256(abi.encodePacked(addr)))."""
    return bytes(keccak(to_canonical_address(address)))


def rendezvous(discovery: Discovery, address: str, k: int = RENDEZVOUS_K) -> list[str]:
    """Relay endpoints where `address` listens, in sampling order (invalid endpoints skipped)."""
    return _relay_endpoints(discovery, discovery.sample(RELAY, address_seed(address), k))


def _relay_endpoints(discovery: Discovery, nodes: list[str]) -> list[str]:
    """The RELAY endpoints of `nodes`, dropping any the registry should have refused (clients check
    endpoints read from the chain again)."""
    return [uri for node in nodes if is_valid_endpoint(RELAY, uri := discovery.endpoint(node, RELAY))]


def previous_rendezvous(
    discovery: Discovery, address: str, k: int = RENDEZVOUS_K, overlap: float = OVERLAP_SECONDS
) -> list[str]:
    """Caller side, after the current set failed: relay endpoints of `address` as of `overlap` s ago."""
    return _relay_endpoints(discovery, discovery.sample_before(RELAY, address_seed(address), k, overlap))


@dataclass
class RendezvousWatch:
    """Callee side: the relays to listen on — the current rendezvous set, plus each earlier set for
    `overlap` seconds after it was replaced (an earlier set seen at start counts as just replaced)."""

    discovery: Discovery
    address: str
    k: int = RENDEZVOUS_K
    overlap: float = OVERLAP_SECONDS
    clock: Callable[[], float] = time.time
    # (key, endpoints, time it was replaced; inf while current), oldest first.
    sets: list[tuple[SamplingKey | None, list[str], float]] = field(default_factory=list)

    def update(self) -> list[str]:
        """Re-reads the sampling key; returns every endpoint to listen on, current set first."""
        now = self.clock()
        key = self.discovery.sampling_key()
        if not self.sets:
            earlier = previous_rendezvous(self.discovery, self.address, self.k, self.overlap)
            self.sets.append((None, earlier, now))
        if self.sets[-1][0] != key:
            last_key, last_set, _ = self.sets[-1]
            if last_key is not None:
                self.sets[-1] = (last_key, last_set, now)
            self.sets.append((key, rendezvous(self.discovery, self.address, self.k), math.inf))
        self.sets = [s for s in self.sets if s[2] == math.inf or now - s[2] <= self.overlap]
        listen: list[str] = []
        for _, uris, _ in reversed(self.sets):
            listen += [u for u in uris if u not in listen]
        return listen


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
    """A registry in a dict: weighted sampling without replacement seeded like the contract's (the
    caller's seed mixed with the epoch seed; `new_epoch` re-draws and remembers the old state)."""

    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    key: SamplingKey = SamplingKey(0, bytes(32))
    clock: Callable[[], float] = time.time
    # The state before the last `new_epoch` and when it was replaced.
    previous: tuple[SamplingKey, dict[str, NodeRecord], float] | None = None

    def register(self, operator: str, record: NodeRecord) -> None:
        self.nodes[to_checksum_address(operator)] = record

    def new_epoch(self, seed: bytes) -> None:
        """The next sampling epoch begins with `seed` (what the registry's boundary and record do)."""
        self.previous = (self.key, {a: replace(n) for a, n in self.nodes.items()}, self.clock())
        self.key = SamplingKey(self.key.epoch + 1, seed)

    def sampling_key(self) -> SamplingKey:
        return self.key

    def sample_before(self, kind: int, seed: bytes, k: int, seconds: float) -> list[str]:
        if self.previous is None or self.clock() - self.previous[2] > seconds:
            return self.sample(kind, seed, k)
        key, nodes, _ = self.previous
        return _draw(nodes, key, kind, seed, k)

    def sample(self, kind: int, seed: bytes, k: int) -> list[str]:
        return _draw(self.nodes, self.key, kind, seed, k)

    def endpoint(self, node: str, kind: int) -> str:
        return self.nodes[to_checksum_address(node)].endpoints.get(kind, "")

    def node_key(self, node: str) -> str:
        return self.nodes[to_checksum_address(node)].node_key

    def credential_endpoint(self, node: str) -> str:
        return self.nodes[to_checksum_address(node)].credential_endpoint


def _draw(nodes: dict[str, NodeRecord], key: SamplingKey, kind: int, seed: bytes, k: int) -> list[str]:
    """The registry's draw over `nodes`: keccak(keccak(epoch seed, seed), i) % remaining weight."""
    mixed = keccak(key.seed + seed)
    pool = [(a, n.stake) for a, n in nodes.items() if n.kinds & kind and n.live and n.stake > 0]
    out: list[str] = []
    # Bound: at most k draws, each removes one node from the pool.
    for i in range(min(k, len(pool))):
        total = sum(w for _, w in pool)
        point = int.from_bytes(keccak(mixed + i.to_bytes(32, "big")), "big") % total
        for j, (addr, w) in enumerate(pool):
            if point < w:
                out.append(addr)
                del pool[j]
                break
            point -= w
    return out


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
        return str(self.contract.functions.endpoint(to_checksum_address(node), TURN_CREDENTIAL).call())

    def sampling_key(self, block: int | str = "latest") -> SamplingKey:
        fns = self.contract.functions
        seed, _ = fns.epoch_seed().call(block_identifier=block)
        return SamplingKey(int(fns.sampling_epoch().call(block_identifier=block)), bytes(seed))

    def sample_before(self, kind: int, seed: bytes, k: int, seconds: float) -> list[str]:
        block = self._block_at(int(self.contract.w3.eth.get_block("latest")["timestamp"] - seconds))
        try:
            if self.sampling_key(block) == self.sampling_key():
                return self.sample(kind, seed, k)  # nothing changed since: the same draw
            got = self.contract.functions.sample(kind, seed, k).call(block_identifier=block)
        except (ContractLogicError, BadFunctionCallOutput):
            return self.sample(kind, seed, k)  # the registry did not exist yet then
        return [to_checksum_address(a) for a in got]

    def _block_at(self, timestamp: int) -> int:
        """The last block whose timestamp is <= `timestamp` (0 when none): a backward exponential
        search, then a binary search, i.e. O(log(blocks since then)) header reads."""
        eth = self.contract.w3.eth
        hi = int(eth.block_number)
        step, lo = 1, hi
        # Bound: the step doubles until it passes block 0.
        while lo > 0 and int(eth.get_block(lo)["timestamp"]) > timestamp:
            hi, lo, step = lo, max(lo - step, 0), step * 2
        if int(eth.get_block(lo)["timestamp"]) > timestamp:
            return 0
        # Invariant: block lo is at or before `timestamp`, block hi after it (or hi == lo).
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if int(eth.get_block(mid)["timestamp"]) <= timestamp:
                lo = mid
            else:
                hi = mid
        return lo
