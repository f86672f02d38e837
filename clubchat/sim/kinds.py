"""Node rewards per kind: which registry design keeps every kind of node in business, measured.

NodeRegistry splits what it streams (emission and Premium's node share) into one stream per kind by
the Timelock-set `kind_reward_bps` (the model's `kind_reward_split`), each paid pro rata to reward
weight within its kind (a node declaring several kinds weighs its weight / its number of kinds in
each). Before that change it paid one stream pro rata to stake whatever kinds a node served: nodes
entered while their income covered their costs, so the kind cheapest to run (NOTIFY, which AdMarket
also pays) kept entering until the stream per node no longer covered a RELAY or TURN server; those
kinds fell to the community-run floor and users left for want of capacity. Designs compared here,
each a set of `SimParams` changes:

* ``deployed``: the contracts as they are (per-kind streams, the deployed split);
* ``one stream``: the registry before the per-kind streams;
* ``premium routed``: one stream, Premium's node share paid to RELAY and TURN nodes by a fixed split;
* ``kind multipliers``: one stream, each kind's stake weighted by a multiplier;
* ``per-kind streams, chosen split``: the split `select_split` chooses, when it is not the
  deployed one;
* the deployed registry and the one stream again with every node declaring one kind (the
  single-kind model), to show what operators serving several kinds change
  (clubchat.sim.kindsets).

Multipliers cannot fix the one stream: a node of kind k earns m_k / sum(n m) of it, so the kind with
the best multiplier-to-cost ratio still takes the whole stream. A per-kind stream fixes each kind's
budget; its node count settles where that budget covers that kind's costs.

Choosing the split is a control-vs-environment question (BlockScience's parameter selection under
uncertainty): the split is the control parameter governance sets, the scenarios are environments
nobody sets. `select_split` scores every split on a grid in every environment by the share of
run-days on which every kind's capacity covers its demand, and keeps the split whose worst
environment is best (ties: the most users in the worst environment).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clubchat.sim import engine, scenarios
from clubchat.sim.parameters import KINDS, YEAR_DAYS, from_parameters

SEED = 2026
ENVIRONMENTS: tuple[str, ...] = ("baseline", "bear", "bull")
PREMIUM_ROUTING = (0.5, 0.5, 0.0)
# The registry before per-kind streams: one stream by weight whatever the kind.
ONE_STREAM = (0.0, 0.0, 0.0)
CHOSEN = "per-kind streams, chosen split"
MULTIPLIERS = (3.0, 4.0, 1.0)


@dataclass(frozen=True)
class Outcome:
    """One design in one environment: medians and tails at the horizon, service over the whole run."""

    design: str
    scenario: str
    nodes_p50: tuple[float, ...]  # per kind, at the horizon
    coverage_p5: tuple[float, ...]  # per kind, 5th percentile at the horizon
    served: float  # share of run-days (after day 0) on which every kind's capacity covers demand
    users_p50: float
    relay_attack_p50: float  # USD
    panel_attack_p50: float  # USD
    nakamoto_relay_p50: float
    multi_p50: float = 0.0  # nodes declaring more than one kind, at the horizon


def designs(split: Sequence[float]) -> dict[str, dict[str, Any]]:
    """The designs compared, as SimParams changes; `split` is the chosen per-kind split (a design of its
    own only when it is not the deployed `kind_reward_bps`)."""
    out: dict[str, dict[str, Any]] = {
        "deployed": {},
        "one stream": {"kind_reward_split": ONE_STREAM},
        "premium routed": {"kind_reward_split": ONE_STREAM, "premium_fee_routing": PREMIUM_ROUTING},
        "kind multipliers": {"kind_reward_split": ONE_STREAM, "kind_reward_multiplier": MULTIPLIERS},
    }
    if not np.allclose(split, from_parameters().kind_reward_split):
        out[CHOSEN] = {"kind_reward_split": tuple(split)}
    # the deployed registry and the one stream in the single-kind model (every node declares one kind)
    out["deployed, one kind per node"] = {"kind_switch_speed": 0.0}
    out["one stream, one kind per node"] = {"kind_reward_split": ONE_STREAM, "kind_switch_speed": 0.0}
    return out


def evaluate(
    design: str, changes: dict[str, Any], scenario: str, *, runs: int, years: int, seed: int = SEED
) -> Outcome:
    p = scenarios.get(scenario).params().replace(**changes)
    a = engine.simulate(p, runs=runs, days=years * YEAR_DAYS, seed=seed, scenario=scenario, record_every=7)
    last = len(a["day"]) - 1
    covered = (a["coverage"][1:] >= 1.0).all(axis=-1)
    return Outcome(
        design=design,
        scenario=scenario,
        nodes_p50=tuple(float(x) for x in np.median(a["nodes"][last], axis=0)),
        coverage_p5=tuple(float(x) for x in np.quantile(a["coverage"][last], 0.05, axis=0)),
        served=float(covered.mean()),
        users_p50=float(np.median(a["users"][last])),
        relay_attack_p50=float(np.median(a["relay_attack_usd"][last])),
        panel_attack_p50=float(np.median(a["panel_attack_usd"][last])),
        multi_p50=float(np.median(a["nodes_multi"][last])),
        nakamoto_relay_p50=float(np.median(a["nakamoto_relay"][last])),
    )


def simplex(step: float) -> list[tuple[float, float, float]]:
    """Every split (RELAY, TURN, NOTIFY) on a grid of `step`, each kind getting at least one step."""
    n = round(1.0 / step)
    return [
        (i / n, j / n, (n - i - j) / n) for i, j in itertools.product(range(1, n), repeat=2) if n - i - j >= 1
    ]


@dataclass(frozen=True)
class Choice:
    """The chosen split and the score of every split: {split: {scenario: Outcome}}."""

    split: tuple[float, float, float]
    scores: dict[tuple[float, float, float], dict[str, Outcome]]

    def worst(self, split: tuple[float, float, float]) -> Outcome:
        """The split's worst environment (least served, then fewest users)."""
        return min(self.scores[split].values(), key=lambda o: (o.served, o.users_p50))


