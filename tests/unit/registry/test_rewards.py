"""finalize_epoch, claim, commission schedule, liveness forfeits, poke, heartbeat, Emission wiring."""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import (
    RELAY,
    beat,
    finish_epoch,
    live_epoch,
    live_for,
    now,
    register_node,
    send_rewards,
)

WAD = 10**18
# Rounding dust of a stream paid out over a day: the rate rounds down to whole wei per second and
# every accumulator update and checkpoint rounds down (the dust stays reserved).
DUST = 10**8


def test_finalize_epoch_reverts_before_end(registry):
    epoch_end = registry.EPOCH_START() + registry.EPOCH_SECONDS()
    assert now() < epoch_end - 10, "the fixture starts inside the first reward epoch"
    boa.env.time_travel(seconds=epoch_end - now() - 10)
    with boa.reverts("registry: epoch not over"):
        registry.finalize_epoch()


def test_finalize_without_stake_keeps_rewards(registry, token, governance):
    send_rewards(token, registry, governance, 100 * WAD)
    tip = finish_epoch(registry)
    assert tip == 5 * WAD  # finalize_tip from parameters.yaml
    boa.env.time_travel(seconds=registry.EPOCH_SECONDS())  # the stream runs with no weight
    assert registry.reward_reserve() == 0
    # The rest waits for stake.
    assert token.balanceOf(registry.address) == 95 * WAD


@pytest.mark.usefixtures("one_day_stream")
def test_rewards_split_commission_and_pool(
    directory, registry, relay_node, actors, token, governance, minimum
):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 2 * minimum)  # pool: 2 self + 2 delegated
    send_rewards(token, registry, governance, 1005 * WAD)
    caller = str(boa.env.generate_address("caller"))
    assert finish_epoch(registry, actors.node_key, caller=caller) == 5 * WAD
    assert token.balanceOf(caller) == 5 * WAD
    ev = next(e for e in registry.get_logs() if type(e).__name__ == "EpochFinalised")
    assert ev.rewards == 1000 * WAD and ev.total_weight == 4 * minimum // WAD
    # Nothing is paid at the finalisation itself: the 1000 stream over the next day.
    assert directory.pending_rewards(relay_node, actors.delegator) == 0
    live_for(registry, registry.EPOCH_SECONDS(), actors.node_key)
    # 10 % commission; the remaining 900 split 50/50 by shares.
    delegator_share = directory.pending_rewards(relay_node, actors.delegator)
    assert 450 * WAD - DUST <= delegator_share <= 450 * WAD
    assert 550 * WAD - DUST <= directory.pending_rewards(relay_node, relay_node) <= 550 * WAD
    b0 = token.balanceOf(actors.delegator)
    with boa.env.prank(actors.delegator):
        assert registry.claim(relay_node) == delegator_share
    assert token.balanceOf(actors.delegator) == b0 + delegator_share
    with boa.env.prank(relay_node):
        assert 550 * WAD - DUST <= registry.claim(relay_node) <= 550 * WAD
    assert registry.reward_reserve() <= DUST
    with boa.env.prank(relay_node):
        assert registry.claim(relay_node) == 0
    assert token.balanceOf(registry.address) >= registry.principal() + registry.reward_reserve()


@pytest.mark.usefixtures("one_day_stream")
def test_rewards_pro_rata_between_nodes(
    directory, registry, relay_node, actors, token, governance, minimum, alice
):
    key = str(boa.env.generate_address("alice-key"))
    register_node(registry, alice, key, kinds=RELAY, amount=6 * minimum, commission_bps=0)
    send_rewards(token, registry, governance, 805 * WAD)
    finish_epoch(registry, actors.node_key, key)
    live_for(registry, registry.EPOCH_SECONDS(), actors.node_key, key)
    # weights 2 : 6 -> 200 : 600
    assert 200 * WAD - DUST <= directory.pending_rewards(relay_node, relay_node) <= 200 * WAD
    assert 600 * WAD - DUST <= directory.pending_rewards(alice, alice) <= 600 * WAD


@pytest.mark.usefixtures("one_day_stream")
def test_claim_after_many_missed_epochs(registry, relay_node, actors, token, governance):
    """Each finalisation streams its 100 (plus what the previous stream had left) over a day; the
    operator claims once at the end: O(1) whatever the number of updates since."""
    for _ in range(5):
        send_rewards(token, registry, governance, 105 * WAD)
        live_epoch(registry, actors.node_key)
    live_for(registry, registry.EPOCH_SECONDS(), actors.node_key)
    with boa.env.prank(relay_node):
        assert 500 * WAD - 5 * DUST <= registry.claim(relay_node) <= 500 * WAD


