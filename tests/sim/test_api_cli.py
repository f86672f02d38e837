"""The Python entry points and `club sim run|list`."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from clubchat import sim
from clubchat.cli import main
from clubchat.sim import engine


def test_run_returns_a_tidy_frame_with_run_ids():
    df = sim.run("bear", runs=5, years=0.2, seed=1)
    assert set(df["run"]) == {1, 2, 3, 4, 5}
    assert (df["scenario"] == "bear").all()
    assert df.groupby("run")["day"].apply(list).map(len).nunique() == 1
    assert {"nodes_relay", "coverage_turn", "gov_attack_usd", "year"} <= set(df.columns)
    assert df.duplicated(["subset", "run", "day"]).sum() == 0


def test_sweeps_are_explicit_cartesian_grids():
    grid = engine.cartesian({"rate_per_epoch": [0.001, 0.002], "unbonding_days": [7, 14, 28]})
    assert len(grid) == 6
    assert {tuple(s.changes.values()) for s in grid} == {(r, u) for r in (0.001, 0.002) for u in (7, 14, 28)}
    df = sim.run("baseline", runs=3, years=0.1, sweep={"rate_per_epoch": [0.001, 0.002]})
    by = df.groupby("subset")["rate_per_epoch"].unique()
    assert [list(v) for v in by] == [[0.001], [0.002]]
    # same seed, different subsets: independent draws
    a = df[(df.subset == 0) & (df.day == df.day.max())]["price_usd"].to_numpy()
    b = df[(df.subset == 1) & (df.day == df.day.max())]["price_usd"].to_numpy()
    assert not (a == b).all()


def test_summary_gives_ordered_percentiles():
    df = sim.run("baseline", runs=20, years=0.3, seed=2)
    s = sim.summary(df)
    assert set(s["metric"]) == set(sim.api.SUMMARY_METRICS)
    assert (s["p5"] <= s["p50"]).all() and (s["p50"] <= s["p95"]).all()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"runs": 0}, ValueError), ({"years": 0}, ValueError), ({"sweep": {"nope": [1]}}, KeyError)],
)
def test_run_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        sim.run("baseline", **{"runs": 2, "years": 0.1, **kwargs})


def test_unknown_scenario_says_which_exist():
    with pytest.raises(KeyError, match="baseline, bear, bull, adversarial"):
        sim.run("moon", runs=2, years=0.1)


def test_cli_run_writes_table_summary_and_figures(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["sim", "run", "baseline", "--runs", "4", "--years", "0.2", "--seed", "3", "--format", "csv",
         "--sweep", "unbonding_days=7,14", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out / "baseline.csv")
    assert set(df["subset"]) == {0, 1} and set(df["unbonding_days"]) == {7, 14}
    assert (out / "baseline-summary.csv").exists()
    for name in ("supply", "staking", "nodes", "attacks"):
        assert (out / f"baseline-{name}.png").stat().st_size > 1000
        assert (out / f"baseline-{name}.svg").exists()
    assert "cost to pass a proposal alone" in result.output


def test_cli_rejects_a_malformed_sweep(tmp_path):
    result = CliRunner().invoke(
        main, ["sim", "run", "baseline", "--sweep", "rate_per_epoch", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "write --sweep name=v1,v2" in result.output
    result = CliRunner().invoke(
        main, ["sim", "run", "baseline", "--sweep", "bogus=1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "unknown simulation parameter" in result.output


def test_cli_list_shows_scenarios_and_parameters():
    result = CliRunner().invoke(main, ["sim", "list", "--params"])
    assert result.exit_code == 0
    for name in ("baseline", "bear", "bull", "adversarial", "rate_per_epoch", "price_vol"):
        assert name in result.output


def test_sweep_subsets_in_worker_processes_give_the_same_frame():
    sweep = {"unbonding_days": [7, 14]}
    serial = sim.run("baseline", runs=3, years=0.1, seed=8, sweep=sweep)
    parallel = sim.run("baseline", runs=3, years=0.1, seed=8, sweep=sweep, workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
