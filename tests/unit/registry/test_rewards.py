"""finalize_epoch, claim, commission schedule, liveness forfeits, poke, heartbeat, Emission wiring."""

from __future__ import annotations

import boa

from tests.utils.registry import RELAY, beat, finish_epoch, now, register_node, send_rewards

WAD = 10**18


def test_finalize_epoch_reverts_before_end(registry):
    boa.env.time_travel(seconds=max(registry.EPOCH_START() + registry.EPOCH_SECONDS() - now() - 10, 0))
    if now() < registry.EPOCH_START() + registry.EPOCH_SECONDS():
        with boa.reverts("registry: epoch not over"):
            registry.finalize_epoch()


def test_finalize_without_stake_keeps_rewards(registry, token, governance):
    send_rewards(token, registry, governance, 100 * WAD)
    tip = finish_epoch(registry)
    assert tip == 5 * WAD  # finalize_tip from parameters.yaml
    assert registry.acc_at(1) == 0 and registry.reward_reserve() == 0
    # The rest waits for stake.
    assert token.balanceOf(registry.address) == 95 * WAD


def test_rewards_split_commission_and_pool(registry, relay_node, actors, token, governance, minimum):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 2 * minimum)  # pool: 2 self + 2 delegated
    send_rewards(token, registry, governance, 1005 * WAD)
    caller = str(boa.env.generate_address("caller"))
    assert finish_epoch(registry, actors.node_key, caller=caller) == 5 * WAD
    assert token.balanceOf(caller) == 5 * WAD
    ev = next(e for e in registry.get_logs() if type(e).__name__ == "EpochFinalised")
    assert ev.rewards == 1000 * WAD and ev.total_weight == 4 * minimum // WAD
    # 10 % commission; the remaining 900 split 50/50 by shares.
    assert registry.pending_rewards(relay_node, actors.delegator) == 450 * WAD
    assert registry.pending_rewards(relay_node, relay_node) == 550 * WAD
    b0 = token.balanceOf(actors.delegator)
    with boa.env.prank(actors.delegator):
        assert registry.claim(relay_node) == 450 * WAD
    assert token.balanceOf(actors.delegator) == b0 + 450 * WAD
    with boa.env.prank(relay_node):
        assert registry.claim(relay_node) == 550 * WAD
    assert registry.reward_reserve() == 0
    with boa.env.prank(relay_node):
        assert registry.claim(relay_node) == 0
    assert token.balanceOf(registry.address) >= registry.principal() + registry.reward_reserve()


def test_rewards_pro_rata_between_nodes(registry, relay_node, actors, token, governance, minimum, alice):
    key = str(boa.env.generate_address("alice-key"))
    register_node(registry, alice, key, kinds=RELAY, amount=6 * minimum, commission_bps=0)
    send_rewards(token, registry, governance, 805 * WAD)
    finish_epoch(registry, actors.node_key, key)
    # weights 2 : 6 -> 200 : 600
    assert registry.pending_rewards(relay_node, relay_node) == 200 * WAD
    assert registry.pending_rewards(alice, alice) == 600 * WAD


def test_claim_after_many_missed_epochs(registry, relay_node, actors, token, governance):
    for _ in range(5):
        send_rewards(token, registry, governance, 105 * WAD)
        finish_epoch(registry, actors.node_key)
    with boa.env.prank(relay_node):
        assert registry.claim(relay_node) == 500 * WAD


def test_expired_node_forfeits_and_rewards_return(
    registry, relay_node, actors, token, governance, alice, minimum
):
    key = str(boa.env.generate_address("alice-key"))
    register_node(registry, alice, key, kinds=RELAY, amount=2 * minimum, commission_bps=0)
    beat(registry, key)
    send_rewards(token, registry, governance, 205 * WAD)
    # Only alice's key beats near the epoch end: relay_node expired (its last beat was a day ago)
    # but is still in the trees, so it counts in the total weight and its half is forfeited.
    finish_epoch(registry, key)
    assert registry.pending_rewards(alice, alice) == 100 * WAD
    assert registry.pending_rewards(relay_node, relay_node) == 0
    assert not registry.is_eligible(relay_node)
    with boa.env.prank(alice):
        registry.poke(relay_node)
    assert registry.nodes(relay_node).weight == 0
    assert registry.reward_reserve() == 100 * WAD  # the forfeited 100 went back to the fresh balance
    finish_epoch(registry, key)  # redistributed (minus the tip) to the only live node
    assert registry.pending_rewards(alice, alice) == 195 * WAD


def test_poke_reverts_on_eligible_node(registry, relay_node, actors):
    with boa.reverts("registry: node is eligible"):
        registry.poke(relay_node)
    with boa.reverts("registry: node is eligible"):
        registry.poke(actors.delegator)


def test_heartbeat_event_and_reverts(registry, relay_node, actors):
    with boa.env.prank(actors.node_key):
        registry.heartbeat()
        ev = next(e for e in registry.get_logs() if type(e).__name__ == "Heartbeat")
    assert ev.node == relay_node and ev.timestamp == now()
    with boa.env.prank(relay_node), boa.reverts("registry: not a node key"):
        registry.heartbeat()