def select_split(
    *, step: float = 0.1, runs: int = 100, years: int = 5, environments: Sequence[str] = ENVIRONMENTS,
    seed: int = SEED,
) -> Choice:  # fmt: skip
    """Maximin over environments of the served share (ties: users in the worst environment)."""
    scores = {
        split: {
            sc: evaluate(
                "per-kind streams", {"kind_reward_split": split}, sc, runs=runs, years=years, seed=seed
            )
            for sc in environments
        }
        for split in simplex(step)
    }

    def key(split: tuple[float, float, float]) -> tuple[float, float]:
        w = min(scores[split].values(), key=lambda o: (o.served, o.users_p50))
        return (round(w.served, 6), w.users_p50)

    return Choice(split=max(scores, key=key), scores=scores)


def compare(
    split: Sequence[float], *, runs: int = 200, years: int = 5, environments: Sequence[str] = ENVIRONMENTS,
    seed: int = SEED,
) -> list[Outcome]:  # fmt: skip
    """Every design in every environment."""
    return [
        evaluate(name, changes, sc, runs=runs, years=years, seed=seed)
        for name, changes in designs(split).items()
        for sc in environments
    ]


def table(outcomes: Sequence[Outcome]) -> list[dict[str, str]]:
    """Printable rows (the CLI and the whitepaper)."""
    return [
        {
            "design": o.design,
            "scenario": o.scenario,
            "nodes (median, " + "/".join(KINDS) + ")": " / ".join(f"{x:,.0f}" for x in o.nodes_p50),
            "coverage p5": " / ".join(f"{x:.2f}" for x in o.coverage_p5),
            "days served": f"{100 * o.served:.0f} %",
            "users (median)": f"{o.users_p50 / 1e6:.2f}M",
            "multi-kind nodes": f"{o.multi_p50:,.0f}",
            "relay attack (median)": f"${o.relay_attack_p50 / 1e3:,.0f}k",
            "panel attack (median)": f"${o.panel_attack_p50 / 1e3:,.0f}k",
            "RELAY Nakamoto": f"{o.nakamoto_relay_p50:.0f}",
        }
        for o in outcomes
    ]
