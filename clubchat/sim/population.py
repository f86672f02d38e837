"""Operators and delegators as distributions instead of one representative of each.

Operators. Each kind's potential operators differ in server costs and in what their capital costs
them: an operator's fixed cost is the kind's `node_fixed_usd_month` times a log-normal factor of
spread `operator_cost_sigma`, and the cost of its self-stake the common rate (what the capital earns
delegated, or outside if more) times an independent log-normal factor of spread
`operator_capital_sigma` (operators who hold CLUB already price it at the delegator yield, those who
must buy or borrow it higher). Both factors have median 1, so the median operator is the old
representative one. The node count of a kind moves by `node_entry_speed` x the average over
operators of tanh(income / cost - 1): with no spread this is the representative rule; with a spread
cheap operators keep entering while the median one loses money, and dear ones stay out while it
earns, so entry and exit are damped at both ends. The average is a Gauss-Hermite quadrature
(`QUAD_POINTS` points per factor, exact for the log-normal's moments up to a high order).

Delegators. Holders differ in the yield they ask for staking (their hurdle rate): hurdles follow a
logistic distribution with median `delegator_hurdle(p)` = `outside_yield` + the liquidity premium of
the unbonding period and scale `delegator_hurdle_spread`; the share of the circulating supply that
wants to stake at yield y is `stake_ratio_max` x P[hurdle <= y], the logistic curve the staking
block follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.polynomial import hermite_e

from clubchat.sim.parameters import SimParams

Array = Any  # numpy scalar or ndarray, as in clubchat.sim.model
QUAD_POINTS = 5


@dataclass(frozen=True)
class OperatorSpread:
    """Quadrature of the operators' cost and capital factors: points (K,) and weights summing to 1."""

    cost: npt.NDArray[np.float64]
    capital: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]


def _factor(sigma: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if sigma <= 0:
        return np.ones(1), np.ones(1)
    x, w = hermite_e.hermegauss(QUAD_POINTS)
    return np.exp(sigma * x), w / w.sum()


def operator_spread(p: SimParams) -> OperatorSpread:
    """The joint quadrature of the two independent log-normal factors (one point when both spreads are 0)."""
    if p.operator_cost_sigma < 0 or p.operator_capital_sigma < 0:
        raise ValueError("operator_cost_sigma and operator_capital_sigma must be >= 0")
    (c, wc), (k, wk) = _factor(p.operator_cost_sigma), _factor(p.operator_capital_sigma)
    return OperatorSpread(
        cost=np.repeat(c, k.size), capital=np.tile(k, c.size), weight=np.outer(wc, wk).reshape(-1)
    )


def entry_response(
    spread: OperatorSpread, income: Array, fixed: Array, other: Array, capital: Array
) -> Array:
    """The average over operators of tanh(income / cost - 1) per kind, where an operator's daily cost is
    fixed x its cost factor + `other` (variable costs) + capital x its capital factor (USD per node)."""
    # In place on one (..., points) array: this is the simulation's hottest line.
    income, fixed, other, capital = (np.asarray(a) for a in (income, fixed, other, capital))
    shape = np.broadcast_shapes(income.shape, fixed.shape, other.shape, capital.shape)
    x = np.empty((*shape, spread.weight.size))
    np.multiply(fixed[..., None], spread.cost, out=x)
    x += other[..., None]
    x += capital[..., None] * spread.capital
    np.divide(income[..., None], x, out=x)
    x -= 1.0
    np.tanh(x, out=x)
    return x @ spread.weight


def liquidity_premium(p: SimParams) -> float:
    """Extra yield holders ask for locking stake; grows with the unbonding period."""
    return p.liquidity_premium_base + p.liquidity_premium_per_day * p.unbonding_days


def delegator_hurdle(p: SimParams) -> float:
    """Median yield a year holders ask to stake: the outside yield plus the liquidity premium of locking
    for the unbonding period."""
    return p.outside_yield + liquidity_premium(p)


def share_wanting_to_stake(p: SimParams, y: Array) -> Array:
    """Share of the circulating supply whose holders' hurdle is at most the delegator yield `y`."""
    return p.stake_ratio_max / (1.0 + np.exp(-(y - delegator_hurdle(p)) / p.delegator_hurdle_spread))
