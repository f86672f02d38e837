"""Merkle allowlists in OpenZeppelin `StandardMerkleTree` format, leaf encoding ["address"].

`Communities.join_with_proof` accepts the roots this builds and the roots of OpenZeppelin's
`@openzeppelin/merkle-tree` unchanged (tests/unit/communities/test_merkle_builder.py builds
both from the same addresses and compares root, tree, and every proof). The format:

- leaf = keccak256(keccak256(abi.encode(address))): double-hashed, so the 64-byte
  concatenation of two inner nodes can never be presented as a leaf (second preimage);
- leaves sorted by hash; the tree is the complete binary tree in an array, leaves at the end
  (`tree[len - 1 - i]` is the i-th sorted leaf), each inner node the keccak of its children
  sorted as bytes (the pair order snekmate's `merkle_proof_verification` expects).

`dump()` / `load_dump()` read and write OpenZeppelin's JSON dump (`format: standard-v1`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Crypto.Hash import keccak as _keccak_mod
from eth_utils import is_address, to_checksum_address

FORMAT = "standard-v1"
_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
LEAF_ENCODING = ["address"]


class MerkleError(ValueError):
    """The address list or tree dump cannot be used; the message says what to fix."""


def normalise(address: str) -> str:
    """A hex address as the tree keeps it: lower case, unless given mixed case, which must then be
    a valid checksum (kept as given, as OpenZeppelin keeps its input)."""
    if not isinstance(address, str) or not _HEX_ADDRESS.match(address):
        raise MerkleError(f"{address!r} is not an address")
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return "0x" + body.lower()
    if address != to_checksum_address(address):
        raise MerkleError(f"{address!r} has a wrong checksum")
    return address


def _keccak(data: bytes) -> bytes:
    # pycryptodome directly (eth-hash's own backend): ~3x faster than eth_utils.keccak per call,
    # which matters for million-leaf trees.
    return _keccak_mod.new(data=data, digest_bits=256).digest()


def _leaf(address: str) -> bytes:
    """The leaf of an address already known to be 0x + 40 hex digits."""
    return _keccak(_keccak(bytes(12) + bytes.fromhex(address[2:])))


def leaf_hash(address: str) -> bytes:
    """OpenZeppelin's leaf for ["address"]: keccak256(keccak256(abi.encode(address)))."""
    return _leaf(normalise(address))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Inner node: keccak of the two children in byte order."""
    return _keccak(a + b) if a <= b else _keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to from `leaf` (what the contract recomputes)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify(root: bytes, address: str, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows `address` is in the tree of `root` (as `join_with_proof` checks)."""
    return process_proof(leaf_hash(address), proof) == root


@dataclass(frozen=True)
class AllowlistTree:
    """A built tree: the node array, the addresses in input order and each one's node index."""

    tree: tuple[bytes, ...]
    addresses: tuple[str, ...]
    tree_index: tuple[int, ...]

    @property
    def root(self) -> bytes:
        return self.tree[0]

    @property
    def depth(self) -> int:
        """Length of the longest proof."""
        return max((len(self.proof_at(i)) for i in (0, len(self.addresses) - 1)), default=0)

    def index_of(self, address: str) -> int:
        wanted = normalise(address).lower()
        for i, a in enumerate(self.addresses):
            if a.lower() == wanted:
                return i
        raise MerkleError(f"{wanted} is not in this allowlist")

    def proof_at(self, value_index: int) -> list[bytes]:
        """Proof of the `value_index`-th address (input order), leaf to root."""
        i = self.tree_index[value_index]
        proof = []
        while i > 0:
            sibling = i + 1 if i % 2 == 1 else i - 1
            proof.append(self.tree[sibling])
            i = (i - 1) // 2
        return proof

    def proof(self, address: str) -> list[bytes]:
        """Proof for `address` (OpenZeppelin `getProof`)."""
        return self.proof_at(self.index_of(address))

    def dump(self) -> dict[str, Any]:
        """OpenZeppelin's `tree.dump()` JSON."""
        return {
            "format": FORMAT,
            "leafEncoding": LEAF_ENCODING,
            "tree": ["0x" + h.hex() for h in self.tree],
            "values": [
                {"value": [a], "treeIndex": t} for a, t in zip(self.addresses, self.tree_index, strict=True)
            ],
        }


def build(addresses: Iterable[str]) -> AllowlistTree:
    """`StandardMerkleTree.of(addresses.map(a => [a]), ["address"])`."""
    values = tuple(normalise(a) for a in addresses)
    if not values:
        raise MerkleError("the allowlist is empty; give at least one address")
    hashes = [_leaf(a) for a in values]
    order = sorted(range(len(values)), key=lambda i: hashes[i])
    n = len(values)
    size = 2 * n - 1
    tree: list[bytes] = [b""] * size
    tree_index = [0] * n
    for sorted_pos, value_index in enumerate(order):
        at = size - 1 - sorted_pos
        tree[at] = hashes[value_index]
        tree_index[value_index] = at
    # Inner nodes from the last to the root; node i's children are 2i + 1 and 2i + 2.
    for i in range(size - 1 - n, -1, -1):
        tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
    return AllowlistTree(tuple(tree), values, tuple(tree_index))


def load_dump(data: dict[str, Any]) -> AllowlistTree:
    """A tree from OpenZeppelin's JSON dump; checks the format and that every node hashes right."""
    if data.get("format") != FORMAT or data.get("leafEncoding") != LEAF_ENCODING:
        raise MerkleError('expected an OpenZeppelin StandardMerkleTree dump with leafEncoding ["address"]')
    tree = tuple(bytes.fromhex(h.removeprefix("0x")) for h in data["tree"])
    addresses = tuple(normalise(v["value"][0]) for v in data["values"])
    tree_index = tuple(int(v["treeIndex"]) for v in data["values"])
    for a, t in zip(addresses, tree_index, strict=True):
        if tree[t] != leaf_hash(a):
            raise MerkleError(f"the dump's leaf for {a} does not match its address")
    for i in range(len(tree)):
        if 2 * i + 2 < len(tree) and tree[i] != hash_pair(tree[2 * i + 1], tree[2 * i + 2]):
            raise MerkleError(f"the dump's node {i} is not the hash of its children")
    return AllowlistTree(tree, addresses, tree_index)


def read_addresses(path: Path) -> list[str]:
    """Addresses from a CSV (first column; a header row and blank lines are skipped)."""
    out: list[str] = []
    with open(path, newline="") as fh:
        for row_number, row in enumerate(csv.reader(fh), start=1):
            if not row or not row[0].strip():
                continue
            cell = row[0].strip()
            if not is_address(cell):
                if row_number == 1:
                    continue  # header
                raise MerkleError(f"{path}:{row_number}: {cell!r} is not an address")
            out.append(normalise(cell))
    return out


def load_tree_file(path: Path) -> AllowlistTree:
    """A tree from a JSON dump file (OpenZeppelin's or ours) or a CSV of addresses."""
    if path.suffix.lower() == ".json":
        return load_dump(json.loads(path.read_text()))
    return build(read_addresses(path))
