"""The whitepaper's figures, drawn from the model runs (`runs.Results`); PNG only, as they are committed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clubchat.sim import plots, schedules, security
from clubchat.sim.parameters import YEAR_DAYS, SimParams
from clubchat.sim.whitepaper.runs import QuorumCurve, Results, at_year
from clubchat.sim.whitepaper.text import club, pct


def _save(fig: Any, out: Path, name: str) -> list[Path]:
    """Whitepaper figures are committed, so PNG only (the CLI writes PNG and SVG)."""
    return plots.save(fig, out, name, formats=("png",))


def fig_allocation(p: SimParams, out: Path) -> list[Path]:
    labels = ["treasury", "liquidity", *p.vesting_names, "unminted (Emission's gap)"]
    sizes = [p.genesis_treasury, p.genesis_liquidity, *p.vesting_amounts, p.reserve]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.pie(
        sizes,
        labels=[f"{lab}\n{pct(s / p.cap, 0)}" for lab, s in zip(labels, sizes, strict=True)],
        startangle=90,
        counterclock=False,
        wedgeprops={"linewidth": 1, "edgecolor": "white"},
    )
    ax.set_title(f"CLUB cap {club(p.cap)}")
    return _save(fig, out, "allocation")


def fig_vesting(p: SimParams, out: Path) -> list[Path]:
    days = np.arange(0, 6 * YEAR_DAYS + 1)
    fig, ax = plt.subplots(figsize=(8, 4))
    stack = []
    for name, amount, cliff, duration in zip(
        p.vesting_names, p.vesting_amounts, p.vesting_cliff_days, p.vesting_duration_days, strict=True
    ):
        one = p.replace(
            vesting_amounts=(amount,), vesting_cliff_days=(cliff,), vesting_duration_days=(duration,)
        )
        stack.append((name, schedules.vested(one, days) / 1e6))
    ax.stackplot(days / YEAR_DAYS, *[s for _, s in stack], labels=[n for n, _ in stack], alpha=0.8)
    ax.set_xlabel("years after genesis")
    ax.set_ylabel("unlocked (M CLUB)")
    ax.legend(loc="upper left")
    return _save(fig, out, "vesting")


def fig_emission(p: SimParams, rates: list[float], out: Path) -> list[Path]:
    years = np.linspace(0, 20, 20 * 52 + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for r in rates:
        q = p.replace(rate_per_epoch=r)
        k = schedules.epochs_at(q, years * YEAR_DAYS)
        cum = schedules.cumulative_emission(q, k)
        style = {"lw": 2.5, "color": "black"} if r == p.rate_per_epoch else {"lw": 1.2}
        axes[0].plot(years, 100 * cum / q.reserve, label=f"{pct(r, 2)} / epoch", **style)
        annual = (schedules.cumulative_emission(q, k + round(YEAR_DAYS / q.epoch_days)) - cum) / (
            q.genesis_total + cum
        )
        axes[1].plot(years, 100 * annual, label=f"{pct(r, 2)} / epoch", **style)
    axes[0].set_ylabel("genesis gap minted without burns (%)")
    axes[1].set_ylabel("supply growth over the next year (%)")
    for ax in axes:
        ax.set_xlabel("years after genesis")
    axes[0].legend()
    return _save(fig, out, "emission")


def fig_circulating(res: Results, out: Path) -> list[Path]:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, df in res.by_scenario.items():
        plots.band_plot(axes[0], df, "circulating", label=name, scale=1e-6)
        plots.band_plot(axes[1], df, "total_supply", label=name, scale=1e-6)
    axes[0].set_ylabel("circulating supply (M CLUB)")
    axes[1].set_ylabel("total supply (M CLUB)")
    axes[0].legend(fontsize=7)
    return _save(fig, out, "circulating")


def fig_nodes(df: pd.DataFrame, out: Path) -> list[Path]:
    return _save(plots.nodes_figure([("baseline", df)], "nodes that stay profitable"), out, "nodes")


def fig_staking(res: Results, out: Path) -> list[Path]:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, df in res.by_scenario.items():
        plots.band_plot(axes[0], df, "stake_ratio", label=name, scale=100)
        plots.band_plot(axes[1], df, "staking_yield", label=name, scale=100)
    axes[0].set_ylabel("staked / circulating (%)")
    axes[1].set_ylabel("delegator yield (%/yr)")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    return _save(fig, out, "staking")


# What each swept panel shows; costs and capacity ratios span decades and get a log axis.
SWEEP_LABELS = {
    "stake_ratio": "stake / circulating",
    "panel_attack_usd": "panel capture cost (USD)",
    "relay_attack_usd": "relay-majority cost (USD)",
    "coverage_turn": "TURN capacity / demand",
    "coverage_relay": "RELAY capacity / demand",
    "nodes_turn": "TURN nodes",
    "nodes_relay": "RELAY nodes",
}
LOG_PANELS = {"panel_attack_usd", "relay_attack_usd", "coverage_turn", "coverage_relay"}


@dataclass(frozen=True)
class Sweep:
    """One sweep figure: `columns` at `year` against the swept parameter `x` (default marked)."""

    name: str
    frame: pd.DataFrame
    x: str
    xlabel: str
    default: float
    columns: tuple[str, ...]
    year: float
    vline: tuple[float, str] | None = None


def fig_sweep(sweep: Sweep, out: Path) -> list[Path]:
    """Median and 5-95 % of each column at the sweep's year against the swept parameter."""
    panels, x, year = sweep.columns, sweep.x, sweep.year
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4))
    last = at_year(sweep.frame, year)
    for i, col in enumerate(panels):
        ax = axes[i] if len(panels) > 1 else axes
        g = last.groupby(x)[col]
        xs = np.array(sorted(last[x].unique()), dtype=float)
        med = g.median().reindex(xs).to_numpy()
        lo = g.quantile(0.05).reindex(xs).to_numpy()
        hi = g.quantile(0.95).reindex(xs).to_numpy()
        ax.plot(xs, med, marker="o")
        ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.axvline(sweep.default, color="black", ls="--", lw=1, label="default")
        if sweep.vline is not None:
            ax.axvline(sweep.vline[0], color="red", ls=":", lw=1.5, label=sweep.vline[1])
        ax.set_xlabel(sweep.xlabel)
        ax.set_ylabel(f"{SWEEP_LABELS[col]} after {year:g} y")
        if col in LOG_PANELS:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    return _save(fig, out, sweep.name)


