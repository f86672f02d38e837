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


def test_daily_inputs_mint_only_on_epoch_days(sim_params):
    inputs = schedules.daily_inputs(sim_params, 30)
    minted_days = np.nonzero(inputs["emission_minted"])[0].tolist()
    assert minted_days == [7, 14, 21, 28]
    assert inputs["epoch_boundary"].sum() == 4
    assert inputs["emission_minted"][7] == pytest.approx(sim_params.reserve * sim_params.rate_per_epoch)
    assert inputs["reserve_remaining"][30] == pytest.approx(
        sim_params.reserve - inputs["emission_minted"].sum()
    )


def test_vesting_is_linear_from_start_with_a_cliff(sim_params):
    p = sim_params.replace(
        vesting_amounts=(1000.0,), vesting_cliff_days=(100.0,), vesting_duration_days=(400.0,)
    )
    got = schedules.vested(p, np.array([0, 99, 100, 200, 400, 800]))
    assert got.tolist() == [0.0, 0.0, 250.0, 500.0, 1000.0, 1000.0]


@pytest.mark.parametrize("epochs", [0, 1, 2, 7, 52, 260, 1000])
def test_exact_emission_matches_the_float_schedule_within_rounding(params, sim_params, epochs):
    exact = schedules.cumulative_emission_wei(
        params.emission_reserve_wei, params.emission.rate_per_epoch_wad, epochs
    )
    float_wei = float(schedules.cumulative_emission(sim_params, epochs)) * 1e18
    assert exact <= params.emission_reserve_wei
    assert math.isclose(exact, float_wei, rel_tol=1e-12, abs_tol=1e3)


def test_exact_emission_rounds_in_favour_of_the_reserve():
    # Compared with the exact rational E(k): never more, and at most a few wei less.
    reserve, rate = 10**24 + 12345, 333333333333333333
    for k in (1, 5, 17, 64):
        exact = schedules.cumulative_emission_wei(reserve, rate, k)
        true = reserve * (1 - (1 - Fraction(rate, 10**18)) ** k)
        assert true - 10 <= exact <= true


def test_exact_vesting_rounds_down():
    amount, start, cliff, duration = 10**18 + 7, 1000, 10, 3
    assert schedules.vested_wei(amount, start, cliff, 30, start + 9) == 0
    assert schedules.vested_wei(amount, start, 0, duration, start + 1) == amount // 3
    assert schedules.vested_wei(amount, start, 0, duration, start + 5) == amount
