"""Communities' written-out Merkle proof processing equals snekmate's `merkle_proof_verification`.

The house rule allows a hand-written version of what snekmate has only when a measured gas target
needs it, and then only proven equivalent: random trees (OpenZeppelin StandardMerkleTree, built by
clubchat.communities.merkle), their real proofs, tampered proofs (a flipped bit, a dropped, added,
duplicated or reordered sibling, an inner node as the leaf, another tree's proof, equal siblings)
and arbitrary sibling lists all give the same processed root and the same verdict on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.communities import merkle

HARNESS = Path(__file__).parents[2] / "utils" / "contracts" / "SnekmateMerkle.vy"
MAX_PROOF = 32
word = st.binary(min_size=32, max_size=32)


@pytest.fixture(scope="module")
def snekmate() -> Any:
    return boa.load(str(HARNESS))


def _same(communities: Any, snekmate: Any, proof: list[bytes], leaf: bytes, root: bytes) -> bool:
    mine = communities.process_proof(proof, leaf)
    assert mine == snekmate.process_proof(proof, leaf)
    verdict = mine == root
    assert verdict == snekmate.verify(proof, root, leaf)
    return verdict


@st.composite
def tree_and_tamper(draw: st.DrawFn) -> tuple[merkle.AllowlistTree, int, list[bytes], bytes, bool]:
    """A tree, a member index, a (maybe tampered) proof, the leaf it is checked for, and whether the
    proof is the untouched one."""
    n = draw(st.integers(1, 70))
    seeds = draw(st.lists(st.binary(min_size=20, max_size=20), min_size=n, max_size=n, unique=True))
    tree = merkle.build(["0x" + s.hex() for s in seeds])
    i = draw(st.integers(0, n - 1))
    proof = list(tree.proof_at(i))
    leaf = tree.tree[tree.tree_index[i]]
    how = draw(
        st.sampled_from(
            ["none", "flip", "drop", "add", "duplicate", "swap", "inner", "foreign", "equal", "random"]
        )
    )
    if how == "flip" and proof:
        k, bit = draw(st.integers(0, len(proof) - 1)), draw(st.integers(0, 255))
        proof[k] = (int.from_bytes(proof[k], "big") ^ (1 << bit)).to_bytes(32, "big")
    elif how == "drop" and proof:
        proof.pop(draw(st.integers(0, len(proof) - 1)))
    elif how == "add" and len(proof) < MAX_PROOF:
        proof.insert(draw(st.integers(0, len(proof))), draw(word))
    elif how == "duplicate" and proof and len(proof) < MAX_PROOF:
        k = draw(st.integers(0, len(proof) - 1))
        proof.insert(k, proof[k])
    elif how == "swap" and len(proof) >= 2:
        k = draw(st.integers(0, len(proof) - 2))
        proof[k], proof[k + 1] = proof[k + 1], proof[k]
    elif how == "inner" and proof:
        # Second preimage: present the leaf's parent (an inner node) as the leaf, with the rest.
        leaf = tree.tree[(tree.tree_index[i] - 1) // 2]
        proof = proof[1:]
    elif how == "foreign":
        other = merkle.build(["0x" + keccak(s).hex()[:40] for s in seeds])
        proof = list(other.proof_at(i))
    elif how == "equal" and proof:
        proof[0] = leaf  # a sibling equal to the running hash: the tie branch of the sorted pair
    elif how == "random":
        proof = draw(st.lists(word, max_size=MAX_PROOF))
        leaf = draw(word)
    return tree, i, proof, leaf, how == "none"


@settings(max_examples=300, deadline=None)
@given(case=tree_and_tamper())
def test_processing_equals_snekmate_on_real_and_tampered_proofs(communities, snekmate, case) -> None:
    tree, _i, proof, leaf, untouched = case
    verdict = _same(communities, snekmate, proof, leaf, tree.root)
    if untouched:
        assert verdict  # a real proof verifies on both
    root = communities.process_proof(proof, leaf)
    assert _same(communities, snekmate, proof, leaf, root)  # both agree on the root it leads to


@settings(max_examples=200, deadline=None)
@given(proof=st.lists(word, max_size=MAX_PROOF), leaf=word, root=word)
def test_processing_equals_snekmate_on_arbitrary_input(communities, snekmate, proof, leaf, root) -> None:
    _same(communities, snekmate, proof, leaf, root)


def test_the_ends_of_the_range(communities, snekmate) -> None:
    zero, top = b"\x00" * 32, b"\xff" * 32
    for proof in ([], [zero], [top], [zero, top] * 16, [top] * MAX_PROOF):
        for leaf in (zero, top):
            _same(communities, snekmate, proof, leaf, keccak(zero + top))
    with boa.reverts():
        communities.process_proof([zero] * (MAX_PROOF + 1), zero)
