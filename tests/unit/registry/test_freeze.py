"""freeze / unfreeze (DISPUTES_ROLE) and the `withdraw` check: a frozen node's pool pays nothing out."""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import RELAY, register_node

WAD = 10**18


@pytest.fixture
def disputes_role(registry, governance) -> str:
    """A stand-in for the Disputes contract: an address the Timelock granted DISPUTES_ROLE."""
    holder = str(boa.env.generate_address("disputes_contract"))
    with boa.env.prank(governance):
        registry.grantRole(registry.DISPUTES_ROLE(), holder)
    return holder


@pytest.fixture
def unbonded(directory, registry, relay_node, actors, minimum):
    """The delegator and the operator each have an unbonding entry of `relay_node`, released."""
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, minimum)
        registry.unbond(relay_node, directory.shares(relay_node, actors.delegator))
    with boa.env.prank(actors.operator):
        registry.unbond(relay_node, directory.shares(relay_node, actors.operator) // 4)
    boa.env.time_travel(seconds=registry.unbonding_seconds())
    return relay_node


def _freeze_events(registry):
    return [(e.node, e.count) for e in registry.get_logs() if type(e).__name__ == "FreezeChanged"]


def test_freeze_counts_and_logs(registry, relay_node, disputes_role):
    with boa.env.prank(disputes_role):
        registry.freeze(relay_node)
        assert _freeze_events(registry) == [(relay_node, 1)]
        registry.freeze(relay_node)
        assert _freeze_events(registry) == [(relay_node, 2)]
    assert registry.frozen(relay_node) == 2
    with boa.env.prank(disputes_role):
        registry.unfreeze(relay_node)
        assert _freeze_events(registry) == [(relay_node, 1)]
    assert registry.frozen(relay_node) == 1


def test_frozen_node_can_never_withdraw(registry, unbonded, actors, disputes_role, token):
    with boa.env.prank(disputes_role):
        registry.freeze(unbonded)
        registry.freeze(unbonded)  # a second, overlapping dispute
    for who in (actors.delegator, actors.operator):
        with boa.env.prank(who), boa.reverts("registry: node frozen"):
            registry.withdraw(0)
    with boa.env.prank(disputes_role):
        registry.unfreeze(unbonded)
    # One dispute is still open.
    with boa.env.prank(actors.delegator), boa.reverts("registry: node frozen"):
        registry.withdraw(0)
    with boa.env.prank(disputes_role):
        registry.unfreeze(unbonded)
    before = token.balanceOf(actors.delegator)
    with boa.env.prank(actors.delegator):
        paid = registry.withdraw(0)
    assert paid > 0 and token.balanceOf(actors.delegator) == before + paid


def test_freeze_leaves_other_pools_alone(registry, unbonded, actors, disputes_role, alice, minimum):
    alice_key = str(boa.env.generate_address("alice_key"))
    register_node(registry, alice, alice_key, kinds=RELAY, amount=2 * minimum)
    with boa.env.prank(disputes_role):
        registry.freeze(alice)
    with boa.env.prank(actors.delegator):
        assert registry.withdraw(0) > 0


def test_frozen_entries_can_still_rebond(directory, registry, relay_node, actors, disputes_role, minimum):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, minimum)
        registry.unbond(relay_node, directory.shares(relay_node, actors.delegator))
    with boa.env.prank(disputes_role):
        registry.freeze(relay_node)
    with boa.env.prank(actors.delegator):
        assert registry.rebond(0) > 0


def test_freeze_access_control(registry, relay_node, non_admin, governance):
    # Not even the Timelock holds DISPUTES_ROLE: only the Disputes contract freezes.
    for who in (non_admin, governance):
        with boa.env.prank(who), boa.reverts("access_control: account is missing role"):
            registry.freeze(relay_node)
        with boa.env.prank(who), boa.reverts("access_control: account is missing role"):
            registry.unfreeze(relay_node)


def test_unfreeze_without_freeze(registry, relay_node, disputes_role):
    with boa.env.prank(disputes_role), boa.reverts("registry: not frozen"):
        registry.unfreeze(relay_node)
