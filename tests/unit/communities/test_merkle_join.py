"""MERKLE joins: OpenZeppelin StandardMerkleTree roots accepted unchanged, every bad proof refused."""

from __future__ import annotations

import boa
from eth_utils import keccak

from clubchat.communities import merkle
from tests.unit.communities.conftest import set_policy
from tests.utils.communities import MERKLE, NEVER, events


def _allowlist(member: str, n: int = 9) -> merkle.AllowlistTree:
    return merkle.build([member, *(str(boa.env.generate_address(f"leaf{i}")) for i in range(n - 1))])


def _merkle_community(communities, owner: str, cid: int, tree: merkle.AllowlistTree) -> None:
    set_policy(communities, owner, cid, MERKLE)
    with boa.env.prank(owner):
        communities.set_merkle_root(cid, tree.root)


def test_member_joins_with_a_proof(communities, community, funded_owner, member):
    tree = _allowlist(member)
    _merkle_community(communities, funded_owner, community, tree)
    assert communities.merkle_root(community) == tree.root
    with boa.env.prank(member):
        communities.join_with_proof(community, tree.proof(member))
    assert events(communities, "MemberJoined") == [
        {"community_id": community, "account": member, "expires_at": NEVER}
    ]
    assert communities.is_member(community, member)


def test_every_leaf_of_a_tree_can_join(communities, community, funded_owner):
    addresses = [str(boa.env.generate_address(f"m{i}")) for i in range(13)]
    tree = merkle.build(addresses)
    _merkle_community(communities, funded_owner, community, tree)
    for a in addresses:
        with boa.env.prank(a):
            communities.join_with_proof(community, tree.proof(a))
    assert all(communities.is_member(community, a) for a in addresses)


def test_wrong_proofs_are_refused(communities, community, funded_owner, member, outsider):
    tree = _allowlist(member)
    _merkle_community(communities, funded_owner, community, tree)
    proof = tree.proof(member)
    with boa.env.prank(outsider), boa.reverts("communities: invalid proof"):
        communities.join_with_proof(community, proof)  # someone else's proof
    with boa.env.prank(member), boa.reverts("communities: invalid proof"):
        communities.join_with_proof(community, proof[:-1])
    with boa.env.prank(member), boa.reverts("communities: invalid proof"):
        communities.join_with_proof(community, [keccak(b"x"), *proof[1:]])
    with boa.env.prank(member), boa.reverts("communities: invalid proof"):
        communities.join_with_proof(community, [])


def test_inner_node_as_leaf_is_refused(communities, community, funded_owner, member):
    """Second preimage: an inner node with the rest of a path reaches the root off-chain, but the
    contract derives the leaf from the caller (double-hashed), so no caller can present it."""
    tree = _allowlist(member, n=8)
    _merkle_community(communities, funded_owner, community, tree)
    assert merkle.process_proof(tree.tree[1], [tree.tree[2]]) == tree.root
    for proof in ([tree.tree[2]], [tree.tree[1]], [tree.tree[1], tree.tree[2]]):
        with boa.env.prank(member), boa.reverts("communities: invalid proof"):
            communities.join_with_proof(community, proof)


def test_no_root_admits_nobody(communities, community, funded_owner, member):
    set_policy(communities, funded_owner, community, MERKLE)
    with boa.env.prank(member), boa.reverts("communities: invalid proof"):
        communities.join_with_proof(community, [])


def test_a_new_root_keeps_earlier_members(communities, community, funded_owner, member, outsider):
    tree = _allowlist(member)
    _merkle_community(communities, funded_owner, community, tree)
    with boa.env.prank(member):
        communities.join_with_proof(community, tree.proof(member))
    other = _allowlist(outsider)
    with boa.env.prank(funded_owner):
        communities.set_merkle_root(community, other.root)
    assert events(communities, "MerkleRootChanged") == [{"community_id": community, "root": other.root}]
    assert communities.is_member(community, member)
    with boa.env.prank(member), boa.reverts("communities: invalid proof"):
        communities.join_with_proof(community, tree.proof(member))  # the old proof no longer renews


def test_set_merkle_root_needs_an_admin(communities, community, moderator):
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.set_merkle_root(community, b"\x01" * 32)
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.set_merkle_root(community + 1, b"\x01" * 32)
