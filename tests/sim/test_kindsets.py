"""Operators serving several kinds as NodeRegistry lets them, and capital as a condition of entry.

The registry (checked on the deployed contract below) pays one reward stream per kind, in which a node
weighs its weight / its number of declared kinds, puts the whole stake in every declared kind's
sampling tree, and asks the minimum self-stake per declared kind. The model pays, samples and charges
kind sets that way.
"""

from __future__ import annotations

import boa
import numpy as np
import pytest
from scipy.stats import lognorm

from clubchat.sim import engine, kindsets, model
from clubchat.sim.parameters import YEAR_DAYS, from_parameters
from tests.utils.registry import NOTIFY, RELAY, fund, live_for, register_node, send_rewards, set_parameters

WAD = 10**18
RELAY_NOTIFY = kindsets.MEMBERS.tolist().index([1.0, 0.0, 1.0])  # bitmask 5
NOTIFY_ONLY = kindsets.SINGLE[2]


def test_kind_sets_are_the_registry_bitmasks():
    assert kindsets.label(RELAY_NOTIFY) == "RELAY+NOTIFY" and RELAY_NOTIFY + 1 == RELAY | NOTIFY
    assert [kindsets.label(i) for i in kindsets.SINGLE] == ["RELAY", "TURN", "NOTIFY"]
    np.testing.assert_array_equal(kindsets.SIZE, [1, 1, 2, 1, 2, 2, 3])
    # 9 edges of the cube without the empty set, both ways
    assert kindsets.NEIGHBOUR.sum() == 18 and not kindsets.NEIGHBOUR[0, 0]


def test_the_registry_pays_a_multi_kind_node_per_kind_and_samples_it_in_every_kind(
    protocol, token, params, registry_actors
):
    """On the deployed NodeRegistry: a RELAY+NOTIFY node must bond 2 x the minimum; with the same stake
    as a NOTIFY-only node it weighs half its weight in RELAY's stream and half in NOTIFY's. No node
    serves TURN, so the split is taken over RELAY and NOTIFY (their bps renormalised): the multi-kind
    node takes all of RELAY's part and a third of NOTIFY's (its half weight against the other's whole
    one), 7/9 of the stream at the deployed 2000 / 7000 / 1000, the NOTIFY node 2/9. Its whole weight
    is in the RELAY tree and in the NOTIFY tree, and it counts once in the total weight. The model
    (the deployed split, the same two nodes) pays the two sets what the chain did."""
    registry = protocol["NodeRegistry"]
    governance = str(protocol["Timelock"].address)
    minimum = params.registry.min_self_stake_per_kind_wei
    multi, single, multi_key, single_key = registry_actors
    for who in (multi, single):
        fund(token, registry, governance, who, 10 * minimum)
    set_parameters(registry, governance, stream_seconds=registry.EPOCH_SECONDS())
    with boa.reverts("registry: stake below minimum"):
        register_node(registry, multi, multi_key, kinds=RELAY | NOTIFY, amount=2 * minimum - 1, tag="m")
    register_node(
        registry, multi, multi_key, kinds=RELAY | NOTIFY, amount=2 * minimum, commission_bps=0, tag="m"
    )
    register_node(registry, single, single_key, kinds=NOTIFY, amount=2 * minimum, commission_bps=0, tag="s")
    live_for(registry, 60, multi_key, single_key)
    weight = 2 * minimum // WAD
    assert registry.total_weight() == 2 * weight  # each node counted once
    assert registry.total_stake(RELAY) == weight * WAD  # the multi-kind node's whole stake
    assert registry.total_stake(NOTIFY) == 2 * weight * WAD  # both nodes, whole stakes
    send_rewards(token, registry, governance, 1_000 * WAD)
    end = registry.EPOCH_START() + (registry.epochs_finalised() + 1) * registry.EPOCH_SECONDS()
    live_for(registry, end - int(boa.env.evm.patch.timestamp) + 1, multi_key, single_key)
    registry.finalize_epoch()
    live_for(registry, registry.EPOCH_SECONDS(), multi_key, single_key)
    paid_multi = protocol["NodeDirectory"].pending_rewards(multi, multi)
    paid_single = protocol["NodeDirectory"].pending_rewards(single, single)
    bps = [registry.kind_reward_bps(k) for k in (RELAY, NOTIFY)]
    relay_part = bps[0] / sum(bps)
    expected_multi = relay_part + (1 - relay_part) / 3  # 7/9 at 2000 / 1000
    paid = paid_multi + paid_single
    assert paid > 990 * WAD  # the stream (1,000 CLUB less the finaliser's tip) paid out within the epoch
    assert paid_multi / paid == pytest.approx(expected_multi, rel=1e-9)
    # the model pays the two sets the same shares (the deployed split, the same two nodes)
    n = np.zeros(kindsets.N_SETS)
    n[[RELAY_NOTIFY, NOTIFY_ONLY]] = 1.0
    split = np.asarray(from_parameters(params).kind_reward_split)
    reward, stake = kindsets.pool_economics(n, 1_000.0, 0.0, 2.0 * weight, split, None, np.ones(7))
    assert reward[RELAY_NOTIFY] / 1_000.0 == pytest.approx(expected_multi)
    assert reward[NOTIFY_ONLY] / 1_000.0 == pytest.approx(1 - expected_multi)
    # delegators equalise the yield: stake follows the rewards
    shares = reward[[RELAY_NOTIFY, NOTIFY_ONLY]] / 1_000.0
    np.testing.assert_allclose(stake[[RELAY_NOTIFY, NOTIFY_ONLY]], 2.0 * weight * shares)


