"""Per-kind reward streams: `kind_reward_bps`, `set_kind_reward_bps` and how `finalize_epoch` splits.

Every test below fails on the single-pool registry: it had no `kind_reward_bps` / `set_kind_reward_bps`
and paid one stream pro rata to the weight whatever the kinds, so a TURN node earned what a RELAY node
of the same stake earned (here 70 % against 20 %).
"""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import (
    NOTIFY,
    RELAY,
    TURN,
    beat,
    finish_epoch,
    fund,
    live_for,
    register_node,
    send_rewards,
    set_parameters,
)

WAD = 10**18
# Rounding dust of one stream paid over a day (the rate and each kind's rate round down to whole wei
# per second, every accumulator update and checkpoint rounds down; the dust stays reserved or fresh).
DUST = 10**8
STAKE_WORD_WEIGHT_SHIFT = 96
MASK53 = 2**53 - 1


@pytest.fixture
def node(token, registry, governance):
    """Registers a funded operator with `kinds`, commission 0 (the pool's rewards are the operator's)."""

    def make(name: str, kinds: int, amount: int) -> tuple[str, str]:
        op, key = str(boa.env.generate_address(name)), str(boa.env.generate_address(name + "-key"))
        fund(token, registry, governance, op, 10_000_000 * WAD)
        register_node(registry, op, key, kinds=kinds, amount=amount, commission_bps=0, tag=name)
        return op, key

    return make


def _reward_weights(registry) -> dict[int, int]:
    """W_RELAY, W_TURN, W_NOTIFY as stake_word packs them (u = weight * 6 // kinds declared)."""
    word = registry._storage.stake_word.get()
    return {
        kind: (word >> (STAKE_WORD_WEIGHT_SHIFT + 53 * i)) & MASK53
        for i, kind in enumerate((RELAY, TURN, NOTIFY))
    }


def test_view_and_deployed_split(registry, params):
    assert params.registry.kind_reward_bps == (2000, 7000, 1000)
    assert [registry.kind_reward_bps(k) for k in (RELAY, TURN, NOTIFY)] == [2000, 7000, 1000]
    # Not a kind (TURN_CREDENTIAL, a mask of two kinds, 0): 0, no revert.
    assert [registry.kind_reward_bps(k) for k in (0, 3, 8)] == [0, 0, 0]


def test_setter_access_and_input(registry, governance, alice):
    with boa.env.prank(alice), boa.reverts("access_control: account is missing role"):
        registry.set_kind_reward_bps([3000, 6000, 1000])
    with boa.env.prank(governance):
        with boa.reverts("registry: kind bps sum not 10000"):
            registry.set_kind_reward_bps([3000, 6000, 999])
        with boa.reverts("registry: kind bps sum not 10000"):
            registry.set_kind_reward_bps([3000, 6000, 1001])
        with boa.reverts(compiler="safeadd"):  # an overflowing sum is refused too (the checked add)
            registry.set_kind_reward_bps([2**256 - 1, 10_001, 0])
        # A 0 share is allowed: that kind's nodes then earn nothing (see the test below).
        registry.set_kind_reward_bps([0, 10_000, 0])
        ev = registry.get_logs()[-1]
    assert (ev.relay_bps, ev.turn_bps, ev.notify_bps) == (0, 10_000, 0)
    assert [registry.kind_reward_bps(k) for k in (RELAY, TURN, NOTIFY)] == [0, 10_000, 0]


@pytest.mark.usefixtures("one_day_stream")
def test_each_kind_is_paid_its_share(registry, token, governance, minimum, node):
    """One RELAY, one TURN and one NOTIFY node with equal stakes earn 20 %, 70 % and 10 % of a stream
    (the single pool paid a third each)."""
    nodes = [node(f"k{kind}", kind, 2 * minimum) for kind in (RELAY, TURN, NOTIFY)]
    keys = [key for _, key in nodes]
    send_rewards(token, registry, governance, 1005 * WAD)
    finish_epoch(registry, *keys)
    live_for(registry, registry.EPOCH_SECONDS(), *keys)
    for (op, _), share in zip(nodes, (200, 700, 100), strict=True):
        assert share * WAD - DUST <= registry_pending(registry, op) <= share * WAD


def registry_pending(registry, op: str) -> int:
    """What the operator could claim now (its commission is 0: the pool's rewards are its own)."""
    with boa.env.anchor(), boa.env.prank(op):
        return int(registry.claim(op))


