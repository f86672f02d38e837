"""Invariants checked after every simulated day of every run: a violation stops the run loudly."""

from __future__ import annotations

import re

import numpy as np
import pytest

from clubchat.sim import engine, model


@pytest.fixture
def state(sim_params):
    ctx = model.make_context(sim_params, 10)
    return engine._broadcast(model.initial_state(sim_params, ctx), 3)


def test_a_healthy_state_passes(sim_params, state):
    engine.check_invariants(sim_params, state, 0)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (lambda s: s["emitted"].__setitem__(1, 1e6), "supply conservation"),
        (lambda s: s["burned_creation"].__setitem__(0, 1e6), "supply conservation"),
        (lambda s: s["self_stake"].__setitem__(2, 1.0), "staked >= nodes x minimum"),
        (lambda s: s["staked"].__setitem__(0, s["self_stake"][0] * 0.5), "self-stake <= staked"),
        (lambda s: s["unbonding"].__setitem__(1, 1e12), "staked + unbonding <= circulating"),
        (lambda s: s["nodes"].__setitem__((1, 0), 10.0), "kind counts follow the kind sets"),
        (lambda s: s["nodes_by_set"].__setitem__((2, 4), -1.0), "kind counts follow the kind sets"),
    ],
)
def test_each_violation_is_named(sim_params, state, change, name):
    change(state)
    with pytest.raises(engine.InvariantViolation, match=re.escape(name)):
        engine.check_invariants(sim_params, state, 5)


def test_delegation_above_the_cap_is_caught(sim_params, state):
    state["staked"] = state["self_stake"] * (sim_params.saturation_multiple + 2)
    state["circulating"] = state["staked"] * 10
    with pytest.raises(engine.InvariantViolation, match="run 1: invariant 'delegated <= multiple"):
        engine.check_invariants(sim_params, state, 1)


def test_every_scenario_runs_without_a_violation():
    from clubchat.sim import scenarios

    for name, sc in scenarios.SCENARIOS.items():
        out = engine.simulate(sc.params(), runs=16, days=3 * 365, seed=3, scenario=name)
        assert np.isfinite(out["total_supply"]).all()