@pytest.fixture
def registry_actors():
    return tuple(
        str(boa.env.generate_address(name)) for name in ("multi", "single", "multi-key", "single-key")
    )


def test_per_kind_streams_pay_each_declared_kind():
    """Per-kind streams (the registry's): a node serving RELAY and NOTIFY weighs half its weight in each
    of the two streams."""
    n = kindsets.from_kinds([2.0, 1.0, 4.0])
    n[RELAY_NOTIFY] = 2.0  # RELAY weight 2 + 2 x 1/2 = 3, NOTIFY weight 4 + 2 x 1/2 = 5
    split = np.array([0.5, 0.3, 0.2])
    reward, _ = kindsets.pool_economics(n, 100.0, 0.0, 1.0, split, None, np.ones(7))
    assert reward[0] == pytest.approx(50.0 / 3)
    assert reward[NOTIFY_ONLY] == pytest.approx(20.0 / 5)
    assert reward[RELAY_NOTIFY] == pytest.approx(50.0 / 6 + 20.0 / 10)
    assert (n * reward).sum() == pytest.approx(100.0)  # every stream paid out once


def test_a_set_pays_its_dearest_kind_in_full_and_a_share_of_the_others():
    fixed = kindsets.set_fixed_cost((40.0, 80.0, 30.0), 0.3)
    assert fixed[RELAY_NOTIFY] == pytest.approx(40.0 + 0.3 * 30.0)
    assert fixed[6] == pytest.approx(80.0 + 0.3 * 70.0)  # all three
    np.testing.assert_allclose(fixed[kindsets.SINGLE], [40.0, 80.0, 30.0])


def test_self_stake_per_node_covers_each_sets_minimum():
    n = kindsets.from_kinds([1.0, 0.0, 1.0])
    n[6] = 2.0  # two nodes serving all three kinds
    own = kindsets.own_stake(n, 100.0, 10.0)  # floor 1 x 10 + 1 x 10 + 2 x 30 = 80, 20 above it
    assert own[0] == pytest.approx(15.0) and own[6] == pytest.approx(35.0)
    assert (n * own).sum() == pytest.approx(100.0)


def test_switching_off_is_the_single_kind_model(sim_params):
    """`kind_switch_speed` = 0: no node ever declares two kinds, every operator runs one node of one
    kind (operators == the sum of the per-kind counts)."""
    a = engine.simulate(sim_params.replace(kind_switch_speed=0.0), runs=8, days=400, seed=3, record_every=20)
    assert (a["nodes_multi"] == 0).all()
    np.testing.assert_allclose(a["operators"], a["nodes"].sum(axis=-1))