@pytest.mark.usefixtures("one_day_stream")
def test_a_kind_without_nodes_strands_nothing(registry, token, governance, minimum, node):
    """With no NOTIFY node the stream is split over RELAY and TURN only (20 : 70), and a RELAY-only
    network gets the whole stream, exactly as one pool would pay it."""
    relay, relay_key = node("r", RELAY, 2 * minimum)
    turn, turn_key = node("t", TURN, 2 * minimum)
    send_rewards(token, registry, governance, 905 * WAD)
    finish_epoch(registry, relay_key, turn_key)
    live_for(registry, registry.EPOCH_SECONDS(), relay_key, turn_key)
    assert 200 * WAD - DUST <= registry_pending(registry, relay) <= 200 * WAD
    assert 700 * WAD - DUST <= registry_pending(registry, turn) <= 700 * WAD
    with boa.env.prank(turn):
        registry.unbond(turn, registry.node_words(turn, turn)[6] & (2**127 - 1))  # TURN empties
    before = registry_pending(registry, relay)
    send_rewards(token, registry, governance, 505 * WAD)
    finish_epoch(registry, relay_key)
    live_for(registry, registry.EPOCH_SECONDS(), relay_key)
    assert 500 * WAD - DUST <= registry_pending(registry, relay) - before <= 500 * WAD


