"""`run` and `summary`: the Python interface behind `club sim run`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from clubchat.params import Parameters
from clubchat.sim import engine, scenarios
from clubchat.sim.parameters import YEAR_DAYS


def run(
    scenario: str = "baseline",
    *,
    runs: int = 1000,
    years: float = 5.0,
    seed: int = 0,
    sweep: Mapping[str, Iterable[Any]] | None = None,
    record_every: int = 7,
    base: Parameters | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Monte Carlo of `scenario` (x every point of `sweep`): tidy frame, one row per run and recorded day."""
    if runs < 1 or years <= 0:
        raise ValueError("need at least one run and a positive number of years")
    sc = scenarios.get(scenario)
    return engine.monte_carlo(
        sc.params(base),
        scenario=scenario,
        runs=runs,
        days=round(years * YEAR_DAYS),
        seed=seed,
        sweep=sweep,
        record_every=record_every,
        progress=progress,
        workers=workers,
    )


SUMMARY_METRICS: dict[str, str] = {
    "price_usd": "CLUB price (USD)",
    "users": "daily active users",
    "total_supply": "total supply (CLUB)",
    "circulating": "circulating supply (CLUB)",
    "staked": "staked (CLUB)",
    "stake_ratio": "stake / circulating",
    "staking_yield": "delegator yield (1/yr)",
    "nodes_relay": "RELAY nodes",
    "nodes_turn": "TURN nodes",
    "nodes_notify": "NOTIFY nodes",
    "coverage_relay": "RELAY capacity / demand",
    "coverage_turn": "TURN capacity / demand",
    "coverage_notify": "NOTIFY capacity / demand",
    "gov_attack_usd": "cost to pass a proposal alone (USD)",
    "panel_attack_usd": "cost to capture a review panel (USD)",
    "relay_attack_usd": "cost to eclipse users through relay selection (USD)",
    "nakamoto_relay": "RELAY operators holding a third of RELAY stake",
}


def summary(df: pd.DataFrame, at_day: int | None = None) -> pd.DataFrame:
    """5th / 50th / 95th percentile across runs of the headline metrics at `at_day` (default: last day)."""
    day = int(df["day"].max()) if at_day is None else at_day
    last = df[df["day"] == day]
    rows = []
    for subset, g in last.groupby("subset"):
        for col, label in SUMMARY_METRICS.items():
            q = np.percentile(g[col].to_numpy(), [5, 50, 95])
            rows.append(
                {"subset": subset, "metric": col, "label": label, "p5": q[0], "p50": q[1], "p95": q[2]}
            )
    return pd.DataFrame(rows)
