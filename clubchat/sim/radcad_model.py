"""The same model run by radCAD, one run at a time (the reference the vectorised engine is measured against).

The policies and state-update functions are those of `clubchat.sim.model`; this module only
adapts their signatures to radCAD's `(params, substep, state_history, previous_state[, signals])`.
Each run draws its shocks one day at a time from its own seeded Generator, so radCAD's run r
reproduces the vectorised engine's run r exactly.

Large sweeps with radCAD: build one `radcad.Model` with `params={"p": [p1, p2, ...], "ctx": [...]}`
(radCAD sweeps lists element-wise) or one `Simulation` per subset in an `Experiment`, and pick a
backend: `Engine(backend=Backend.MULTIPROCESSING, processes=n)` (spawned processes, each run
pickled; pays off only when a run is long) or `Backend.RAY` / `Backend.RAY_REMOTE` (after
`ray.init()` or `ray.init(address=...)` on a cluster; ray is not a project dependency). For the
Monte Carlo runs of one subset the vectorised engine is faster than any of these backends, so
the practical split is: vectorise runs, distribute subsets — `engine.monte_carlo(..., workers=n)`
(`club sim run ... --workers n`) runs the subsets of a sweep in n processes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from radcad import Engine, Experiment, Model, Simulation
from radcad.engine import Backend

from clubchat.sim import engine as vec_engine
from clubchat.sim.model import (
    BLOCKS,
    N_SHOCKS,
    PER_KIND,
    RECORDED,
    Block,
    Context,
    initial_state,
    make_context,
)
from clubchat.sim.parameters import KINDS, SimParams


def _policy(fn: Any, draws: bool) -> Any:
    def policy(params: dict[str, Any], substep: int, history: Any, prev: dict[str, Any]) -> dict[str, Any]:
        p: SimParams = params["p"]
        ctx: Context = params["ctx"]
        t = len(history)  # results so far: [initial, day 1, ..., day t-1] -> this is day t
        z = ctx.generator(int(prev["run"]) - 1).standard_normal(N_SHOCKS) if draws else None
        return dict(fn(p, ctx, prev, t, z))

    return policy


def _update(name: str, fn: Any) -> Any:
    def update(
        params: dict[str, Any], substep: int, history: Any, prev: dict[str, Any], signals: dict[str, Any]
    ) -> tuple[str, Any]:
        return name, fn(params["p"], params["ctx"], prev, signals)

    return update


def state_update_blocks(blocks: tuple[Block, ...] = BLOCKS) -> list[dict[str, Any]]:
    return [
        {
            "label": b.label,
            "policies": {n: _policy(f, draws=(b.label == "market")) for n, f in b.policies.items()},
            "variables": {n: _update(n, f) for n, f in b.updates.items()},
        }
        for b in blocks
    ]


def run(
    p: SimParams,
    *,
    runs: int,
    days: int,
    seed: int = 0,
    scenario: str = "baseline",
    subset: int = 0,
    backend: Backend = Backend.SINGLE_PROCESS,
) -> pd.DataFrame:
    """Run the model with radCAD (deepcopy on, radCAD's default) and return a tidy frame like the engine's."""
    ctx: Context = make_context(p, days)
    ctx.seed_sequences = dict(enumerate(vec_engine.seed_sequences(seed, scenario, subset, runs)))
    model = Model(
        initial_state=initial_state(p, ctx),
        state_update_blocks=state_update_blocks(),
        params={"p": [p], "ctx": [ctx]},
    )
    sim = Simulation(model=model, timesteps=days, runs=runs)
    exp = Experiment(sim)
    exp.engine = Engine(backend=backend, drop_substeps=True)
    exp.run()
    rows = []
    for r in exp.results:
        row: dict[str, Any] = {"scenario": scenario, "subset": subset, "run": r["run"], "day": r["timestep"]}
        for k in RECORDED:
            v = r[k]
            if k in PER_KIND:
                for i, kind in enumerate(KINDS):
                    row[f"{k}_{kind.lower()}"] = float(np.asarray(v)[i])
            else:
                row[k] = float(v)
        rows.append(row)
    return pd.DataFrame(rows)