def fig_quorum(res: Results, curves: list[QuorumCurve], out: Path) -> list[Path]:
    p = res.p
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for c in curves:
        style = {"lw": 2.5, "color": "black"} if math.isclose(c.quorum, p.quorum_fraction) else {"lw": 1.2}
        axes[0].plot(c.years, c.cost_usd, label=f"quorum {pct(c.quorum, 0)}", **style)
        axes[1].plot(c.years, 100 * c.turnout_needed, label=f"quorum {pct(c.quorum, 0)}", **style)
    axes[1].axhline(100 * p.typical_turnout, color="red", ls=":", label="typical turnout")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("USD to pass a proposal alone (median path)")
    axes[1].set_ylabel("turnout needed to reach quorum (% of votable)")
    for ax in axes:
        ax.set_xlabel("years after genesis")
        ax.legend(fontsize=7)
    return _save(fig, out, "quorum")


def fig_attacks(res: Results, out: Path) -> list[Path]:
    cols = (
        ("gov_attack_usd", "pass a proposal alone"),
        ("panel_attack_usd", "capture a review panel"),
        ("relay_attack_usd", "eclipse 1 % of users (relay)"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
    for ax, (col, title) in zip(axes, cols, strict=True):
        for name, df in res.by_scenario.items():
            plots.band_plot(ax, df, col, label=name)
        ax.set_title(title)
        ax.set_yscale("log")
    axes[0].set_ylabel("attack cost (USD)")
    axes[0].legend(fontsize=7)
    return _save(fig, out, "attacks")


def fig_panel(p: SimParams, out: Path) -> list[Path]:
    ks = np.arange(3, 32, 2)
    fig, ax = plt.subplots(figsize=(7, 4))
    for prob in (0.001, 0.01, 0.05, 0.2):
        shares = [security.stake_share_for_panel(int(k), prob) for k in ks]
        lw = 2.5 if math.isclose(prob, p.panel_capture_prob) else 1.2
        ax.plot(ks, 100 * np.array(shares), marker="o", label=f"capture probability {pct(prob, 1)}", lw=lw)
    ax.axvline(p.panel_size, color="black", ls="--", lw=1, label="panel size assumed")
    ax.set_xlabel("reviewers per panel (k)")
    ax.set_ylabel("stake share an attacker needs (%)")
    ax.legend(fontsize=7)
    return _save(fig, out, "panel")


def fig_sybil(p: SimParams, out: Path) -> list[Path]:
    caps = np.linspace(0, 40, 81)
    fig, ax = plt.subplots(figsize=(7, 4))
    for cpm in (0.5, 1.0, 2.0, 5.0):
        prof = security.sybil_profit_per_account_month(
            caps, 1e9, cpm, p.ads_split_users, p.sybil_account_usd_month
        )
        ax.plot(caps, prof, label=f"CPM ${cpm:g}", lw=2.5 if math.isclose(cpm, p.ads_cpm_usd) else 1.2)
    ax.axhline(0, color="black", lw=1)
    ax.axvline(p.ads_cap_per_user_day, color="black", ls="--", lw=1, label="assumed cap")
    ax.set_xlabel("paid ads per user per day (cap)")
    ax.set_ylabel("profit per fake account (USD/month)")
    ax.legend(fontsize=7)
    return _save(fig, out, "sybil")


def draw_all(res: Results, curves: list[QuorumCurve], figs: Path) -> None:
    """Every figure of the document, as PNG files under `figs`."""
    p, years = res.p, res.years
    fig_allocation(p, figs)
    fig_vesting(p, figs)
    fig_emission(p, res.rates, figs)
    fig_circulating(res, figs)
    fig_nodes(res.by_scenario["baseline"], figs)
    fig_staking(res, figs)
    sweeps = (
        Sweep(
            "sweep-emission-rate",
            res.rate_sweep,
            "rate_per_epoch",
            "emission rate per epoch",
            p.rate_per_epoch,
            ("stake_ratio", "panel_attack_usd", "coverage_turn"),
            years,
        ),
        Sweep(
            "sweep-min-stake",
            res.stake_sweep,
            "min_self_stake",
            "minimum self-stake per kind (CLUB)",
            p.min_self_stake,
            ("nodes_turn", "coverage_relay", "relay_attack_usd"),
            1.0,
        ),
        Sweep(
            "sweep-unbonding",
            res.unbond_sweep,
            "unbonding_days",
            "unbonding period (days)",
            p.unbonding_days,
            ("stake_ratio", "panel_attack_usd"),
            years,
            vline=(p.dispute_days, "dispute window"),
        ),
        Sweep(
            "sweep-saturation",
            res.sat_sweep,
            "saturation_multiple",
            "saturation multiple (delegation / self-stake)",
            p.saturation_multiple,
            ("stake_ratio", "nodes_relay"),
            1.0,
        ),
    )
    for sweep in sweeps:
        fig_sweep(sweep, figs)
    fig_quorum(res, curves, figs)
    fig_panel(p, figs)
    fig_attacks(res, figs)
    fig_sybil(p, figs)