def _one_day(p, nodes_by_set, **state):
    ctx = model.make_context(p, 10)
    s = model.initial_state(p, ctx)
    s.update(nodes_by_set=nodes_by_set, nodes=kindsets.per_kind(nodes_by_set), operators=nodes_by_set.sum())
    s.update(state)
    return model.p_nodes(p, ctx, s, 0, np.zeros(2))


def test_a_notify_operator_adds_relay_only_when_the_registry_pays_per_kind(sim_params):
    """The decision the single-kind model could not express. Under per-kind streams a NOTIFY-only
    operator earns RELAY's stream for a third of a RELAY server, so NOTIFY operators move to
    RELAY+NOTIFY; under the one pool the registry had before the second kind earns nothing and they
    stay."""
    n = kindsets.from_kinds([3.0, 3.0, 100.0])
    income = {"node_rewards_day": np.float64(2e5), "fees_premium_to_nodes": np.float64(0.0)}
    split = _one_day(sim_params.replace(kind_reward_split=(0.5, 0.4, 0.1)), n, **income)
    one = _one_day(sim_params.replace(kind_reward_split=(0.0, 0.0, 0.0)), n, **income)
    assert split["nodes_by_set"][RELAY_NOTIFY] > 1.0  # 100 x speed x tanh(gain), gain large
    assert one["nodes_by_set"][RELAY_NOTIFY] == 0.0
    assert split["nodes"][0] > one["nodes"][0] + 1.0
    # the kind counts follow the sets; a multi-kind node counts in both
    np.testing.assert_allclose(split["nodes"], kindsets.per_kind(split["nodes_by_set"]))
    assert split["operators"] == pytest.approx(split["nodes_by_set"].sum())


def _run(p, years=5, runs=48, seed=12):
    return engine.simulate(p, runs=runs, days=years * YEAR_DAYS, seed=seed, record_every=YEAR_DAYS)


def test_multi_kind_nodes_keep_relay_and_raise_attack_costs_under_per_kind_streams(sim_params):
    """Per-kind streams with multi-kind operators against the single-kind model of the same design
    (48 runs, year 5): NOTIFY operators add RELAY for a third of a RELAY server, so RELAY has about
    1.8x the nodes (407 against 222); fewer operators hold the same self-stake, so honest reviewers
    weigh more and capturing a review panel costs about 2x ($79k against $40k). Eclipsing users
    through relay selection costs only a little more ($530k against $507k): the RELAY tree's stake
    follows what RELAY-serving nodes earn, which the split fixes. The single-kind model (switching
    off) fails the first two: a RELAY node there must pay a whole RELAY server."""
    p = sim_params.replace(kind_reward_split=(0.5, 0.4, 0.1))
    multi, single = _run(p), _run(p.replace(kind_switch_speed=0.0))
    assert np.median(multi["nodes_multi"][-1]) > 100
    assert np.median(multi["nodes"][-1, :, 0]) > 1.5 * np.median(single["nodes"][-1, :, 0])
    assert np.median(multi["panel_attack_usd"][-1]) > 1.5 * np.median(single["panel_attack_usd"][-1])
    assert np.median(multi["relay_attack_usd"][-1]) > np.median(single["relay_attack_usd"][-1])


def test_the_one_pool_leaves_relay_at_the_floor_with_multi_kind_operators(sim_params):
    """The registry before per-kind streams, operators free to declare several kinds: the second kind
    earns nothing from the one pool, so RELAY still falls to the community's floor (the RELAY collapse
    was the pool's doing, not the single-kind simplification)."""
    a = _run(sim_params.replace(kind_reward_split=(0.0, 0.0, 0.0)), years=3)
    assert np.median(a["nodes"][-1, :, 0]) == sim_params.nodes_min[0]
    assert np.median(a["nodes_multi"][-1]) < 1.0


