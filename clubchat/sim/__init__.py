"""Economic simulation of the Club Chat protocol: supply, staking, node economics, markets, attack costs.

Python entry points (the `club sim` command uses the same ones):

    from clubchat import sim
    df = sim.run("baseline", runs=1000, years=5, seed=0, sweep={"rate_per_epoch": [0.001, 0.0025]})
    sim.summary(df)

Parameters come from deployments/parameters.yaml (`clubchat.params.load()`) plus the documented
assumptions in `clubchat.sim.parameters.SimParams`; scenarios are in `clubchat.sim.scenarios`.
"""

from __future__ import annotations

from clubchat.sim.api import run, summary
from clubchat.sim.parameters import SimParams, from_parameters
from clubchat.sim.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "SimParams", "from_parameters", "run", "summary"]
