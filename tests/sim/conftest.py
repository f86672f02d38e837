"""Fixtures of the simulation tests: parameters from the file, a small seeded Monte Carlo."""

from __future__ import annotations

import pytest

from clubchat.sim import engine
from clubchat.sim.parameters import SimParams, from_parameters


@pytest.fixture(scope="session")
def sim_params() -> SimParams:
    return from_parameters()


@pytest.fixture(scope="session")
def small_run(sim_params: SimParams) -> dict:
    """64 runs x 2 years of the baseline, every day recorded."""
    return engine.simulate(sim_params, runs=64, days=730, seed=11, record_every=1)
