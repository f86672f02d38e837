"""Sensitivity of the headline numbers to the exogenous assumptions: one-at-a-time and Morris screening.

Both methods vary the model-only assumptions in `FACTORS` (each over a stated range) with the
protocol parameters fixed, run the seeded Monte Carlo (common random numbers: the same seeds at
every point) and compare the medians over runs of the `OUTPUTS` at a given year.

- `one_at_a_time`: each factor at its low and high end, the others at baseline; the swing is
  (high - low) / baseline of each output.
- `morris`: Morris' elementary-effects screening (Morris 1991; the mu* of Campolongo et al. 2007)
  implemented here on numpy: r random trajectories on a p-level grid of the unit cube, each moving
  one factor at a time by delta = p / (2 (p - 1)); mu* = mean |elementary effect| ranks the
  factors, sigma shows interactions or non-linearity. Effects are taken on log outputs (relative
  change per full range), so outputs of different units are comparable.

`club sim sensitivity` prints both rankings; the whitepaper shows the Morris ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from clubchat.sim import engine
from clubchat.sim.parameters import YEAR_DAYS, SimParams


@dataclass(frozen=True)
class Factor:
    """An exogenous assumption and the range it is varied over (baseline inside the range)."""

    name: str
    low: float
    high: float


FACTORS: tuple[Factor, ...] = (
    Factor("price_drift", -0.5, 0.5),
    Factor("price_vol", 0.4, 1.2),
    Factor("pool_depth_share", 0.005, 0.08),
    Factor("reward_sell_share", 0.2, 0.9),
    Factor("users_growth", 0.8, 2.2),
    Factor("users_cap", 1e6, 2e7),
    Factor("premium_uptake", 0.005, 0.05),
    Factor("ads_cpm_usd", 0.5, 4.0),
    Factor("outside_yield", 0.02, 0.10),
    Factor("delegator_hurdle_spread", 0.02, 0.2),
    Factor("stake_speed", 0.005, 0.08),
    Factor("node_entry_speed", 0.005, 0.1),
    Factor("extra_kind_cost_share", 0.1, 0.8),
    Factor("operator_wealth_usd", 1_000.0, 50_000.0),
    Factor("treasury_spend_rate", 0.02, 0.15),
    Factor("attack_price_drop", 0.0, 0.6),
    Factor("attack_detect_prob", 0.1, 0.9),
)

OUTPUTS: tuple[str, ...] = (
    "total_supply",
    "staked",
    "staking_yield",
    "price_usd",
    "users",
    "gov_attack_usd",
    "panel_attack_usd",
    "relay_attack_usd",
    "targeted_attack_usd",
)

Model = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def headline_model(p: SimParams, factors: Sequence[Factor], *, runs: int, years: float, seed: int) -> Model:
    """x in [0, 1]^k -> medians over runs of OUTPUTS at `years` (the same seeds for every x)."""
    days = round(years * YEAR_DAYS)

    def evaluate(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        changes = {f.name: f.low + float(u) * (f.high - f.low) for f, u in zip(factors, x, strict=True)}
        out = engine.simulate(p.replace(**changes), runs=runs, days=days, seed=seed, record_every=days)
        return np.array([float(np.median(out[k][-1])) for k in OUTPUTS])

    return evaluate


def _log(y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(np.log(np.maximum(np.abs(y), 1e-12)), dtype=np.float64)


def one_at_a_time(model: Model, factors: Sequence[Factor], baseline: npt.NDArray[np.float64]) -> pd.DataFrame:
    """Swing of every output when each factor alone goes from its low to its high end.

    `baseline` is the unit-cube position of the baseline values. Rows: factor x output with
    low, high, base and swing = (high - low) / |base|.
    """
    base_y = model(baseline)
    rows = []
    for i, f in enumerate(factors):
        lo, hi = baseline.copy(), baseline.copy()
        lo[i], hi[i] = 0.0, 1.0
        y_lo, y_hi = model(lo), model(hi)
        for j, name in enumerate(OUTPUTS):
            swing = (y_hi[j] - y_lo[j]) / max(abs(base_y[j]), 1e-12)
            rows.append({"factor": f.name, "output": name, "low": y_lo[j], "high": y_hi[j],
                         "base": base_y[j], "swing": swing})  # fmt: skip
    return pd.DataFrame(rows)


def morris_trajectories(k: int, r: int, levels: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """r Morris trajectories of k + 1 points each on a `levels`-level grid of [0, 1]^k (shape (r, k+1, k)).

    Campolongo's construction: a random base point on the grid's lower part, then one factor at a
    time (in random order) moves by +delta or -delta, delta = levels / (2 (levels - 1)).
    """
    delta = levels / (2.0 * (levels - 1))
    grid = np.arange(levels // 2) / (levels - 1)  # base values from which +delta stays in [0, 1]
    out = np.empty((r, k + 1, k))
    for t in range(r):
        x = rng.choice(grid, size=k)
        up = rng.random(k) < 0.5
        start = np.where(up, x, x + delta)  # moving down starts from the upper part
        point = start.copy()
        out[t, 0] = point
        for step, i in enumerate(rng.permutation(k), start=1):
            point = point.copy()
            point[i] = point[i] + delta if up[i] else point[i] - delta
            out[t, step] = point
    return out


def morris(
    model: Model, k: int, *, r: int = 10, levels: int = 4, seed: int = 0, log_outputs: bool = True
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Morris screening of a model on [0, 1]^k: (mu*, sigma), each of shape (k, outputs).

    Elementary effect of factor i on a trajectory: (y(x + e_i delta) - y(x)) / delta (signed for
    the direction of the step); mu* is the mean of its absolute value over trajectories.
    """
    rng = np.random.default_rng(seed)
    traj = morris_trajectories(k, r, levels, rng)
    effects: list[list[npt.NDArray[np.float64]]] = [[] for _ in range(k)]
    for t in range(r):
        ys = [model(x) for x in traj[t]]
        if log_outputs:
            ys = [_log(y) for y in ys]
        for step in range(1, k + 1):
            diff = traj[t, step] - traj[t, step - 1]
            i = int(np.flatnonzero(diff)[0])
            effects[i].append((ys[step] - ys[step - 1]) / diff[i])
    ee = np.array([np.array(e) for e in effects])  # (k, r, outputs)
    return np.abs(ee).mean(axis=1), ee.std(axis=1)


def baseline_position(p: SimParams, factors: Sequence[Factor]) -> npt.NDArray[np.float64]:
    """The baseline values as positions in [0, 1]^k of the factors' ranges."""
    return np.array([(float(getattr(p, f.name)) - f.low) / (f.high - f.low) for f in factors])


def ranking(mu_star: npt.NDArray[np.float64], factors: Sequence[Factor], top: int = 3) -> pd.DataFrame:
    """For each output, its `top` factors by mu* (the drivers of that headline number)."""
    rows = []
    for j, name in enumerate(OUTPUTS):
        order = np.argsort(-mu_star[:, j])[:top]
        rows.append({"output": name, **{f"#{n + 1}": f"{factors[i].name} ({mu_star[i, j]:.2f})"
                                         for n, i in enumerate(order)}})  # fmt: skip
    return pd.DataFrame(rows)
