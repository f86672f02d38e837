"""Key history: a node key once bound stays attributed to its operator; only the current key beats."""

from __future__ import annotations

import boa

from tests.utils.registry import RELAY, now, register_node

WAD = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def test_rotation_retires_the_old_key_and_keeps_it_attributed(directory, registry, actors, alice):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * WAD)
    assert registry.key_record(actors.node_key) == (actors.operator, 0)
    boa.env.time_travel(seconds=100)
    with boa.env.prank(alice):
        registry.approve_operator(actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(alice)
    rotated_at = now()
    assert registry.key_record(actors.node_key) == (actors.operator, rotated_at)
    assert registry.key_record(alice) == (actors.operator, 0)
    assert directory.operator_of_key(actors.node_key) == actors.operator
    assert registry.node_key(actors.operator) == alice


def test_unknown_key_has_no_record(registry, non_admin):
    assert registry.key_record(non_admin) == (ZERO, 0)


def test_retired_key_cannot_heartbeat(directory, registry, actors, alice):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * WAD)
    with boa.env.prank(alice):
        registry.approve_operator(actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(alice)
    with boa.env.prank(actors.node_key), boa.reverts("registry: not a node key"):
        registry.heartbeat()
    with boa.env.prank(alice):
        registry.heartbeat()
    assert directory.nodes(actors.operator).live_until > now()


def test_retired_key_can_never_be_bound_again(registry, actors, alice, bob):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * WAD)
    with boa.env.prank(alice):
        registry.approve_operator(actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(alice)
    # Not by another operator at registration ...
    with boa.reverts("registry: node key in use"):
        register_node(registry, bob, actors.node_key, kinds=RELAY, amount=10_000 * WAD)
    # ... nor by rotation ...
    register_node(registry, bob, str(boa.env.generate_address("bob_key")), kinds=RELAY, amount=10_000 * WAD)
    with boa.env.prank(bob), boa.reverts("registry: node key in use"):
        registry.set_node_key(actors.node_key)
    # ... nor by its own operator (its retirement time would be ambiguous).
    with boa.env.prank(actors.operator), boa.reverts("registry: node key in use"):
        registry.set_node_key(actors.node_key)
    assert registry.key_record(actors.node_key)[0] == actors.operator


def test_second_rotation_retires_the_second_key_only(registry, actors, alice, carol):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=10_000 * WAD)
    with boa.env.prank(alice):
        registry.approve_operator(actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(alice)
    first = now()
    boa.env.time_travel(seconds=50)
    with boa.env.prank(carol):
        registry.approve_operator(actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(carol)
    assert registry.key_record(actors.node_key) == (actors.operator, first)
    assert registry.key_record(alice) == (actors.operator, first + 50)
    assert registry.key_record(carol) == (actors.operator, 0)
