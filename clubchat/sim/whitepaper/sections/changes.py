"""The "what changed" section: the bootstrap guard's choice, old vs new headline figures, the tails of the
headline, the attacks priced as (harm, cost), and the sensitivity ranking of the assumptions."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np

from clubchat.sim import engine, headline, security
from clubchat.sim.parameters import YEAR_DAYS, SimParams
from clubchat.sim.whitepaper.runs import SEED, Results, final
from clubchat.sim.whitepaper.text import club, num, pct, table, usd

ATTACKS = ("gov_attack_usd", "panel_attack_usd", "relay_attack_usd")
WHITEPAPER_PACKAGE = "clubchat.sim.whitepaper"


BOOTSTRAP_SWEEP = ((0.0, 0), (10.0, 104), (20.0, 104), (30.0, 104), (50.0, 104), (20.0, 52), (20.0, 156))
HEADLINE_V1 = "headline_v1.json"
CHANGE_ROWS = (
    ("total supply (median)", "total_supply", club),
    ("staked (median)", "staked", club),
    ("delegator yield (median)", "staking_yield", pct),
    ("node emission per year (median)", "node_emission_per_year", club),
    ("RELAY nodes (median)", "nodes_relay", num),
    ("RELAY capacity / demand (5th percentile)", "coverage_relay", None),
    (
        "relay attack (median; old: 50 % of selection at spot, new: loss to eclipse 1 % of users)",
        "relay_attack_usd",
        usd,
    ),
    ("cost of panel capture (median)", "panel_attack_usd", usd),
)


def _ratio(x: float) -> str:
    return f"{x:,.2f}x"


def bootstrap_rows(p: SimParams, runs: int) -> list[list[str]]:
    """The baseline under other guards: early yields against node emission and stake (seeded)."""
    rows = []
    for multiple, epochs in BOOTSTRAP_SWEEP:
        q = p.replace(bootstrap_multiple=multiple, bootstrap_epochs=epochs)
        s = engine.simulate(q, runs=runs, days=3 * YEAR_DAYS, seed=SEED, record_every=1)
        nr = s["node_rewards_total"]
        label = "none" if epochs == 0 else f"{multiple:g} x sqrt(stake), {epochs} epochs"
        default = multiple == p.bootstrap_multiple and epochs == p.bootstrap_epochs
        rows.append(
            [
                f"**{label}** (default)" if default else label,
                pct(float(np.median(s["staking_yield"][0])), 0),
                pct(float(np.median(s["staking_yield"][:YEAR_DAYS].max(axis=0))), 0),
                club(float(np.median(nr[YEAR_DAYS]))),
                club(float(np.median(nr[2 * YEAR_DAYS] - nr[YEAR_DAYS]))),
                club(float(np.median(nr[3 * YEAR_DAYS] - nr[2 * YEAR_DAYS]))),
                club(float(np.median(s["staked"][2 * YEAR_DAYS]))),
            ]
        )
    return rows


def change_rows(old: dict[str, Any], new: dict[str, Any]) -> list[list[str]]:
    """Old and new headline figures side by side at years 1, 5 and 15 (5th percentile for coverage)."""
    rows = []
    for label, key, fmt in CHANGE_ROWS:
        q = "p5" if fmt is None else "p50"
        f = fmt or _ratio
        cells = [label]
        for year in ("1", "5", "15"):
            o, n = old["metrics"].get(key, {}).get(year), new["metrics"].get(key, {}).get(year)
            cells.append(f"{f(o[q]) if o else '-'} → {f(n[q]) if n else '-'}")
        rows.append(cells)
    return rows


def changes_facts(res: Results) -> dict[str, str]:
    """Facts of the "what changed" section and the tails of the headline."""
    p, base, y = res.p, res.by_scenario["baseline"], res.years
    old = json.loads(resources.files(WHITEPAPER_PACKAGE).joinpath(HEADLINE_V1).read_text(encoding="utf-8"))
    new = headline.headline(p, runs_5y=res.runs, runs_15y=res.sweep_runs)
    unguarded = p.replace(bootstrap_epochs=0)
    y0 = engine.simulate(unguarded, runs=8, days=1, seed=SEED, record_every=1)["staking_yield"][0]
    q5 = {c: final(base, c, y, 0.05) for c in ("coverage_relay", "coverage_turn", "coverage_notify")}
    a5 = {c: final(base, c, y, 0.05) for c in ATTACKS}
    return {
        "bootstrap_multiple": f"{p.bootstrap_multiple:g} CLUB",
        "bootstrap_epochs": num(p.bootstrap_epochs),
        "bootstrap_years": f"{p.bootstrap_epochs * p.epoch_days / YEAR_DAYS:.1f}",
        "bootstrap_table": table(
            ["guard", "yield at genesis", "peak yield, year 1", "node emission y1", "y2", "y3", "staked y2"],
            bootstrap_rows(p, res.sweep_runs),
        ),
        "genesis_yield": pct(final(base, "staking_yield", 0.0), 0),
        "genesis_yield_unguarded": pct(float(np.median(y0)), 0),
        "changes_table": table(
            ["figure (baseline)", "year 1: old → new", "year 5: old → new", "year 15: old → new"],
            change_rows(old, new),
        ),
        "coverage_relay_p5": _ratio(q5["coverage_relay"]),
        "coverage_turn_p5": _ratio(q5["coverage_turn"]),
        "coverage_notify_p5": _ratio(q5["coverage_notify"]),
        "gov_attack_p5": usd(a5["gov_attack_usd"]),
        "panel_attack_p5": usd(a5["panel_attack_usd"]),
        "relay_attack_p5": usd(a5["relay_attack_usd"]),
        "targeted_attack_year1": usd(final(base, "targeted_attack_usd", 1.0)),
        "targeted_attack": usd(final(base, "targeted_attack_usd", y)),
        "escrow_votes": club(p.vesting_total),
        "team_escrow_quorum_multiple": f"{max(p.vesting_amounts) / (p.quorum_fraction * p.genesis_total):.1f}",  # noqa: E501
        "eclipse_harm": pct(p.eclipse_harm, 0),
        "rendezvous_relays": num(p.rendezvous_relays),
        "eclipse_share": pct(security.eclipse_share_global(p.eclipse_harm, p.rendezvous_relays), 0),
        "targeted_share": pct(
            security.eclipse_share_targeted(p.targeted_success, p.rendezvous_relays, p.attack_days), 1
        ),
        "attack_days": num(p.attack_days),
        "attack_detect_prob": pct(p.attack_detect_prob, 0),
        "attack_slash_share": pct(p.attack_slash_share, 0),
        "attack_price_drop": pct(p.attack_price_drop, 0),
        # a small build (tests) screens with its own small run count; the document uses SENSITIVITY_RUNS
        **sensitivity_facts(p, y, min(SENSITIVITY_RUNS, res.sweep_runs)),
    }


SENSITIVITY_RUNS = 24
SENSITIVITY_TRAJECTORIES = 4


def sensitivity_facts(p: SimParams, years: float, runs: int) -> dict[str, str]:
    """The Morris ranking of the assumptions behind each headline number (seeded, small screening)."""
    from clubchat.sim import sensitivity

    factors = sensitivity.FACTORS
    model = sensitivity.headline_model(p, factors, runs=runs, years=years, seed=SEED)
    mu, _ = sensitivity.morris(model, len(factors), r=SENSITIVITY_TRAJECTORIES, seed=SEED)
    rank = sensitivity.ranking(mu, factors)
    ranges = ", ".join(f"{f.name} {f.low:g}-{f.high:g}" for f in factors)
    return {
        "sensitivity_table": table(list(rank.columns), rank.itertuples(index=False))
        + f"\n\n*Factors and ranges: {ranges}.*",
        "sensitivity_runs": num(runs),
        "sensitivity_trajectories": num(SENSITIVITY_TRAJECTORIES),
    }
