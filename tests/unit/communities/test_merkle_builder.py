"""clubchat.communities.merkle against OpenZeppelin's `@openzeppelin/merkle-tree` (the npm package
pinned in package.json): same root, same node array, same proofs, for random address lists."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from eth_utils import keccak, to_checksum_address

from clubchat.communities import merkle
from clubchat.params import REPO_ROOT

SCRIPT = REPO_ROOT / "tests" / "utils" / "oz_merkle.mjs"
SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 100, 257]


def _random_lists(seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    lists = [[to_checksum_address(rng.randbytes(20)) for _ in range(n)] for n in SIZES]
    # Duplicates and mixed case are accepted by both builders.
    lists.append([lists[4][0], lists[4][0].lower(), lists[4][1]])
    return lists


@pytest.fixture(scope="module")
def openzeppelin() -> tuple[list[list[str]], list[dict]]:
    package = REPO_ROOT / "node_modules" / "@openzeppelin" / "merkle-tree"
    if shutil.which("node") is None or not package.exists():
        pytest.fail("node_modules/@openzeppelin/merkle-tree missing: run `make setup`")
    lists = _random_lists(20261205)
    out = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(lists),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout
    return lists, json.loads(out)


def test_same_root_tree_and_proofs_as_openzeppelin(openzeppelin):
    lists, results = openzeppelin
    for addresses, oz in zip(lists, results, strict=True):
        ours = merkle.build(addresses)
        assert "0x" + ours.root.hex() == oz["root"]
        assert ours.dump()["tree"] == oz["dump"]["tree"]
        assert [(v["value"][0].lower(), v["treeIndex"]) for v in ours.dump()["values"]] == [
            (v["value"][0].lower(), v["treeIndex"]) for v in oz["dump"]["values"]
        ]
        for i, proof in enumerate(oz["proofs"]):
            assert ["0x" + p.hex() for p in ours.proof_at(i)] == proof
            assert merkle.verify(ours.root, addresses[i], ours.proof_at(i))


def test_openzeppelin_dump_loads_unchanged(openzeppelin):
    lists, results = openzeppelin
    for addresses, oz in zip(lists, results, strict=True):
        tree = merkle.load_dump(oz["dump"])
        assert tree.root == merkle.build(addresses).root


def test_tampered_dump_is_refused(openzeppelin):
    _, results = openzeppelin
    dump = json.loads(json.dumps(results[5]["dump"]))
    dump["tree"][1] = "0x" + "11" * 32
    with pytest.raises(merkle.MerkleError, match="node 0 is not the hash"):
        merkle.load_dump(dump)
    dump = json.loads(json.dumps(results[5]["dump"]))
    dump["leafEncoding"] = ["bytes32"]
    with pytest.raises(merkle.MerkleError, match="leafEncoding"):
        merkle.load_dump(dump)


def test_leaf_is_double_hashed_abi_encoding():
    address = "0x00000000000000000000000000000000000000aa"
    assert merkle.leaf_hash(address) == keccak(keccak(bytes(31) + b"\xaa"))


def test_inner_node_is_no_leaf():
    """Second preimage: the 64 bytes under an inner node, taken as one leaf, prove nothing."""
    rng = random.Random(7)
    addresses = [to_checksum_address(rng.randbytes(20)) for _ in range(8)]
    tree = merkle.build(addresses)
    # Node 1 is the root's left child; presenting it as a leaf with the right child as proof
    # reaches the root, which is why the contract never takes a leaf from the caller.
    assert merkle.process_proof(tree.tree[1], [tree.tree[2]]) == tree.root
    # A leaf is always keccak(keccak(abi.encode(address))), never an inner node.
    assert all(merkle.leaf_hash(a) not in tree.tree[: len(addresses) - 1] for a in addresses)


def test_bad_inputs_say_what_to_fix(tmp_path):
    with pytest.raises(merkle.MerkleError, match="empty"):
        merkle.build([])
    with pytest.raises(merkle.MerkleError, match="not an address"):
        merkle.build(["0x1234"])
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("address\n0x00000000000000000000000000000000000000aa\n\nnot-an-address\n")
    with pytest.raises(merkle.MerkleError, match=r"members.csv:4"):
        merkle.read_addresses(csv_file)
    csv_file.write_text("address,name\n0x00000000000000000000000000000000000000aa,alice\n")
    assert merkle.load_tree_file(csv_file).addresses == ("0x00000000000000000000000000000000000000aa",)
    good = to_checksum_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
    assert merkle.normalise(good) == good and merkle.normalise(good.lower()) == good.lower()
    with pytest.raises(merkle.MerkleError, match="wrong checksum"):
        merkle.normalise(good[:-1] + ("e" if good[-1] != "e" else "f").upper())
