"""Sensitivity analysis: Morris screening and one-at-a-time swings on known functions, then the model."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from clubchat.sim import scenarios, sensitivity


def _linear(coef):
    def model(x):
        return np.array([float(np.dot(coef, x))] * len(sensitivity.OUTPUTS))

    return model


def test_morris_recovers_linear_effects():
    coef = np.array([3.0, -1.0, 0.0, 0.5])
    mu, sigma = sensitivity.morris(_linear(coef), 4, r=8, seed=3, log_outputs=False)
    np.testing.assert_allclose(mu[:, 0], np.abs(coef))
    np.testing.assert_allclose(sigma, 0.0, atol=1e-12)  # linear: no interaction, no spread


def test_morris_sees_interactions():
    def model(x):
        return np.array([x[0] * x[1]] * len(sensitivity.OUTPUTS))

    mu, sigma = sensitivity.morris(model, 3, r=20, seed=4, log_outputs=False)
    assert mu[2, 0] == 0.0 and mu[0, 0] > 0 and sigma[0, 0] > 0


def test_trajectories_stay_on_the_grid_and_move_one_factor_at_a_time():
    traj = sensitivity.morris_trajectories(5, 7, 4, np.random.default_rng(0))
    assert traj.shape == (7, 6, 5)
    assert ((traj >= 0) & (traj <= 1)).all()
    steps = np.abs(np.diff(traj, axis=1))
    assert ((steps > 0).sum(axis=-1) == 1).all()
    np.testing.assert_allclose(steps.max(axis=-1), 4 / 6)


def test_one_at_a_time_on_a_linear_model():
    coef = np.array([2.0, 0.0])
    factors = (sensitivity.Factor("a", 0, 1), sensitivity.Factor("b", 0, 1))
    oat = sensitivity.one_at_a_time(_linear(coef + 0.0), factors, np.array([0.5, 0.5]))
    swing = oat.groupby("factor")["swing"].first()
    assert swing["a"] == pytest.approx(2.0 / 1.0) and swing["b"] == 0.0


def test_the_model_ranks_the_price_drift_for_the_price():
    p = scenarios.get("baseline").params()
    factors = (
        sensitivity.Factor("price_drift", -0.5, 0.5),
        sensitivity.Factor("attack_detect_prob", 0.1, 0.9),
    )
    model = sensitivity.headline_model(p, factors, runs=8, years=1.0, seed=1)
    mu, _ = sensitivity.morris(model, 2, r=2, seed=1)
    price = sensitivity.OUTPUTS.index("price_usd")
    assert mu[0, price] > 0 and mu[1, price] == 0.0  # detection changes attack costs, not the price


def test_cli_prints_both_rankings():
    from clubchat.sim.cli import sim

    out = CliRunner().invoke(sim, ["sensitivity", "--runs", "2", "--years", "0.1", "--trajectories", "1"])
    assert out.exit_code == 0, out.output
    assert "one at a time" in out.output and "Morris" in out.output and "price_drift" in out.output
