"""The whitepaper's model runs: seeded Monte Carlo of every scenario, the parameter sweeps, and the
quantities the figures and the facts both read (quorum curves, quantiles at a given year).

Nothing here draws or formats; `figures` plots these results and `facts` turns them into the
document's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clubchat.params import Parameters
from clubchat.sim import scenarios, schedules, security
from clubchat.sim.engine import monte_carlo
from clubchat.sim.parameters import YEAR_DAYS, SimParams, from_parameters

SEED = 2026
QUORUMS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.10)


@dataclass
class Results:
    """Every Monte Carlo result the document uses (seed SEED)."""

    p: SimParams
    params: Parameters
    runs: int
    sweep_runs: int
    years: float
    by_scenario: dict[str, pd.DataFrame]
    rates: list[float]
    rate_sweep: pd.DataFrame
    stake_sweep: pd.DataFrame
    unbond_sweep: pd.DataFrame
    sat_sweep: pd.DataFrame


def run_all(params: Parameters, runs: int, sweep_runs: int, years: float) -> Results:
    """Monte Carlo of every scenario (`runs` for the baseline, `sweep_runs` for the others) and the sweeps."""
    p = from_parameters(params)
    days = round(years * YEAR_DAYS)
    by_scenario = {
        name: monte_carlo(
            sc.params(params),
            scenario=name,
            runs=runs if name == "baseline" else sweep_runs,
            days=days,
            seed=SEED,
        )
        for name, sc in scenarios.SCENARIOS.items()
    }

    def sweep(name: str, values: list[Any]) -> pd.DataFrame:
        return monte_carlo(
            p, scenario="baseline", runs=sweep_runs, days=days, seed=SEED, sweep={name: values}
        )

    rates = sorted({0.001, 0.0025, 0.005, 0.01, p.rate_per_epoch})
    stakes = sorted({1_000.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0, 100_000.0, p.min_self_stake})
    unbond = sorted({1, 3, 7, 14, 21, 28, 56, p.unbonding_days})
    sats = sorted({2.0, 5.0, 10.0, 20.0, 50.0, p.saturation_multiple})
    return Results(
        p,
        params,
        runs,
        sweep_runs,
        years,
        by_scenario,
        rates=rates,
        rate_sweep=sweep("rate_per_epoch", rates),
        stake_sweep=sweep("min_self_stake", stakes),
        unbond_sweep=sweep("unbonding_days", unbond),
        sat_sweep=sweep("saturation_multiple", sats),
    )


def at_year(df: pd.DataFrame, year: float) -> pd.DataFrame:
    """The rows of the last recorded day at or before `year`."""
    day = int(df.loc[df["day"] <= round(year * YEAR_DAYS), "day"].max())
    return df[df["day"] == day]


def final(df: pd.DataFrame, col: str, year: float, q: float = 0.5) -> float:
    """Quantile `q` of `col` over the runs on the last recorded day at or before `year`."""
    return float(np.quantile(at_year(df, year)[col].to_numpy(), q))


def emission_half_life_years(p: SimParams) -> float:
    epochs = math.log(0.5) / math.log1p(-p.rate_per_epoch)
    return epochs * p.epoch_days / YEAR_DAYS


def emitted_share(p: SimParams, years: float) -> float:
    k = schedules.epochs_at(p, years * YEAR_DAYS)
    return float(schedules.cumulative_emission(p, k)) / p.reserve


@dataclass(frozen=True)
class QuorumCurve:
    """On the baseline's median path: the USD a lone proposer needs and the turnout quorum asks for."""

    quorum: float
    years: Any
    cost_usd: Any
    turnout_needed: Any


def quorum_curves(res: Results) -> tuple[list[QuorumCurve], pd.DataFrame]:
    """One curve per quorum in QUORUMS, and a row per quorum: cost at the end, highest turnout needed."""
    p, df = res.p, res.by_scenario["baseline"]
    med = df.groupby("day")[["total_supply", "circulating", "price_usd", "vested"]].median()
    votable = med["circulating"] + (p.vesting_total - med["vested"])  # escrows vote too
    curves, rows = [], []
    for q in np.array(QUORUMS):
        cost = security.governance_votes_to_pass(
            med["total_supply"], med["circulating"], q, p.against_turnout
        )
        need = q * med["total_supply"] / votable
        curves.append(QuorumCurve(float(q), med.index / YEAR_DAYS, cost * med["price_usd"], need))
        rows.append((q, float(cost[-1] * med["price_usd"].iloc[-1]), float(need.max())))
    return curves, pd.DataFrame(rows, columns=["quorum", "cost_usd_end", "max_need"])
