"""Differential fuzz: Communities' own Merkle proof walk (in `join_with_proof`) against snekmate's
`merkle_proof_verification`, which it replaced for gas.

For random allowlists (OpenZeppelin StandardMerkleTree, double-hashed leaves) and for proofs that
are right, truncated, extended, reordered, bit-flipped, borrowed from another leaf, made of an
inner node posing as a leaf (second preimage), or random, a join succeeds on Communities exactly
when snekmate's `_verify(proof, root, leaf(joiner))` is True; otherwise it reverts with
"communities: invalid proof".
"""

from __future__ import annotations

from pathlib import Path

import boa
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.communities import merkle
from tests.unit.communities.conftest import create
from tests.utils.communities import MERKLE, WAD, fund

REFERENCE = Path(__file__).parents[1] / "utils" / "contracts" / "SnekmateChecks.vy"


MUTATIONS = ("none", "truncate", "extend", "swap", "flip", "borrow", "inner", "random", "empty")


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, list[int], str, int, int]:
    n = draw(st.integers(1, 24))
    joiner = draw(st.integers(0, n))  # n: the joiner is not on the list
    return (
        n,
        [joiner],
        draw(st.sampled_from(MUTATIONS)),
        draw(st.integers(0, 2**256 - 1)),
        draw(st.integers(0, 63)),
    )


def _proof(tree: merkle.AllowlistTree, people: list[str], joiner: str, mutation: str, salt: int, pick: int):
    base = tree.proof(joiner) if joiner in people[:-1] else tree.proof(people[pick % (len(people) - 1)])
    proof = list(base)
    salt_bytes = salt.to_bytes(32, "big")
    if mutation == "truncate" and proof:
        proof = proof[: pick % len(proof)]
    elif mutation == "extend":
        proof.append(salt_bytes)
    elif mutation == "swap" and len(proof) > 1:
        i = pick % (len(proof) - 1)
        proof[i], proof[i + 1] = proof[i + 1], proof[i]
    elif mutation == "flip" and proof:
        i = pick % len(proof)
        proof[i] = bytes(
            a ^ b for a, b in zip(proof[i], (1 << (pick % 256)).to_bytes(32, "big"), strict=True)
        )
    elif mutation == "borrow":
        proof = tree.proof(people[pick % (len(people) - 1)])
    elif mutation == "inner" and len(proof) > 1:
        # Second preimage: pretend the first inner node is the leaf (drop the first level).
        proof = proof[1:]
    elif mutation == "random":
        proof = [salt_bytes] * (1 + pick % 5)
    elif mutation == "empty":
        proof = []
    return proof


@settings(deadline=None)
@given(case=cases())
def test_join_with_proof_agrees_with_snekmate(protocol, token, case) -> None:
    communities, governance = protocol["Communities"], str(protocol["Timelock"].address)
    n, (joiner_index,), mutation, salt, pick = case
    people = [str(boa.env.generate_address(f"merkle-eq-{i}")) for i in range(n + 1)]
    tree = merkle.build(people[:-1])  # the last address is never on the list
    joiner = people[joiner_index]
    reference = boa.load(str(REFERENCE))
    owner = people[0]
    fund(token, governance, owner, 1_000 * WAD, communities)
    cid = create(communities, owner, policy=MERKLE)
    with boa.env.prank(owner):
        communities.set_merkle_root(cid, tree.root)
    proof = _proof(tree, people, joiner, mutation, salt, pick)
    expected = reference.verify(proof, tree.root, merkle.leaf_hash(joiner))
    with boa.env.prank(joiner):
        if expected:
            communities.join_with_proof(cid, proof)
            assert communities.is_member(cid, joiner)
        else:
            with boa.reverts("communities: invalid proof"):
                communities.join_with_proof(cid, proof)
