"""Binding a node key needs the key's own consent: a squatter cannot bind a newcomer's key.

A key consents by sending `approve_operator(operator)` itself (node keys send transactions anyway:
they beat). `register` and `set_node_key` then bind it for that operator only.
"""

from __future__ import annotations

import boa

from tests.utils.registry import RELAY, approve_key, credential_for, endpoints_for, register_node

WAD = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def _register_unapproved(registry, operator: str, key: str, amount: int) -> None:
    """`register` without the key's approval first (what a squatter or a careless operator sends)."""
    with boa.env.prank(operator):
        registry.register(RELAY, key, "eu-west", "", endpoints_for(RELAY), credential_for(RELAY), 0, amount)


def test_squatter_cannot_bind_a_newcomers_key(directory, registry, actors, alice, minimum):
    """The newcomer's key approves the newcomer; a registered squatter copies the key from the
    mempool into `set_node_key` (and `register`) and is refused; the newcomer registers."""
    squatter, newcomer, key = alice, actors.operator, actors.node_key
    register_node(
        registry, squatter, str(boa.env.generate_address("squatter_key")), kinds=RELAY, amount=minimum
    )
    approve_key(registry, key, newcomer)
    with boa.env.prank(squatter), boa.reverts("registry: node key did not approve"):
        registry.set_node_key(key)
    _register_unapproved(registry, newcomer, key, minimum)
    assert registry.node_key(newcomer) == key
    assert directory.operator_of_key(key) == newcomer


def test_register_needs_the_keys_approval(registry, actors, alice, minimum):
    with boa.reverts("registry: node key did not approve"):
        _register_unapproved(registry, actors.operator, actors.node_key, minimum)
    # An approval names one operator: another operator's register is still refused.
    approve_key(registry, actors.node_key, alice)
    with boa.reverts("registry: node key did not approve"):
        _register_unapproved(registry, actors.operator, actors.node_key, minimum)
    approve_key(registry, actors.node_key, actors.operator)
    _register_unapproved(registry, actors.operator, actors.node_key, minimum)
    assert registry.node_key(actors.operator) == actors.node_key


def test_approve_operator_logs_and_can_be_withdrawn(registry, actors, minimum):
    with boa.env.prank(actors.node_key):
        registry.approve_operator(actors.operator)
        ev = registry.get_logs()[-1]
    assert (ev.key, ev.operator) == (actors.node_key, actors.operator)
    assert registry.approved_operator(actors.node_key) == actors.operator
    # The key withdraws its consent before the operator used it.
    approve_key(registry, actors.node_key, ZERO)
    assert registry.approved_operator(actors.node_key) == ZERO
    with boa.reverts("registry: node key did not approve"):
        _register_unapproved(registry, actors.operator, actors.node_key, minimum)


def test_set_node_key_needs_the_new_keys_approval(registry, actors, bob, minimum):
    register_node(registry, actors.operator, actors.node_key, kinds=RELAY, amount=minimum)
    new_key = str(boa.env.generate_address("rotated_key"))
    with boa.env.prank(actors.operator), boa.reverts("registry: node key did not approve"):
        registry.set_node_key(new_key)
    approve_key(registry, new_key, bob)  # approving someone else does not help
    with boa.env.prank(actors.operator), boa.reverts("registry: node key did not approve"):
        registry.set_node_key(new_key)
    approve_key(registry, new_key, actors.operator)
    with boa.env.prank(actors.operator):
        registry.set_node_key(new_key)
    assert registry.node_key(actors.operator) == new_key
    with boa.env.prank(new_key):
        registry.heartbeat()
