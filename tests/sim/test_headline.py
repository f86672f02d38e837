"""The headline figures of a model version (what the whitepaper's old vs new table compares)."""

from __future__ import annotations

import json
from importlib import resources

from clubchat.sim import headline
from clubchat.sim.whitepaper.sections import changes


def test_headline_quantiles_are_ordered(sim_params):
    h = headline.headline(sim_params, runs_5y=8, runs_15y=4)
    for metric in (*headline.METRICS, "node_emission_per_year"):
        for year in ("1", "5", "15"):
            q = h["metrics"][metric][year]
            assert q["p5"] <= q["p50"] <= q["p95"], (metric, year)


def test_recorded_old_figures_fill_the_change_table(sim_params):
    old = json.loads(resources.files("clubchat.sim.whitepaper").joinpath(changes.HEADLINE_V1).read_text())
    assert old["seed"] == headline.SEED and old["runs_5y"] == 1000
    # the review's figures of the old model: node emission fell to ~4.7M CLUB/yr by year 15
    assert 4e6 < old["metrics"]["node_emission_per_year"]["15"]["p50"] < 5.5e6
    new = headline.headline(sim_params, runs_5y=8, runs_15y=4)
    rows = changes.change_rows(old, new)
    assert len(rows) == len(changes.CHANGE_ROWS) and all("→" in c for r in rows for c in r[1:])
