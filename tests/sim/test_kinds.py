"""Node rewards per kind: the model pays kinds the way the contracts do (per-kind streams by the deployed
`kind_reward_bps`), reproduces the RELAY collapse of the one stream the registry had before, and measures
the designs compared with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from clubchat.params import load as load_parameters
from clubchat.premium import split_payment
from clubchat.sim import engine, kinds, kindsets, model
from clubchat.sim.parameters import YEAR_DAYS, from_parameters


def test_fee_splits_are_the_contracts():
    """Premium's burn share and AdMarket's split come from parameters.yaml (they were assumptions: a
    40/20/20/20 ad split against the deployed 50/20/20/10)."""
    params = load_parameters()
    p = from_parameters(params)
    burn, to_nodes = split_payment(10**22, params.premium.burn_bps)
    assert p.premium_burn_share == burn / 10**22
    assert 1 - p.premium_burn_share == to_nodes / 10**22
    split = (p.ads_split_users, p.ads_split_nodes, p.ads_split_communities, p.ads_split_burn)
    assert [round(x * 10_000) for x in split] == params.ads.split_bps
    assert p.panel_size == params.disputes.panel_size


def test_ad_fees_pay_operators_not_delegators(sim_params):
    """AdMarket pays its node share to the delivering node's operator: more ad revenue adds NOTIFY
    nodes but not a wei of delegator yield (the model paid it into the pools)."""
    base = sim_params.replace(premium_uptake=0.0)
    lo = engine.simulate(base.replace(ads_optin=0.0), runs=8, days=400, seed=8)
    hi = engine.simulate(base.replace(ads_optin=0.6), runs=8, days=400, seed=8)
    assert np.median(hi["nodes"][-1, :, 2]) > 2 * np.median(lo["nodes"][-1, :, 2])
    assert (
        model.pool_income({"node_rewards_day": 1.0, "fees_premium_to_nodes": 2.0, "fees_ads_to_nodes": 4.0})
        == 3.0
    )


def _kind_shares(p, nodes):
    """Each kind's share of the rewards when every node serves one kind (single-kind sets)."""
    ctx = model.make_context(p, 10)
    n = np.array([kindsets.from_kinds(x) for x in nodes])
    reward, _ = model.set_economics(
        p, ctx, {"nodes_by_set": n, "node_rewards_day": np.ones(len(nodes)),
                 "fees_premium_to_nodes": np.zeros(len(nodes)), "staked": np.ones(len(nodes))},
    )  # fmt: skip
    return (n * reward)[:, kindsets.SINGLE]


def test_kind_shares():
    """One stream pro rata to stake (the registry before per-kind streams): shares follow the node counts
    (times the multipliers); per-kind streams: the split, whatever the counts."""
    p = from_parameters()
    one = p.replace(kind_reward_split=kinds.ONE_STREAM)
    nodes = [[10.0, 30.0, 60.0], [1.0, 1.0, 2.0]]
    np.testing.assert_allclose(_kind_shares(one, nodes), [[0.1, 0.3, 0.6], [0.25, 0.25, 0.5]])
    q = one.replace(kind_reward_multiplier=(2.0, 1.0, 1.0))
    np.testing.assert_allclose(_kind_shares(q, nodes)[0], [20 / 110, 30 / 110, 60 / 110])
    q = p.replace(kind_reward_split=(0.5, 0.3, 0.2))
    np.testing.assert_allclose(_kind_shares(q, nodes), [[0.5, 0.3, 0.2]] * 2)


def test_the_default_split_is_the_deployed_kind_reward_bps():
    """The model's baseline is the deployed registry: its per-kind split is `registry.kind_reward_bps`
    (the one stream, all zero, was the default before the registry paid per kind)."""
    p, params = from_parameters(), load_parameters()
    bps = params.registry.kind_reward_bps
    assert p.kind_reward_split == tuple(b / 10_000 for b in bps) != kinds.ONE_STREAM
    assert sum(bps) == 10_000
    assert model.make_context(p, 1).kind_split is not None
    other = dataclasses.replace(
        params, registry=dataclasses.replace(params.registry, kind_reward_bps=(5000, 0, 5000))
    )
    assert from_parameters(other).kind_reward_split == (0.5, 0.0, 0.5)


