"""Emission and vesting schedules: closed forms, the contracts' exact wei arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from clubchat.sim import schedules


def test_cumulative_emission_is_the_geometric_release(sim_params):
    p = sim_params
    remaining, cum = p.reserve, [0.0]
    for _ in range(520):  # ten years of weekly epochs, one at a time
        remaining -= remaining * p.rate_per_epoch
        cum.append(p.reserve - remaining)
    np.testing.assert_allclose(schedules.cumulative_emission(p, np.arange(521)), cum, rtol=1e-12)
    assert schedules.cumulative_emission(p, 10**6) == pytest.approx(p.reserve)


def test_epochs_are_due_one_epoch_after_genesis(sim_params):
    days = np.array([0, 6, 7, 13, 14, 365])
    assert schedules.epochs_at(sim_params, days).tolist() == [0, 0, 1, 1, 2, 52]


def test_daily_inputs_mark_epoch_days(sim_params):
    inputs = schedules.daily_inputs(sim_params, 30)
    assert np.nonzero(inputs["epochs_today"])[0].tolist() == [7, 14, 21, 28]
    assert inputs["epoch_boundary"].sum() == 4
    assert inputs["epochs_before"][[6, 7, 8, 14]].tolist() == [0, 0, 1, 1]


def test_vesting_is_linear_from_start_with_a_cliff(sim_params):
    p = sim_params.replace(
        vesting_amounts=(1000.0,), vesting_cliff_days=(100.0,), vesting_duration_days=(400.0,)
    )
    got = schedules.vested(p, np.array([0, 99, 100, 200, 400, 800]))
    assert got.tolist() == [0.0, 0.0, 250.0, 500.0, 1000.0, 1000.0]


def _mirror(params, supply=None, end=0, multiple=0):
    e = params.emission
    node = next(i for i, r in enumerate(e.receivers) if r.name == "node_rewards")
    return schedules.EmissionMirror(
        params.token.cap_wei, params.genesis.total_wei if supply is None else supply, e.rate_per_epoch_wad,
        e.tip_wei, [r.weight_bps for r in e.receivers], node, multiple, end,
    )  # fmt: skip


@pytest.mark.parametrize("epochs", [0, 1, 2, 7, 52, 260, 1000])
def test_exact_emission_matches_the_float_closed_form_within_rounding(params, sim_params, epochs):
    """Without burns and guard one catch-up of k epochs is the closed form (cap - S0)(1 - (1 - r)^k)."""
    mirror = _mirror(params)
    exact = mirror.advance(epochs, 0)
    float_wei = float(schedules.cumulative_emission(sim_params, epochs)) * 1e18
    assert exact <= params.emission_reserve_wei
    assert math.isclose(exact, float_wei, rel_tol=1e-12, abs_tol=1e3)
    single = _mirror(params)
    assert sum(single.advance(1, 0) for _ in range(epochs)) == exact  # catch-up == single calls


def test_exact_emission_rounds_in_favour_of_the_gap(params):
    # Compared with the exact rational gap (1 - (1 - r)^k): never more, and at most a few wei less.
    gap = params.emission_reserve_wei
    rate = Fraction(params.emission.rate_per_epoch_wad, 10**18)
    for k in (1, 5, 17, 64):
        exact = _mirror(params).advance(k, 0)
        true = gap * (1 - (1 - rate) ** k)
        assert true - 10 <= exact <= true


def test_exact_mirror_refills_after_burns_and_caps_the_node_share(params):
    mirror = _mirror(params, end=10, multiple=50 * 10**18)
    first = mirror.advance(1, 1_000_000)
    assert mirror.withheld > 0 and mirror.node_rewards == 1 * 50 * 10**18 * 1_000
    mirror.burn(10**26)
    assert mirror.advance(1, 1_000_000) > first  # the burn widened the gap


def test_exact_vesting_rounds_down():
    amount, start, cliff, duration = 10**18 + 7, 1000, 10, 3
    assert schedules.vested_wei(amount, start, cliff, 30, start + 9) == 0
    assert schedules.vested_wei(amount, start, 0, duration, start + 1) == amount // 3
    assert schedules.vested_wei(amount, start, 0, duration, start + 5) == amount
