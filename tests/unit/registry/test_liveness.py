"""A node earns only while it is live: a comeback after a lapsed
heartbeat forfeits what accrued to it since its last checkpoint."""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import RELAY, beat, live_epoch, live_for, now, register_node, send_rewards

WAD = 10**18
DUST = 10**8  # rounding dust of a stream paid out over a day (see test_rewards)


@pytest.mark.usefixtures("one_day_stream")
def test_heartbeat_after_the_end_does_not_earn_the_ended_epoch(
    directory, registry, relay_node, actors, token, governance, alice, minimum, params
):
    """relay_node beats at the start of epoch 0 and is down at its end; it beats again after the
    end but before anyone finalises. It used to earn all of epoch 0: the late heartbeat replaced
    the live_until that showed it was down. With streamed rewards (finding 7) a node earns while it
    is live and its checkpoint forfeits what accrued to it since its last checkpoint once its
    heartbeat has lapsed: the late heartbeat forfeits, it does not earn."""
    key = str(boa.env.generate_address("alice-key"))
    register_node(registry, alice, key, kinds=RELAY, amount=2 * minimum, commission_bps=0)
    beat(registry, key)
    send_rewards(token, registry, governance, 205 * WAD)
    end = registry.EPOCH_START() + registry.EPOCH_SECONDS()
    assert directory.nodes(relay_node).live_until < end - 60
    live_for(registry, end - 60 - now(), key)
    boa.env.time_travel(seconds=120)
    beat(registry, key)
    registry.finalize_epoch()  # the 200 stream over the next day
    live_for(registry, registry.EPOCH_SECONDS(), key)
    assert 100 * WAD - DUST <= directory.pending_rewards(alice, alice) <= 100 * WAD
    assert directory.pending_rewards(relay_node, relay_node) == 0
    reserve = registry.reward_reserve()
    with boa.env.prank(actors.node_key):
        registry.heartbeat()  # the checkpoint forfeits relay_node's half: it was down
    assert reserve - 100 * WAD <= registry.reward_reserve() <= reserve - 100 * WAD + DUST
    assert directory.pending_rewards(relay_node, relay_node) == 0
    # Live again, it earns its share of the next stream (the 200 plus the 100 forfeited).
    send_rewards(token, registry, governance, 205 * WAD)
    live_epoch(registry, key, actors.node_key)
    live_for(registry, registry.EPOCH_SECONDS(), key, actors.node_key)
    ours = directory.pending_rewards(relay_node, relay_node)
    assert ours > 0
    assert abs(ours - (directory.pending_rewards(alice, alice) - 100 * WAD)) <= 2 * DUST


def test_unjail_after_the_end_does_not_earn_the_ended_epoch(
    directory, registry, relay_node, actors, token, governance, params
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
    assert directory.pending_rewards(relay_node, relay_node) == 0