@pytest.mark.usefixtures("one_day_stream")
def test_expired_node_forfeits_and_rewards_return(
    directory, registry, relay_node, actors, token, governance, alice, minimum
):
    key = str(boa.env.generate_address("alice-key"))
    register_node(registry, alice, key, kinds=RELAY, amount=2 * minimum, commission_bps=0)
    beat(registry, key)
    send_rewards(token, registry, governance, 205 * WAD)
    # Only alice's key beats: relay_node expired (an hour after its last beat) but is still in the
    # trees, so it counts in the total weight while the 200 stream, and its half is forfeited.
    finish_epoch(registry, key)
    live_for(registry, registry.EPOCH_SECONDS(), key)
    assert 100 * WAD - DUST <= directory.pending_rewards(alice, alice) <= 100 * WAD
    assert directory.pending_rewards(relay_node, relay_node) == 0
    assert not directory.is_eligible(relay_node)
    reserve = registry.reward_reserve()
    with boa.env.prank(alice):
        registry.poke(relay_node)
    assert directory.nodes(relay_node).weight == 0
    # The forfeited 100 went back to the fresh balance.
    assert reserve - 100 * WAD <= registry.reward_reserve() <= reserve - 100 * WAD + DUST
    finish_epoch(registry, key)  # redistributed (minus the tip) to the only live node
    live_for(registry, registry.EPOCH_SECONDS(), key)
    assert 195 * WAD - 2 * DUST <= directory.pending_rewards(alice, alice) <= 195 * WAD


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


def test_heartbeat_expiry_and_return(directory, registry, relay_node, actors, params):
    boa.env.time_travel(seconds=params.registry.heartbeat_seconds + 1)
    assert not directory.is_eligible(relay_node)
    assert registry.sample(RELAY, b"\x01" * 32, 3) == []  # drawn, rejected as expired
    beat(registry, actors.node_key)
    assert registry.sample(RELAY, b"\x01" * 32, 3) == [relay_node]


@pytest.mark.usefixtures("one_day_stream")
def test_commission_change_schedule(
    directory, registry, relay_node, actors, token, governance, minimum, params
):
    p = params.registry
    with boa.env.prank(relay_node):
        registry.set_commission(1500)
        ev = registry.get_logs()[-1]
    assert (ev.current_bps, ev.pending_bps, ev.effective_at) == (
        1000,
        1500,
        now() + p.commission_delay_seconds,
    )
    n = directory.nodes(relay_node)
    assert n.commission_bps == 1000 and n.pending_commission_bps == 1500
    with boa.env.prank(relay_node), boa.reverts("registry: commission pending"):
        registry.set_commission(1600)
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 2 * minimum)
    # What streams before the effective time pays the old 10 % (45/45 of the 90 left).
    send_rewards(token, registry, governance, 105 * WAD)
    finish_epoch(registry, actors.node_key)
    live_for(registry, registry.EPOCH_SECONDS(), actors.node_key)
    before = directory.pending_rewards(relay_node, actors.delegator)
    assert 45 * WAD - DUST <= before <= 45 * WAD
    assert directory.nodes(relay_node).commission_bps == 1000
    # The first checkpoint at or after the effective time applies 15 % from then on (the node was
    # down meanwhile: what streamed while it was expired is forfeited, not paid at either rate).
    boa.env.time_travel(seconds=directory.nodes(relay_node).commission_effective_at - now())
    beat(registry, actors.node_key)
    assert directory.nodes(relay_node).commission_bps == 1500
    assert directory.pending_rewards(relay_node, actors.delegator) == before
    while registry.epochs_finalised() < (now() - registry.EPOCH_START()) // registry.EPOCH_SECONDS():
        registry.finalize_epoch()
    send_rewards(token, registry, governance, 105 * WAD)
    live_epoch(registry, actors.node_key)
    live_for(registry, registry.EPOCH_SECONDS(), actors.node_key)
    # 100 at 15 %: 85 to the pool, 42.5 to the delegator.
    earned = directory.pending_rewards(relay_node, actors.delegator) - before
    assert 425 * WAD // 10 - DUST <= earned <= 425 * WAD // 10


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
            registry.stream_seconds(),
        )
    with boa.env.prank(relay_node), boa.reverts("registry: commission too high"):
        registry.set_commission(1300)


def test_emission_mints_node_share_to_registry(
    directory, registry, emission, token, relay_node, actors, params
):
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
    live_for(registry, registry.EPOCH_SECONDS(), actors.node_key)
    owed_to_operator = directory.pending_rewards(relay_node, relay_node)
    assert 0 < owed_to_operator <= minted - params.registry.finalize_tip_wei
    assert token.balanceOf(registry.address) >= registry.principal() + registry.reward_reserve()