def test_a_kind_without_nodes_leaves_its_share_to_the_others():
    """The registry takes the split over the kinds that have reward weight when it finalises: with no
    RELAY node RELAY's share goes to TURN and NOTIFY, renormalised by their bps (none is stranded); a
    fixed split would leave it unpaid."""
    p = from_parameters().replace(kind_reward_split=(0.2, 0.7, 0.1))
    shares = _kind_shares(p, [[0.0, 30.0, 60.0], [5.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(shares, [[0.0, 0.7 / 0.8, 0.1 / 0.8], [1.0, 0.0, 0.0], [0.2, 0.7, 0.1]])
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0)
    # no kind with a share has nodes: nothing is paid
    none = _kind_shares(p.replace(kind_reward_split=(0.0, 1.0, 0.0)), [[5.0, 0.0, 5.0]])
    np.testing.assert_array_equal(none, [[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("bad", [(0.5, 0.3, 0.3), (1.2, -0.2, 0.0), (0.5, 0.5)])
def test_split_must_be_fractions(bad):
    p = from_parameters().replace(kind_reward_split=bad)
    with pytest.raises(ValueError, match="kind_reward_split must be three non-negative fractions"):
        model.make_context(p, 10)


def _nodes_at(p, years, runs=48, seed=12):
    s = engine.simulate(p, runs=runs, days=years * YEAR_DAYS, seed=seed, record_every=YEAR_DAYS)
    return np.median(s["nodes"][-1], axis=0)


def test_one_stream_collapses_relay(sim_params):
    """The finding that led to per-kind streams: with the registry paying one stream by stake whatever
    the kind, RELAY (and TURN) fall to the community-run floor by year 3 while NOTIFY, cheapest to run
    and paid by ads too, keeps growing."""
    n = _nodes_at(sim_params.replace(kind_reward_split=kinds.ONE_STREAM), 3)
    assert n[0] == sim_params.nodes_min[0]
    assert n[1] == sim_params.nodes_min[1]
    assert n[2] > 30 * sim_params.nodes_min[2]


def test_multipliers_do_not_prevent_a_collapse(sim_params):
    """Weighting a kind's stake in the one stream only moves the knife-edge: some kind still falls to
    the floor."""
    n = _nodes_at(
        sim_params.replace(kind_reward_split=kinds.ONE_STREAM, kind_reward_multiplier=kinds.MULTIPLIERS), 3
    )
    assert (n == np.asarray(sim_params.nodes_min)).any()


@pytest.mark.parametrize("split", [None, (0.5, 0.3, 0.2)])
def test_per_kind_streams_keep_relays(sim_params, split):
    """One stream per kind (the deployed split, and another): RELAY keeps tens of nodes (it had the
    floor of 3 under the one stream) and users stay."""
    one = engine.simulate(
        sim_params.replace(kind_reward_split=kinds.ONE_STREAM), runs=48, days=3 * YEAR_DAYS, seed=12,
        record_every=YEAR_DAYS,
    )  # fmt: skip
    p = sim_params if split is None else sim_params.replace(kind_reward_split=split)
    per_kind = engine.simulate(p, runs=48, days=3 * YEAR_DAYS, seed=12, record_every=YEAR_DAYS)
    assert np.median(per_kind["nodes"][-1, :, 0]) > 10 * np.median(one["nodes"][-1, :, 0])
    assert np.median(per_kind["users"][-1]) > 2 * np.median(one["users"][-1])
    assert np.median(per_kind["nakamoto_relay"][-1]) > np.median(one["nakamoto_relay"][-1])


def test_nakamoto_coefficient():
    """Equal stakes: a third of n nodes; a rank-size exponent of 0.8: 8 of 180 (Cosmos Hub's ~7)."""
    p = from_parameters()
    equal = model.make_context(p.replace(stake_rank_exponent=0.0), 1)
    np.testing.assert_array_equal(model.nakamoto(equal, np.array([3.0, 10.0, 300.0, 3.5])), [1, 4, 100, 1])
    skew = model.make_context(p.replace(stake_rank_exponent=0.8), 1)
    assert model.nakamoto(skew, np.array([180.0]))[0] == 8
    assert model.nakamoto(skew, np.array([1e9]))[0] == model.nakamoto(skew, np.array([2.0**17]))[0]


def test_simplex():
    assert kinds.simplex(0.25) == [(0.25, 0.25, 0.5), (0.25, 0.5, 0.25), (0.5, 0.25, 0.25)]
    grid = kinds.simplex(0.1)
    assert len(grid) == 36 and all(min(w) >= 0.1 - 1e-12 and abs(sum(w) - 1) < 1e-12 for w in grid)


def test_select_split_is_maximin():
    """The chosen split has the best worst environment of the grid."""
    c = kinds.select_split(step=0.25, runs=4, years=1, environments=("baseline", "bear"))
    assert set(c.scores) == set(kinds.simplex(0.25))
    best = max(c.worst(w).served for w in c.scores)
    assert c.worst(c.split).served == best


def test_cli_kinds_compares_every_design():
    from click.testing import CliRunner

    from clubchat.cli import main

    result = CliRunner().invoke(
        main, ["sim", "kinds", "--split", "0.5/0.4/0.1", "--runs", "2", "--years", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "node rewards per kind: year 1" in result.output
    # one row per design in each environment (the table wraps long cells, the scenario names fit)
    assert sum("bull" in line for line in result.output.splitlines()) == len(kinds.designs((0.5, 0.4, 0.1)))
    bad = CliRunner().invoke(main, ["sim", "kinds", "--split", "half/half", "--runs", "2", "--years", "1"])
    assert bad.exit_code == 2 and "write three fractions as a/b/c" in bad.output
    wrong = CliRunner().invoke(
        main, ["sim", "kinds", "--split", "0.5/0.5/0.5", "--runs", "2", "--years", "1"]
    )
    assert wrong.exit_code == 2 and "must be three non-negative fractions summing to 1" in wrong.output