def test_a_two_kind_node_weighs_half_its_weight_in_each_kind(registry, minimum, node, directory):
    """u = weight * 6 // n: a RELAY+NOTIFY node counts weight * 3 in W_RELAY and in W_NOTIFY, a
    three-kind node weight * 2 in each; total_weight still counts each node once."""
    both, both_key = node("rn", RELAY | NOTIFY, 4 * minimum)
    every, every_key = node("rtn", RELAY | TURN | NOTIFY, 6 * minimum)
    beat(registry, both_key, every_key)
    w2, w3 = directory.nodes(both).weight, directory.nodes(every).weight
    assert (w2, w3) == (4 * minimum // WAD, 6 * minimum // WAD)
    assert _reward_weights(registry) == {RELAY: 3 * w2 + 2 * w3, TURN: 2 * w3, NOTIFY: 3 * w2 + 2 * w3}
    assert registry.total_weight() == w2 + w3
    # Sampling keeps the full weight in every declared kind's tree.
    assert registry.total_stake(RELAY) == (w2 + w3) * WAD and registry.total_stake(TURN) == w3 * WAD
    with boa.env.prank(both):
        registry.unbond(both, directory.shares(both, both))
    assert _reward_weights(registry) == {RELAY: 2 * w3, TURN: 2 * w3, NOTIFY: 2 * w3}


@pytest.mark.usefixtures("one_day_stream")
def test_declaring_kinds_does_not_multiply_rewards(registry, token, governance, minimum, node):
    """RELAY and NOTIFY at the same per-weight price (50 % each, equal weights in both): a RELAY+NOTIFY
    node earns exactly what a RELAY-only and a NOTIFY-only node of the same stake earn, not twice."""
    with boa.env.prank(governance):
        registry.set_kind_reward_bps([5000, 0, 5000])
    both, both_key = node("rn", RELAY | NOTIFY, 2 * minimum)
    relay, relay_key = node("r", RELAY, 2 * minimum)
    notify, notify_key = node("n", NOTIFY, 2 * minimum)
    keys = (both_key, relay_key, notify_key)
    send_rewards(token, registry, governance, 905 * WAD)
    finish_epoch(registry, *keys)
    live_for(registry, registry.EPOCH_SECONDS(), *keys)
    paid = [registry_pending(registry, op) for op in (both, relay, notify)]
    for p in paid:
        assert 300 * WAD - DUST <= p <= 300 * WAD
    assert max(paid) - min(paid) <= DUST


@pytest.mark.usefixtures("one_day_stream")
def test_a_zero_share_kind_earns_nothing(registry, token, governance, minimum, node):
    with boa.env.prank(governance):
        registry.set_kind_reward_bps([0, 10_000, 0])
    relay, relay_key = node("r", RELAY, 2 * minimum)
    turn, turn_key = node("t", TURN, 2 * minimum)
    send_rewards(token, registry, governance, 405 * WAD)
    finish_epoch(registry, relay_key, turn_key)
    live_for(registry, registry.EPOCH_SECONDS(), relay_key, turn_key)
    assert registry_pending(registry, relay) == 0
    assert 400 * WAD - DUST <= registry_pending(registry, turn) <= 400 * WAD


@pytest.mark.usefixtures("one_day_stream")
def test_a_kind_emptying_mid_stream_is_fresh_again(registry, token, governance, minimum, node, directory):
    """The TURN node is jailed half-way through the stream: what streams to TURN after that is in no
    reserve and the next finalisation streams it again (to RELAY, the only kind left)."""
    relay, relay_key = node("r", RELAY, 2 * minimum)
    turn, turn_key = node("t", TURN, 2 * minimum)
    send_rewards(token, registry, governance, 905 * WAD)
    finish_epoch(registry, relay_key, turn_key)
    half = registry.EPOCH_SECONDS() // 2
    live_for(registry, half, relay_key, turn_key)
    with boa.env.prank(governance):
        registry.jail(turn, 2**39)
    assert directory.nodes(turn).weight == 0
    live_for(registry, registry.EPOCH_SECONDS() - half, relay_key)
    assert 200 * WAD - DUST <= registry_pending(registry, relay) <= 200 * WAD
    assert 350 * WAD - DUST <= registry_pending(registry, turn) <= 350 * WAD
    tip = registry.finalize_tip()
    finish_epoch(registry, relay_key)
    ev = next(e for e in registry.get_logs() if type(e).__name__ == "EpochFinalised")
    # TURN's second half (350) came back as fresh rewards, less the tip.
    assert 350 * WAD - tip <= ev.rewards <= 350 * WAD - tip + DUST


@pytest.mark.usefixtures("one_day_stream")
def test_a_split_change_keeps_the_past_at_the_old_split(registry, token, governance, minimum, node):
    """Nobody checkpoints during the first half of the stream (a heartbeat lasts two days here); the
    split changes half-way: the first half is paid 20 : 70, the second 70 : 20. Had the setter not
    brought every kind up to now first, the first half would have been paid at the new split."""
    set_parameters(registry, governance, heartbeat_seconds=2 * registry.EPOCH_SECONDS())
    relay, relay_key = node("r", RELAY, 2 * minimum)
    turn, turn_key = node("t", TURN, 2 * minimum)
    send_rewards(token, registry, governance, 905 * WAD)
    finish_epoch(registry, relay_key, turn_key)
    day = registry.EPOCH_SECONDS()
    boa.env.time_travel(seconds=day // 2)
    with boa.env.prank(governance):
        registry.set_kind_reward_bps([7000, 2000, 1000])
    boa.env.time_travel(seconds=day - day // 2)
    beat(registry, relay_key, turn_key)
    assert 450 * WAD - DUST <= registry_pending(registry, relay) <= 450 * WAD  # 100 + 350
    assert 450 * WAD - DUST <= registry_pending(registry, turn) <= 450 * WAD  # 350 + 100


def test_the_directory_decodes_what_the_registry_stores(
    registry, directory, minimum, node, relay_node, actors
):
    """The lens and the Python client decode `node_words` the same way, field for field."""
    from clubchat.registry import words

    both, both_key = node("rn", RELAY | NOTIFY, 4 * minimum)
    beat(registry, both_key)
    with boa.env.prank(actors.delegator):
        registry.delegate(both, minimum)
    for op in (relay_node, both):
        lens, python = directory.nodes(op), words.decode(registry.node_words(op, op))
        assert tuple(str(x) for x in lens) == tuple(str(x) for x in python)
        assert directory.is_eligible(op) == words.eligible(
            registry.node_words(op, op), registry.min_self_stake_per_kind(), int(boa.env.evm.patch.timestamp)
        )
    assert directory.shares(both, actors.delegator) > 0
    assert directory.pending_rewards(both, actors.delegator) == words.pending_rewards(
        registry.node_words(both, actors.delegator), registry.rewards(both, actors.delegator), False
    )


@pytest.mark.usefixtures("one_day_stream")
def test_the_client_reads_a_deregistered_pool(registry, directory, token, governance, minimum, node, actors):
    """`RegistryActions` decodes `node_words` itself (no lens address): its record, shares and pending
    rewards equal the lens's, also for the pool a node left behind when it deregistered."""
    from clubchat.deploy.boa_backend import BoaPort
    from clubchat.registry.client import RegistryActions

    op, key = node("gone", RELAY, 2 * minimum)
    with boa.env.prank(actors.delegator):
        registry.delegate(op, minimum)
    send_rewards(token, registry, governance, 105 * WAD)
    finish_epoch(registry, key)
    live_for(registry, registry.EPOCH_SECONDS(), key)
    with boa.env.prank(op):
        registry.unbond(op, directory.shares(op, op))
        registry.deregister()
    view = RegistryActions(BoaPort(), registry, token)
    assert directory.nodes(op).kinds == view.node(op).kinds == 0
    assert view.shares(op, actors.delegator) == directory.shares(op, actors.delegator) > 0
    owed = directory.pending_rewards(op, actors.delegator)
    assert owed > 0 and view.pending_rewards(op, actors.delegator) == owed
    with boa.env.prank(actors.delegator):
        assert registry.claim(op) == owed
