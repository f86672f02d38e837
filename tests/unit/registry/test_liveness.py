"""A node earns epoch e only if it was live at the end of epoch e (issue 11, finding 6)."""

from __future__ import annotations

import boa

from tests.utils.registry import RELAY, beat, now, register_node, send_rewards

WAD = 10**18


def test_heartbeat_after_the_end_does_not_earn_the_ended_epoch(
    registry, relay_node, actors, token, governance, alice, minimum, params
):
    """relay_node beats at the start of epoch 0 and is down at its end; it beats again after the
    end but before anyone finalises. It used to earn all of epoch 0: the late heartbeat replaced
    the live_until that showed it was down."""
    key = str(boa.env.generate_address("alice-key"))
    register_node(registry, alice, key, kinds=RELAY, amount=2 * minimum, commission_bps=0)
    beat(registry, key)
    send_rewards(token, registry, governance, 205 * WAD)
    end = registry.EPOCH_START() + registry.EPOCH_SECONDS()
    assert registry.nodes(relay_node).live_until < end - 60
    boa.env.time_travel(seconds=end - 60 - now())
    beat(registry, key)
    boa.env.time_travel(seconds=120)
    beat(registry, actors.node_key)  # down at the end of epoch 0, back before the finalisation
    registry.finalize_epoch()
    assert registry.pending_rewards(alice, alice) == 100 * WAD
    assert registry.pending_rewards(relay_node, relay_node) == 0
    reserve = registry.reward_reserve()
    with boa.env.prank(actors.node_key):
        registry.heartbeat()  # the checkpoint forfeits epoch 0's share
    assert registry.reward_reserve() == reserve - 100 * WAD
    assert registry.pending_rewards(relay_node, relay_node) == 0
    # It earns the epochs whose end it covers again.
    send_rewards(token, registry, governance, 205 * WAD)
    end += registry.EPOCH_SECONDS()
    boa.env.time_travel(seconds=end - 60 - now())
    beat(registry, key, actors.node_key)
    boa.env.time_travel(seconds=120)
    registry.finalize_epoch()
    # Epoch 1 spreads its 200 and the 100 forfeited in epoch 0 (tip 5 each time).
    assert registry.pending_rewards(relay_node, relay_node) > 0
    assert (
        registry.pending_rewards(relay_node, relay_node) == registry.pending_rewards(alice, alice) - 100 * WAD
    )


def test_unjail_after_the_end_does_not_earn_the_ended_epoch(
    registry, relay_node, actors, token, governance, params
):
    """Same class: jailed (weight 0) at the end of epoch 0, unjailed before its finalisation."""
    until = now() + 60
    with boa.env.prank(governance):
        registry.jail(relay_node, until)
    send_rewards(token, registry, governance, 105 * WAD)
    end = registry.EPOCH_START() + registry.EPOCH_SECONDS()
    boa.env.time_travel(seconds=end + 1 - now())
    beat(registry, actors.node_key)
    with boa.env.prank(relay_node):
        registry.unjail()
    registry.finalize_epoch()
    assert registry.pending_rewards(relay_node, relay_node) == 0
