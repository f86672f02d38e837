"""Headline figures of one model version: the numbers the whitepaper's "what changed" table compares.

`headline(p)` runs the baseline Monte Carlo (seed `SEED`) and returns medians and 5 % / 95 %
quantiles at years 1, 5 and 15 of the quantities the review looked at: supply, stake, yield,
node emission per year, node counts, coverage and attack costs. `python -m clubchat.sim.headline
OUT.json` writes them; the figures of the model before the token-model-v2 change were recorded
this way (clubchat/sim/whitepaper/headline_v1.json) before anything was changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from clubchat.sim import engine, scenarios
from clubchat.sim.parameters import YEAR_DAYS, SimParams

SEED = 2026
YEARS = (1, 5, 15)
RUNS_5Y = 1000
RUNS_15Y = 300
METRICS = (
    "total_supply",
    "circulating",
    "staked",
    "stake_ratio",
    "staking_yield",
    "nodes_relay",
    "nodes_turn",
    "nodes_notify",
    "coverage_relay",
    "coverage_turn",
    "coverage_notify",
    "gov_attack_usd",
    "panel_attack_usd",
    "relay_attack_usd",
    "price_usd",
)


def _quantiles(a: Any) -> dict[str, float]:
    q = np.quantile(np.asarray(a, dtype=np.float64), [0.05, 0.5, 0.95])
    return {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])}


def headline(
    p: SimParams | None = None, *, runs_5y: int = RUNS_5Y, runs_15y: int = RUNS_15Y
) -> dict[str, Any]:
    """{metric: {year: {p5, p50, p95}}} plus node emission per year (CLUB/yr) at each year."""
    p = p if p is not None else scenarios.get("baseline").params()
    out: dict[str, Any] = {"runs_5y": runs_5y, "runs_15y": runs_15y, "seed": SEED, "metrics": {}}
    for years, runs in ((5, runs_5y), (15, runs_15y)):
        arr = engine.simulate(p, runs=runs, days=years * YEAR_DAYS, seed=SEED, record_every=1)
        for y in YEARS:
            if y > years or (years == 15 and y != 15):
                continue
            day = y * YEAR_DAYS
            for m in METRICS:
                name = m.rsplit("_", 1)
                if m.split("_")[0] in {"nodes", "coverage"}:
                    kind = ("relay", "turn", "notify").index(name[1])
                    vals = arr[name[0]][day, :, kind]
                else:
                    vals = arr[m][day]
                out["metrics"].setdefault(m, {})[str(y)] = _quantiles(vals)
            node_year = (arr["emitted"][day] - arr["emitted"][day - YEAR_DAYS]) * p.node_rewards_share
            out["metrics"].setdefault("node_emission_per_year", {})[str(y)] = _quantiles(node_year)
    return out


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    data = headline()
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if args:
        Path(args[0]).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