def test_heartbeat_expiry_and_return(registry, relay_node, actors, params):
    boa.env.time_travel(seconds=params.registry.heartbeat_seconds + 1)
    assert not registry.is_eligible(relay_node)
    assert registry.sample(RELAY, b"\x01" * 32, 3) == []  # drawn, rejected as expired
    beat(registry, actors.node_key)
    assert registry.sample(RELAY, b"\x01" * 32, 3) == [relay_node]


def test_commission_change_schedule(registry, relay_node, actors, token, governance, minimum, params):
    p = params.registry
    with boa.env.prank(relay_node):
        registry.set_commission(1500)
        ev = registry.get_logs()[-1]
    assert (ev.current_bps, ev.pending_bps, ev.effective_at) == (
        1000,
        1500,
        now() + p.commission_delay_seconds,
    )
    n = registry.nodes(relay_node)
    assert n.commission_bps == 1000 and n.pending_commission_bps == 1500
    with boa.env.prank(relay_node), boa.reverts("registry: commission pending"):
        registry.set_commission(1600)
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 2 * minimum)
    # Epochs that end before the effective time pay the old 10 %.
    send_rewards(token, registry, governance, 105 * WAD)
    finish_epoch(registry, actors.node_key)
    # Live at the end of epoch 1, which nobody finalises before the effective time.
    end_1 = registry.EPOCH_START() + 2 * registry.EPOCH_SECONDS()
    boa.env.time_travel(seconds=end_1 - 60 - now())
    beat(registry, actors.node_key)
    boa.env.time_travel(seconds=p.commission_delay_seconds)
    beat(registry, actors.node_key)
    send_rewards(token, registry, governance, 105 * WAD)
    finish_epoch(registry, actors.node_key)
    # The heartbeat above came after the effective time, but epoch 1 ended before it:
    # epoch 1 still pays the old 10 % (45/45 of the 90 left after commission).
    assert registry.pending_rewards(relay_node, actors.delegator) == 90 * WAD
    assert registry.nodes(relay_node).commission_bps == 1000
    # Finalise the epochs up to the effective time, then one epoch at the new 15 %.
    while (
        registry.epochs_finalised()
        < (registry.nodes(relay_node).commission_effective_at - registry.EPOCH_START())
        // registry.EPOCH_SECONDS()
    ):
        finish_epoch(registry, actors.node_key)
    # The epochs that ended while the node was down pay nothing; the next one it is live at pays.
    while registry.epochs_finalised() < (now() - registry.EPOCH_START()) // registry.EPOCH_SECONDS():
        registry.finalize_epoch()
    send_rewards(token, registry, governance, 105 * WAD)
    finish_epoch(registry, actors.node_key)
    assert registry.pending_rewards(relay_node, actors.delegator) == 90 * WAD + 425 * WAD // 10
    with boa.env.prank(relay_node):
        registry.claim(relay_node)
    assert registry.nodes(relay_node).commission_bps == 1500


def test_commission_reverts(registry, relay_node, actors):
    with boa.env.prank(relay_node), boa.reverts("registry: commission step big"):
        registry.set_commission(1501)
    with boa.env.prank(relay_node), boa.reverts("registry: commission unchanged"):
        registry.set_commission(1000)
    with boa.env.prank(actors.delegator), boa.reverts("registry: not registered"):
        registry.set_commission(0)


def test_commission_ceiling(registry, governance, relay_node, params):
    p = params.registry
    with boa.env.prank(governance):
        registry.set_parameters(
            p.min_self_stake_per_kind_wei,
            p.saturation_multiple,
            p.unbonding_seconds,
            p.heartbeat_seconds,
            1200,
            5000,
            p.commission_delay_seconds,
            p.finalize_tip_wei,
        )
    with boa.env.prank(relay_node), boa.reverts("registry: commission too high"):
        registry.set_commission(1300)


def test_emission_mints_node_share_to_registry(registry, emission, token, relay_node, actors, params):
    """The real wiring: Emission.advance() mints the node share straight to the registry."""
    assert registry.address in [str(a) for a in emission.receivers()]
    before = token.balanceOf(registry.address)
    boa.env.time_travel(seconds=max(emission.next_epoch_time() - now(), 0) + 1)
    emission.advance()
    minted = token.balanceOf(registry.address) - before
    assert minted > 0
    # The node was down at the end of the epochs that passed: they pay it nothing (their share
    # returns to the fresh balance at its next heartbeat); the next epoch it is live at pays.
    while registry.epochs_finalised() < (now() - registry.EPOCH_START()) // registry.EPOCH_SECONDS():
        registry.finalize_epoch()
    finish_epoch(registry, actors.node_key)
    owed_to_operator = registry.pending_rewards(relay_node, relay_node)
    assert 0 < owed_to_operator <= minted - params.registry.finalize_tip_wei
    assert token.balanceOf(registry.address) >= registry.principal() + registry.reward_reserve()
