"""Figures from simulation results (plotting is kept apart from modelling; Agg backend, PNG + SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clubchat.sim.parameters import KINDS

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "clubchat",  # stable SVG ids: regenerated figures diff cleanly
    }
)


def bands(df: pd.DataFrame, column: str, by: str = "day") -> pd.DataFrame:
    """5/25/50/75/95th percentiles of `column` across runs, per `by`."""
    q = df.groupby(by)[column].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    q.columns = ["p5", "p25", "p50", "p75", "p95"]
    return q


def band_plot(
    ax: Axes, df: pd.DataFrame, column: str, *, label: str, color: str | None = None, scale: float = 1.0
) -> None:
    q = bands(df, column) * scale
    x = q.index.to_numpy() / 365.0
    (line,) = ax.plot(x, q["p50"], label=f"{label} (median)", color=color)
    c = line.get_color()
    ax.fill_between(x, q["p5"], q["p95"], color=c, alpha=0.12, label=f"{label} 5-95 %")
    ax.fill_between(x, q["p25"], q["p75"], color=c, alpha=0.25)
    ax.set_xlabel("years after genesis")


FORMATS: tuple[str, ...] = ("png", "svg")


def save(fig: Figure, out_dir: Path, name: str, formats: tuple[str, ...] | None = None) -> list[Path]:
    """Write `fig` as out_dir/name.<fmt> for each format (default `FORMATS`: PNG and SVG)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.{fmt}" for fmt in (formats or FORMATS)]
    for path in paths:
        meta = {"Date": None} if path.suffix == ".svg" else {"Software": None}
        fig.savefig(path, bbox_inches="tight", metadata=meta)
    plt.close(fig)
    return paths


_BASE_COLS = {"scenario", "subset", "run", "day", "year"}


def nodes_figure(groups: Sequence[tuple[str, pd.DataFrame]], nodes_label: str) -> Figure:
    """Nodes (top) and capacity / demand (bottom, log, 1 = demand met) per node kind, one band per group."""
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex=True)
    for i, kind in enumerate(KINDS):
        for label, g in groups:
            band_plot(axes[0, i], g, f"nodes_{kind.lower()}", label=label)
            band_plot(axes[1, i], g, f"coverage_{kind.lower()}", label=label)
        axes[0, i].set_title(kind)
        axes[0, i].set_ylabel(nodes_label)
        axes[1, i].set_ylabel("capacity / demand")
        axes[1, i].set_yscale("log")
        axes[1, i].axhline(1.0, color="red", lw=1, ls="--")
    axes[0, 0].legend(fontsize=7)
    return fig


def scenario_figures(df: pd.DataFrame, out_dir: Path, scenario: str, sweep: Sequence[str] = ()) -> list[Path]:
    """The four standard figures of a run: supply, staking, nodes, attack costs (one band per subset)."""
    known = set(df.columns)
    from clubchat.sim.model import RECORDED

    rec = {f"{k}_{kind.lower()}" for k in RECORDED for kind in KINDS} | set(RECORDED) | _BASE_COLS
    sweep_cols = list(sweep) or [c for c in known if c not in rec]
    groups = []
    for _subset, g in df.groupby("subset"):
        label = ", ".join(f"{c}={g[c].iloc[0]}" for c in sweep_cols) or scenario
        groups.append((str(label), g))
    paths: list[Path] = []

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, g in groups:
        band_plot(axes[0], g, "circulating", label=label, scale=1e-6)
        band_plot(axes[1], g, "total_supply", label=label, scale=1e-6)
    axes[0].set_ylabel("circulating supply (M CLUB)")
    axes[1].set_ylabel("total supply (M CLUB)")
    axes[0].legend(fontsize=7)
    paths += save(fig, out_dir, f"{scenario}-supply")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, g in groups:
        band_plot(axes[0], g, "stake_ratio", label=label, scale=100)
        band_plot(axes[1], g, "staking_yield", label=label, scale=100)
    axes[0].set_ylabel("staked / circulating (%)")
    axes[1].set_ylabel("delegator yield (%/yr)")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    paths += save(fig, out_dir, f"{scenario}-staking")

    paths += save(nodes_figure(groups, "profitable nodes"), out_dir, f"{scenario}-nodes")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for col, name in (
        ("gov_attack_usd", "pass a proposal alone"),
        ("panel_attack_usd", "capture a review panel"),
        ("relay_attack_usd", "50 % of relay selection"),
    ):
        for label, g in groups:
            band_plot(ax, g, col, label=f"{name}" + (f" [{label}]" if len(groups) > 1 else ""))
    ax.set_yscale("log")
    ax.set_ylabel("attack cost (USD)")
    ax.legend(fontsize=7)
    paths += save(fig, out_dir, f"{scenario}-attacks")
    return paths