def test_capital_eligible_is_the_lognormal_tail(sim_params):
    p = sim_params.replace(operator_wealth_usd=5_000.0, operator_wealth_sigma=1.5, min_self_stake=10_000.0)
    e = kindsets.capital_eligible(p, np.float64(0.05))  # $500 per declared kind
    dist = lognorm(s=1.5, scale=5_000.0)
    np.testing.assert_allclose(e, dist.sf(500.0 * kindsets.SIZE))
    assert e[6] < e[RELAY_NOTIFY] < e[0]  # more kinds, more capital needed
    everyone = kindsets.capital_eligible(p.replace(operator_wealth_sigma=0.0), np.float64(0.05))
    np.testing.assert_array_equal(everyone, np.ones(7))
    assert (kindsets.capital_eligible(p.replace(operator_wealth_sigma=0.0, operator_wealth_usd=999.0), 0.05)
            == [1, 1, 0, 1, 0, 0, 0]).all()  # fmt: skip


@pytest.mark.parametrize("minimum", [10_000.0, 100_000.0, 1_000_000.0])
def test_raising_the_minimum_self_stake_shrinks_the_eligible_pool(sim_params, minimum):
    low = kindsets.capital_eligible(sim_params.replace(min_self_stake=minimum), np.float64(0.05))
    high = kindsets.capital_eligible(sim_params.replace(min_self_stake=2 * minimum), np.float64(0.05))
    assert (high < low).all() and (high > 0).all()


def test_entry_is_limited_by_capital_not_only_by_profit(sim_params):
    """One day of the node block with NOTIFY very profitable: the same profit brings fewer nodes when
    fewer would-be operators can bond the minimum; exit (RELAY losing money) does not depend on it."""
    n = kindsets.from_kinds([100.0, 100.0, 100.0])
    state = {"node_rewards_day": np.float64(1e4), "fees_ads_to_nodes": np.float64(1e6)}
    p = sim_params.replace(node_fixed_usd_month=(5_000.0, 80.0, 30.0), kind_switch_speed=0.0)
    rich = _one_day(p.replace(operator_wealth_usd=1e9), n, **state)
    poor = _one_day(p.replace(operator_wealth_usd=300.0), n, **state)
    raised = _one_day(p.replace(min_self_stake=4 * p.min_self_stake), n, **state)
    assert rich["nodes"][2] > raised["nodes"][2] > poor["nodes"][2] > 100.0
    assert rich["nodes"][0] == pytest.approx(poor["nodes"][0]) and rich["nodes"][0] < 100.0


def test_a_higher_minimum_slows_entry_in_the_simulation(sim_params):
    """Over the first year (16 runs, the deployed per-kind streams): at 20x the minimum ($10,000 at
    genesis, twice the median operator's capital) about 21 NOTIFY nodes are running against about 29
    at the deployed minimum; with every operator rich enough the same minimum keeps about 28, so
    capital, not the dearer self-stake, holds them back. (Under the one stream the registry had
    before, NOTIFY absorbed the emission: about 40 against 85, and 73 when everyone was rich.)"""
    high = sim_params.replace(min_self_stake=20 * sim_params.min_self_stake)
    base, limited = _run(sim_params, years=1, runs=16), _run(high, years=1, runs=16)
    rich = _run(high.replace(operator_wealth_usd=1e12), years=1, runs=16)
    notify = [np.median(a["nodes"][-1, :, 2]) for a in (base, limited, rich)]
    assert notify[1] < 0.8 * notify[0]
    assert notify[1] < 0.8 * notify[2]
    assert notify[2] == pytest.approx(notify[0], rel=0.1)  # the dearer stake alone changes little


def test_multipliers_weigh_a_multi_kind_node_by_the_mean_of_its_kinds():
    """The multiplier design weighs a node's stake by the mean of its kinds' multipliers (declaring RELAY
    beside NOTIFY must not triple a node's weight for a share of a server); deployed: all 1."""
    np.testing.assert_array_equal(kindsets.set_multiplier((1.0, 1.0, 1.0)), np.ones(7))
    m = kindsets.set_multiplier((3.0, 4.0, 1.0))
    assert m[RELAY_NOTIFY] == pytest.approx(2.0) and m[6] == pytest.approx(8.0 / 3.0)
    np.testing.assert_allclose(m[kindsets.SINGLE], [3.0, 4.0, 1.0])
