"""Scenarios as data: named sets of assumption overrides on top of the parameters file.

A scenario never changes a protocol parameter (those come from deployments/parameters.yaml);
to ask "what if governance changed X", sweep X explicitly (`--sweep rate_per_epoch=...`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clubchat.params import Parameters
from clubchat.sim.parameters import SimParams, from_parameters


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def params(self, base: Parameters | None = None) -> SimParams:
        return from_parameters(base, **self.overrides)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "baseline",
            "Flat median CLUB price with high volatility; users grow logistically to 5 M DAU.",
        ),
        Scenario(
            "bear",
            "CLUB price halves each year in the median; slow user growth; fewer paying users.",
            {
                "price_drift": -0.7,
                "price_vol": 1.0,
                "users_growth": 0.8,
                "users_cap": 2_000_000.0,
                "premium_uptake": 0.01,
                "ads_cpm_usd": 1.0,
                "outside_yield": 0.08,
            },
        ),
        Scenario(
            "bull",
            "CLUB price up ~65 % a year in the median; fast growth to 20 M DAU; richer ad market.",
            {
                "price_drift": 0.5,
                "price_vol": 0.9,
                "users_growth": 2.2,
                "users_cap": 20_000_000.0,
                "premium_uptake": 0.03,
                "ads_cpm_usd": 3.0,
            },
        ),
        Scenario(
            "adversarial",
            "Baseline demand, a falling and very volatile price, apathetic voters, frequent "
            "slashing and cheap Sybil accounts: the setting in which attacks are cheapest.",
            {
                "price_drift": -0.3,
                "price_vol": 1.3,
                "against_turnout": 0.01,
                "slash_rate": 0.02,
                "sybil_account_usd_month": 0.1,
                "outside_yield": 0.10,
                "panel_capture_prob": 0.05,
            },
        ),
    )
}


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}") from None
