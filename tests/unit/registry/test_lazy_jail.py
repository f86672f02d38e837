"""Lazy leaves of a jailed node: `jail` takes the weight out of total_weight (and rewards) at once
but leaves the sum-tree leaves for the node's next sync (heartbeat, unjail, stake change, poke);
a slash of the jailed node keeps them lazy, a 100 % slash moves them. Every read that depends on
the leaves sees them applied or skips the node: sampling never returns a jailed node."""

from __future__ import annotations

import boa

from tests.utils.registry import RELAY, now

WAD = 10**18
MASK32 = 2**32 - 1


def _leaves(registry, node) -> tuple[int, bool]:
    """The weight the node's leaves hold (meta bits 204-235) and the lazy bit (bit 5)."""
    word = registry.eval(f"self.meta[{node}]")
    return (word >> 204) & MASK32, bool((word >> 5) & 1)


def _jail(registry, governance, node, seconds: int = 3600) -> None:
    with boa.env.prank(governance):
        registry.jail(node, now() + seconds)


def test_jail_leaves_the_tree_but_not_the_total(directory, registry, relay_node, governance, minimum):
    weight = 2 * minimum // WAD
    tree_before = registry.total_stake(RELAY)
    total_before = registry.total_weight()
    _jail(registry, governance, relay_node)
    logs = [e for e in registry.get_logs() if type(e).__name__ == "WeightChanged"]
    assert [(e.node, e.weight) for e in logs] == [(relay_node, 0)]
    assert registry.total_weight() == total_before - weight
    assert directory.nodes(relay_node).weight == 0
    # The leaves still hold the weight: no sum-tree word was written.
    assert _leaves(registry, relay_node) == (weight, True)
    assert registry.total_stake(RELAY) == tree_before
    # ... but the node is never drawn.
    assert registry.sample(RELAY, b"\x05" * 32, 3) == []


def test_jail_again_counts_the_weight_out_once(registry, relay_node, governance, minimum):
    total_before = registry.total_weight()
    _jail(registry, governance, relay_node)
    _jail(registry, governance, relay_node, 7200)
    assert registry.total_weight() == total_before - 2 * minimum // WAD
    assert _leaves(registry, relay_node) == (2 * minimum // WAD, True)


def test_heartbeat_applies_the_lazy_leaves(registry, relay_node, actors, governance):
    tree_before = registry.total_stake(RELAY)
    _jail(registry, governance, relay_node)
    total_jailed = registry.total_weight()
    with boa.env.prank(actors.node_key):
        registry.heartbeat()
    assert _leaves(registry, relay_node) == (0, False)
    assert registry.total_stake(RELAY) == tree_before - 2 * registry.min_self_stake_per_kind()
    assert registry.total_weight() == total_jailed  # already counted out at the jail


def test_poke_applies_the_lazy_leaves(registry, relay_node, governance, alice):
    _jail(registry, governance, relay_node)
    with boa.env.prank(alice):
        registry.poke(relay_node)
    assert _leaves(registry, relay_node) == (0, False)
    assert registry.total_stake(RELAY) == 0
    # Nothing left to take out.
    with boa.env.prank(alice), boa.reverts("registry: node is eligible"):
        registry.poke(relay_node)


def test_unjail_from_lazy_leaves_counts_the_weight_once(
    directory, registry, relay_node, actors, governance, minimum
):
    weight = 2 * minimum // WAD
    total_before = registry.total_weight()
    _jail(registry, governance, relay_node)
    boa.env.time_travel(seconds=3600)
    with boa.env.prank(relay_node):
        registry.unjail()
    # The leaves were lazy with the same weight: the tree is unchanged, the total gets it back.
    assert _leaves(registry, relay_node) == (weight, False)
    assert registry.total_weight() == total_before
    assert registry.total_stake(RELAY) == weight * WAD
    assert directory.nodes(relay_node).weight == weight


def test_slash_of_a_jailed_node_keeps_the_leaves_lazy(
    directory, registry, relay_node, governance, minimum, alice
):
    weight = 2 * minimum // WAD
    _jail(registry, governance, relay_node)
    total_jailed = registry.total_weight()
    with boa.env.prank(governance):
        registry.slash(relay_node, WAD // 10, alice, WAD // 2)
    assert _leaves(registry, relay_node) == (weight, True)
    assert registry.total_weight() == total_jailed
    assert directory.nodes(relay_node).weight == 0
    # Its next sync moves the leaves to 0 (still jailed).
    with boa.env.prank(alice):
        registry.poke(relay_node)
    assert _leaves(registry, relay_node) == (0, False)
    assert registry.total_stake(RELAY) == 0


def test_full_slash_of_a_jailed_node_moves_the_leaves(registry, relay_node, governance, alice):
    _jail(registry, governance, relay_node)
    with boa.env.prank(governance):
        registry.slash(relay_node, WAD, alice, 0)
    # Closed: deregistration frees the slot next, so the leaf must already be 0.
    assert _leaves(registry, relay_node) == (0, False)
    assert registry.total_stake(RELAY) == 0
    with boa.env.prank(relay_node):
        registry.deregister()
    assert registry.node_count() == 0


def test_jailed_node_earns_nothing_while_its_leaves_are_lazy(
    directory, registry, relay_node, governance, actors
):
    _jail(registry, governance, relay_node)
    boa.env.time_travel(seconds=600)
    before = directory.pending_rewards(relay_node, relay_node)
    boa.env.time_travel(seconds=86_400)
    assert directory.pending_rewards(relay_node, relay_node) == before
