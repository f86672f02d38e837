"""Operators with different costs and capital, and delegators with different hurdle rates
(clubchat.sim.population)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clubchat.sim import model, population


def _spread(sim_params, cost, capital):
    return population.operator_spread(
        sim_params.replace(operator_cost_sigma=cost, operator_capital_sigma=capital)
    )


def test_no_spread_is_the_representative_operator(sim_params):
    spread = _spread(sim_params, 0.0, 0.0)
    assert spread.weight.tolist() == [1.0] and spread.cost.tolist() == [1.0] == spread.capital.tolist()
    income, fixed, var, capital = (
        np.array([3.0, 1.0, 0.2]),
        np.array([1.0, 1.0, 1.0]),
        np.zeros(3),
        np.full(3, 0.5),
    )
    got = population.entry_response(spread, income, fixed, var, capital)
    np.testing.assert_allclose(got, np.tanh(income / (fixed + var + capital) - 1.0), rtol=1e-15)


def test_the_quadrature_is_two_log_normals_of_median_one(sim_params):
    spread = _spread(sim_params, 0.5, 0.3)
    n = population.QUAD_POINTS
    assert spread.weight.size == n * n and spread.weight.sum() == pytest.approx(1.0, rel=1e-12)
    # E[factor] = exp(sigma^2 / 2), the median factor is 1, the two factors are independent
    assert spread.weight @ spread.cost == pytest.approx(math.exp(0.5**2 / 2), rel=1e-4)
    assert spread.weight @ spread.capital == pytest.approx(math.exp(0.3**2 / 2), rel=1e-4)
    cov = spread.weight @ (spread.cost * spread.capital) - (spread.weight @ spread.cost) * (
        spread.weight @ spread.capital
    )
    assert abs(cov) < 1e-12
    assert 1.0 in np.round(spread.cost, 12) and 1.0 in np.round(spread.capital, 12)
    with pytest.raises(ValueError, match=">= 0"):
        _spread(sim_params, -0.1, 0.0)


@pytest.mark.parametrize("margin", [-0.8, -0.5, -0.2])
def test_cheap_operators_stay_while_the_median_one_loses_money(sim_params, margin):
    """Exit is slower with a spread: the average response is above the median operator's."""
    fixed, var, capital = np.ones(3), np.zeros(3), np.full(3, 0.25)
    income = (1.0 + margin) * (fixed + var + capital)
    one = population.entry_response(_spread(sim_params, 0.0, 0.0), income, fixed, var, capital)
    some = population.entry_response(_spread(sim_params, 0.5, 0.5), income, fixed, var, capital)
    wide = population.entry_response(_spread(sim_params, 1.0, 1.0), income, fixed, var, capital)
    assert (one < some).all() and (some < wide).all()


@pytest.mark.parametrize("margin", [0.5, 1.0, 2.0])
def test_dear_operators_stay_out_while_the_median_one_earns(sim_params, margin):
    """Entry is slower with a spread: the average response is below the median operator's."""
    fixed, var, capital = np.ones(3), np.zeros(3), np.full(3, 0.25)
    income = (1.0 + margin) * (fixed + var + capital)
    one = population.entry_response(_spread(sim_params, 0.0, 0.0), income, fixed, var, capital)
    wide = population.entry_response(_spread(sim_params, 1.0, 1.0), income, fixed, var, capital)
    assert (wide < one).all()


def _nodes_after_one_day(p, fixed_usd_month):
    p = p.replace(node_fixed_usd_month=fixed_usd_month, nodes0=(100.0, 100.0, 100.0))
    ctx = model.make_context(p, 10)
    s = model.initial_state(p, ctx)
    return model.p_nodes(p, ctx, s, 0, np.zeros(2))


def test_the_node_block_exits_slower_with_spread_operators(sim_params):
    """The node block itself: RELAY's server cost set so that its median operator loses money; with
    operators spread around it, RELAY shrinks less (its cheapest operators still earn)."""
    base = sim_params.replace(operator_cost_sigma=0.0, operator_capital_sigma=0.0)
    spread = sim_params.replace(operator_cost_sigma=0.8, operator_capital_sigma=0.8)
    fixed = (2000.0, 80.0, 30.0)
    one = _nodes_after_one_day(base, fixed)
    many = _nodes_after_one_day(spread, fixed)
    assert one["profit"][0] < 0 and one["nodes"][0] < 100.0  # the representative rule: RELAY exits
    assert one["nodes"][0] < many["nodes"][0] < 100.0
    # the median operator's profit is the same either way (the spread is around it)
    np.testing.assert_allclose(one["profit"], many["profit"])


def test_delegators_hurdle_is_explicit_and_the_staking_curve_follows_it(sim_params):
    p = sim_params
    hurdle = population.delegator_hurdle(p)
    assert hurdle == pytest.approx(
        p.outside_yield + p.liquidity_premium_base + p.liquidity_premium_per_day * p.unbonding_days
    )
    # half the holders who would ever stake ask at most the median hurdle, three quarters at most
    # median + spread x ln 3 (a logistic distribution of hurdles)
    assert population.share_wanting_to_stake(p, hurdle) == pytest.approx(p.stake_ratio_max / 2)
    y = hurdle + p.delegator_hurdle_spread * math.log(3.0)
    assert population.share_wanting_to_stake(p, y) == pytest.approx(0.75 * p.stake_ratio_max)
    # a higher outside yield moves every holder's hurdle up by as much
    q = p.replace(outside_yield=p.outside_yield + 0.03)
    assert population.share_wanting_to_stake(q, y + 0.03) == pytest.approx(0.75 * p.stake_ratio_max)
    # a wider spread flattens the curve: more stake below the hurdle, less above it
    wide = p.replace(delegator_hurdle_spread=2 * p.delegator_hurdle_spread)
    assert population.share_wanting_to_stake(wide, hurdle - 0.05) > population.share_wanting_to_stake(
        p, hurdle - 0.05
    )
    assert population.share_wanting_to_stake(wide, hurdle + 0.05) < population.share_wanting_to_stake(
        p, hurdle + 0.05
    )
