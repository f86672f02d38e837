"""Generate the token whitepaper (whitepaper/whitepaper.md, .html and figures/) from the model and parameters.

Every number and figure in the document is computed here from deployments/parameters.yaml
(`clubchat.params.load()`), the assumptions of `clubchat.sim.parameters.SimParams` and seeded
Monte Carlo runs of `clubchat.sim`; nothing numeric is typed into the prose. Regenerate with
`make whitepaper` (or `python -m clubchat.sim.whitepaper`). The parameter table sits between
markers so a test can check the committed document against the parameters file.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.params import load as load_parameters
from clubchat.sim import api, plots, scenarios, schedules, security
from clubchat.sim.engine import monte_carlo
from clubchat.sim.model import liquidity_premium
from clubchat.sim.parameters import KINDS, YEAR_DAYS, SimParams, describe, from_parameters

ATTACKS = ("gov_attack_usd", "panel_attack_usd", "relay_attack_usd")
OUT_DIR = Path(__file__).resolve().parents[2] / "whitepaper"
PARAM_BEGIN = "<!-- BEGIN parameters-table (generated from deployments/parameters.yaml) -->"
PARAM_END = "<!-- END parameters-table -->"
SEED = 2026
# Design criteria the defaults are checked against (stated in the text next to each figure).
RESERVE_LEFT_AFTER_10Y = 0.25  # keep at least this share of the emission reserve for year ten onwards
UNBONDING_DISPUTE_MULTIPLE = 2  # unbonding covers the dispute window this many times


# ---- formatting ------------------------------------------------------------------------------


def club(x: float) -> str:
    """Whole CLUB, scaled to M or k."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} M CLUB"
    if abs(x) >= 1e3:
        return f"{x / 1e3:,.1f} k CLUB"
    return f"{x:,.0f} CLUB"


def usd(x: float) -> str:
    if x < 0:
        return "-" + usd(-x)
    if abs(x) >= 1e9:
        return f"${x / 1e9:,.2f} bn"
    if abs(x) >= 1e6:
        return f"${x / 1e6:,.2f} M"
    if abs(x) >= 1e3:
        return f"${x / 1e3:,.1f} k"
    return f"${x:,.2f}"


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def num(x: float) -> str:
    return f"{x:,.0f}"


def days_text(seconds: int) -> str:
    d = seconds / DAY
    if seconds == 0:
        return "none"
    if d >= 1:
        return f"{d:g} day" + ("" if d == 1 else "s")
    h = seconds / 3600
    return f"{h:g} hour" + ("" if h == 1 else "s")


def table(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ---- the parameter table (checked by tests/sim/test_whitepaper.py) ---------------------------


def parameters_table(params: Parameters) -> str:
    """Every value of deployments/parameters.yaml, in the units of the file, as a Markdown table."""
    t, g, e, gv, r = params.token, params.genesis, params.emission, params.governance, params.registry
    rows: list[tuple[str, str, str]] = [
        ("token", "name / symbol / decimals", f"{t.name} / {t.symbol} / {t.decimals}"),
        ("token", "cap", club(t.cap_wei / WAD)),
        ("genesis", "treasury", club(g.treasury_wei / WAD)),
        ("genesis", "liquidity", club(g.liquidity_wei / WAD)),
    ]
    for a in g.vesting:
        rows.append(
            (
                "genesis.vesting",
                a.name,
                f"{club(a.amount_wei / WAD)}, cliff {days_text(a.cliff_seconds)}, "
                f"duration {days_text(a.duration_seconds)}, revocable {'yes' if a.revocable else 'no'}",
            )
        )
    rows += [
        ("emission", "epoch", days_text(e.epoch_seconds)),
        ("emission", "rate per epoch", pct(e.rate_per_epoch_wad / WAD, 3)),
        ("emission", "keeper tip", club(e.tip_wei / WAD) + " per epoch"),
    ]
    rows += [("emission.receivers", x.name, pct(x.weight_bps / BPS)) for x in e.receivers]
    rows += [
        ("governance", "voting delay", days_text(gv.voting_delay_seconds)),
        ("governance", "voting period", days_text(gv.voting_period_seconds)),
        ("governance", "proposal threshold", pct(gv.proposal_threshold_bps / BPS, 2) + " of supply"),
        ("governance", "quorum", pct(gv.quorum_numerator / gv.quorum_denominator) + " of past total supply"),
        ("governance", "late-quorum extension", days_text(gv.late_quorum_extension_seconds)),
        ("governance", "timelock delay", days_text(gv.timelock_delay_seconds)),
        ("governance", "grace period", days_text(gv.grace_period_seconds)),
        ("registry", "kinds", ", ".join(f"{k} = {v}" for k, v in r.kinds.items())),
        ("registry", "minimum self-stake", club(r.min_self_stake_per_kind_wei / WAD) + " per kind"),
        ("registry", "saturation", f"delegations <= {r.saturation_multiple} x self-stake"),
        ("registry", "unbonding", days_text(r.unbonding_seconds)),
        ("registry", "heartbeat", f"at least every {days_text(r.heartbeat_seconds)}"),
        ("registry", "reward epoch", days_text(r.epoch_seconds)),
        (
            "registry",
            "commission",
            f"<= {pct(r.commission_max_bps / BPS)}, "
            f"<= {pct(r.commission_max_change_bps / BPS)} per change, "
            f"effective after {days_text(r.commission_delay_seconds)}",
        ),
        ("registry", "finalize tip", club(r.finalize_tip_wei / WAD) + " per reward epoch"),
    ]
    body = table(["section", "parameter", "value"], rows)
    return f"{PARAM_BEGIN}\n{body}\n{PARAM_END}"


def extract_parameters_table(markdown: str) -> str:
    start = markdown.index(PARAM_BEGIN)
    end = markdown.index(PARAM_END) + len(PARAM_END)
    return markdown[start:end]


# ---- computations ------------------------------------------------------------------------------


@dataclass
class Results:
    p: SimParams
    params: Parameters
    runs: int
    sweep_runs: int
    years: float
    by_scenario: dict[str, pd.DataFrame]


def _final(df: pd.DataFrame, col: str, year: float, q: float = 0.5) -> float:
    day = int(df.loc[df["day"] <= round(year * YEAR_DAYS), "day"].max())
    return float(np.quantile(df.loc[df["day"] == day, col].to_numpy(), q))


def _at(df: pd.DataFrame, year: float) -> pd.DataFrame:
    day = int(df.loc[df["day"] <= round(year * YEAR_DAYS), "day"].max())
    return df[df["day"] == day]


def emission_half_life_years(p: SimParams) -> float:
    epochs = math.log(0.5) / math.log1p(-p.rate_per_epoch)
    return epochs * p.epoch_days / YEAR_DAYS


def emitted_share(p: SimParams, years: float) -> float:
    k = schedules.epochs_at(p, years * YEAR_DAYS)
    return float(schedules.cumulative_emission(p, k)) / p.reserve


# ---- figures -------------------------------------------------------------------------------------


def _save(fig: Any, out: Path, name: str) -> list[Path]:
    """Whitepaper figures are committed, so PNG only (the CLI writes PNG and SVG)."""
    return plots.save(fig, out, name, formats=("png",))


def fig_allocation(p: SimParams, out: Path) -> list[Path]:
    labels = ["treasury", "liquidity", *p.vesting_names, "emission reserve"]
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
    axes[0].set_ylabel("emission reserve released (%)")
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
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex=True)
    for i, kind in enumerate(KINDS):
        plots.band_plot(axes[0, i], df, f"nodes_{kind.lower()}", label="baseline")
        plots.band_plot(axes[1, i], df, f"coverage_{kind.lower()}", label="baseline")
        axes[0, i].set_title(kind)
        axes[0, i].set_ylabel("nodes that stay profitable")
        axes[1, i].set_ylabel("capacity / demand")
        axes[1, i].set_yscale("log")
        axes[1, i].axhline(1.0, color="red", lw=1, ls="--")
    axes[0, 0].legend(fontsize=7)
    return _save(fig, out, "nodes")


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


def fig_sweep(
    sweep: pd.DataFrame,
    x: str,
    panels: list[tuple[str, str, float]],
    default: float,
    out: Path,
    name: str,
    xlabel: str,
    year: float,
    logy: tuple[bool, ...] = (),
    vline: tuple[float, str] | None = None,
) -> list[Path]:
    """Median and 5-95 % of `panels` at `year` against the swept parameter `x`."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4))
    last = _at(sweep, year)
    for i, (col, label, scale) in enumerate(panels):
        ax = axes[i] if len(panels) > 1 else axes
        g = last.groupby(x)[col]
        xs = np.array(sorted(last[x].unique()), dtype=float)
        med = g.median().reindex(xs).to_numpy() * scale
        lo = g.quantile(0.05).reindex(xs).to_numpy() * scale
        hi = g.quantile(0.95).reindex(xs).to_numpy() * scale
        ax.plot(xs, med, marker="o")
        ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.axvline(default, color="black", ls="--", lw=1, label="default")
        if vline is not None:
            ax.axvline(vline[0], color="red", ls=":", lw=1.5, label=vline[1])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{label} after {year:g} y")
        if len(logy) > i and logy[i]:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    return _save(fig, out, name)


def fig_quorum(res: Results, out: Path) -> tuple[list[Path], pd.DataFrame]:
    p, df = res.p, res.by_scenario["baseline"]
    qs = np.array([0.01, 0.02, 0.04, 0.06, 0.08, 0.10])
    med = df.groupby("day")[["total_supply", "circulating", "price_usd", "vested"]].median()
    votable = med["circulating"] + (p.vesting_total - med["vested"])  # escrows vote too
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    rows = []
    for q in qs:
        cost = security.governance_votes_to_pass(
            med["total_supply"], med["circulating"], q, p.against_turnout
        )
        style = {"lw": 2.5, "color": "black"} if math.isclose(q, p.quorum_fraction) else {"lw": 1.2}
        axes[0].plot(med.index / YEAR_DAYS, cost * med["price_usd"], label=f"quorum {pct(q, 0)}", **style)
        need = q * med["total_supply"] / votable
        axes[1].plot(med.index / YEAR_DAYS, 100 * need, label=f"quorum {pct(q, 0)}", **style)
        rows.append((q, float(cost[-1] * med["price_usd"].iloc[-1]), float(need.max())))
    axes[1].axhline(100 * p.typical_turnout, color="red", ls=":", label="typical turnout")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("USD to pass a proposal alone (median path)")
    axes[1].set_ylabel("turnout needed to reach quorum (% of votable)")
    for ax in axes:
        ax.set_xlabel("years after genesis")
        ax.legend(fontsize=7)
    return _save(fig, out, "quorum"), pd.DataFrame(rows, columns=["quorum", "cost_usd_end", "max_need"])


def fig_attacks(res: Results, out: Path) -> list[Path]:
    cols = (
        ("gov_attack_usd", "pass a proposal alone"),
        ("panel_attack_usd", "capture a review panel"),
        ("relay_attack_usd", "50 % of relay selection"),
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


# ---- the document --------------------------------------------------------------------------------


def build(out_dir: Path = OUT_DIR, runs: int = 1000, sweep_runs: int = 300, years: float = 5.0) -> Path:
    params = load_parameters()
    p = from_parameters(params)
    figs = out_dir / "figures"
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
    res = Results(p, params, runs, sweep_runs, years, by_scenario)
    base = by_scenario["baseline"]

    def sweep(name: str, values: list[Any], yrs: float = years) -> pd.DataFrame:
        return monte_carlo(
            p,
            scenario="baseline",
            runs=sweep_runs,
            days=round(yrs * YEAR_DAYS),
            seed=SEED,
            sweep={name: values},
        )

    rates = sorted({0.001, 0.0025, 0.005, 0.01, p.rate_per_epoch})
    rate_sweep = sweep("rate_per_epoch", rates)
    stakes = sorted({1_000.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0, 100_000.0, p.min_self_stake})
    stake_sweep = sweep("min_self_stake", stakes)
    unbond = sorted({1, 3, 7, 14, 21, 28, 56, p.unbonding_days})
    unbond_sweep = sweep("unbonding_days", unbond)
    sats = sorted({2.0, 5.0, 10.0, 20.0, 50.0, p.saturation_multiple})
    sat_sweep = sweep("saturation_multiple", sats)

    fig_allocation(p, figs)
    fig_vesting(p, figs)
    fig_emission(p, rates, figs)
    fig_circulating(res, figs)
    fig_nodes(base, figs)
    fig_staking(res, figs)
    fig_sweep(
        rate_sweep,
        "rate_per_epoch",
        [
            ("stake_ratio", "stake / circulating", 1.0),
            ("panel_attack_usd", "panel capture cost (USD)", 1.0),
            ("coverage_turn", "TURN capacity / demand", 1.0),
        ],
        p.rate_per_epoch,
        figs,
        "sweep-emission-rate",
        "emission rate per epoch",
        years,
        logy=(False, True, True),
    )
    fig_sweep(
        stake_sweep,
        "min_self_stake",
        [
            ("nodes_turn", "TURN nodes", 1.0),
            ("coverage_relay", "RELAY capacity / demand", 1.0),
            ("relay_attack_usd", "relay-majority cost (USD)", 1.0),
        ],
        p.min_self_stake,
        figs,
        "sweep-min-stake",
        "minimum self-stake per kind (CLUB)",
        1.0,
        logy=(False, True, True),
    )
    fig_sweep(
        unbond_sweep,
        "unbonding_days",
        [("stake_ratio", "stake / circulating", 1.0), ("panel_attack_usd", "panel capture cost (USD)", 1.0)],
        p.unbonding_days,
        figs,
        "sweep-unbonding",
        "unbonding period (days)",
        years,
        logy=(False, True),
        vline=(p.dispute_days, "dispute window"),
    )
    fig_sweep(
        sat_sweep,
        "saturation_multiple",
        [("stake_ratio", "stake / circulating", 1.0), ("nodes_relay", "RELAY nodes", 1.0)],
        p.saturation_multiple,
        figs,
        "sweep-saturation",
        "saturation multiple (delegation / self-stake)",
        1.0,
    )
    _, quorum_rows = fig_quorum(res, figs)
    fig_panel(p, figs)
    fig_attacks(res, figs)
    fig_sybil(p, figs)

    text = render(res, rate_sweep, stake_sweep, unbond_sweep, sat_sweep, quorum_rows) + validation_section()
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / "whitepaper.md"
    md_path.write_text(text)
    write_html(text, out_dir / "whitepaper.html")
    return md_path


def write_html(markdown: str, path: Path) -> None:
    """HTML next to the Markdown (markdown-it, installed with rich)."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(markdown)
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>CLUB token whitepaper</title>"
        "<style>body{max-width:60em;margin:auto;font-family:sans-serif;line-height:1.5}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}</style></head><body>\n" + html + "</body></html>\n"
    )


LOOP_EPOCHS = 26


def validation_section() -> str:
    """Model vs contracts (contracts in the loop, titanoboa) — generated when titanoboa is installed."""
    try:
        import boa
    except ImportError:
        return (
            "\n## Appendix F. Model validation\n\nNot generated: titanoboa is not installed (`make setup`).\n"
        )
    from clubchat.sim import loop

    with boa.env.anchor():
        result = loop.replay("baseline", epochs=LOOP_EPOCHS, seed=0)
    last = result.frame().iloc[-1]
    keys = loop.KEYS + (loop.STAKING_KEYS if result.staking_in_loop else ())
    rows = []
    for k in keys:
        chain, model_value = float(last[f"{k}_chain"]), float(last[f"{k}_model"])
        rel = abs(chain - model_value) / max(abs(chain), 1.0)
        rows.append([k.replace("_", " "), club(chain / WAD), club(model_value / WAD), f"{rel:.1e}"])
    verdict = "agree within tolerance" if not result.mismatches() else "DISAGREE (see tests/sim)"
    staking = (
        "Operators (one per node kind) and delegators act on `NodeRegistry` as the model's run says."
        if result.staking_in_loop
        else "`NodeRegistry` is not part of the deployment yet, so staking is not in the loop."
    )
    return f"""
## Appendix F. Model validation: contracts in the loop

Run 1 of the baseline was replayed for {LOOP_EPOCHS} emission epochs on the real contracts
(titanoboa, deployed by the same plan as `ape run deploy`): a keeper triggers emission, vesting
beneficiaries claim, a payments agent burns the model's premium and ad-market burns. {staking}
Model and contracts {verdict} (relative tolerance {loop.REL_TOL:g}; the exact mirrors of the
contracts' arithmetic match to the wei). `tests/sim/test_contracts_agree.py` fails `make test` on
any mismatch. After {LOOP_EPOCHS} epochs:

{table(["quantity", "contracts", "model", "relative difference"], rows)}

The radCAD implementation of the same blocks gives identical paths (`tests/sim/test_radcad_equivalence.py`);
`bench/results/sim_speed.md` compares their speed.
"""


def render(
    res: Results,
    rate_sweep: pd.DataFrame,
    stake_sweep: pd.DataFrame,
    unbond_sweep: pd.DataFrame,
    sat_sweep: pd.DataFrame,
    quorum_rows: pd.DataFrame,
) -> str:
    p, params, base = res.p, res.params, res.by_scenario["baseline"]
    y = res.years
    reg, gov = params.registry, params.governance
    hl = emission_half_life_years(p)
    year1_emission = emitted_share(p, 1.0) * p.reserve
    share_k = security.stake_share_for_panel(p.panel_size, p.panel_capture_prob)
    breakeven_cap = security.sybil_breakeven_cap(p.ads_cpm_usd, p.ads_split_users, p.sybil_account_usd_month)
    sybil_now = float(
        security.sybil_profit_per_account_month(
            p.ads_cap_per_user_day,
            p.ads_demand_per_user_day,
            p.ads_cpm_usd,
            p.ads_split_users,
            p.sybil_account_usd_month,
        )
    )
    med = {c: _final(base, c, y) for c in api.SUMMARY_METRICS}
    med1 = {c: _final(base, c, 1.0) for c in api.SUMMARY_METRICS}
    circ_bands = {
        n: (
            _final(df, "circulating", y, 0.05),
            _final(df, "circulating", y, 0.5),
            _final(df, "circulating", y, 0.95),
        )
        for n, df in res.by_scenario.items()
    }
    rate_at = _at(rate_sweep, y).groupby("rate_per_epoch")[
        ["stake_ratio", "panel_attack_usd", "coverage_turn"]
    ]
    rate_med = rate_at.median()
    rate_p5 = rate_at.quantile(0.05)
    stake_at = _at(stake_sweep, 1.0).groupby("min_self_stake")[
        ["nodes_turn", "coverage_relay", "relay_attack_usd"]
    ]
    stake_med = stake_at.median()
    unb = _at(unbond_sweep, y).groupby("unbonding_days")["stake_ratio"].median()
    sat_cols = ["stake_ratio", "nodes_relay"]
    sat1 = _at(sat_sweep, 1.0).groupby("saturation_multiple")[sat_cols].median()
    sat_y = _at(sat_sweep, y).groupby("saturation_multiple")[sat_cols].median()
    sat_rows = [
        [f"{m:g}x", pct(float(sat1.loc[m, "stake_ratio"]), 0), pct(float(sat_y.loc[m, "stake_ratio"]), 0),
         num(float(sat1.loc[m, "nodes_relay"])), num(float(sat_y.loc[m, "nodes_relay"]))]
        for m in sat1.index
    ]  # fmt: skip
    sat_free = [
        float(m) for m in sat_y.index if sat_y.loc[m, "stake_ratio"] >= 0.95 * sat_y["stake_ratio"].max()
    ]
    sat_free_min = min(sat_free)
    default_capped = sat1.loc[p.saturation_multiple, "stake_ratio"] < 0.95 * sat1["stake_ratio"].max()
    sat_first_year = (
        "the default still holds stake back while the network is small"
        if default_capped
        else "the default already leaves stake unconstrained"
    )
    q_default = quorum_rows.loc[np.isclose(quorum_rows["quorum"], p.quorum_fraction)].iloc[0]
    ok_q = quorum_rows.loc[quorum_rows["max_need"] < p.typical_turnout, "quorum"]
    q_choice = float(ok_q.max()) if len(ok_q) else float(quorum_rows["quorum"].min())
    q_verdict = (
        ", the default"
        if math.isclose(q_choice, p.quorum_fraction)
        else f" — not the default {pct(p.quorum_fraction, 0)}: revisit it"
    )
    base_cost = float(quorum_rows["cost_usd_end"].min())
    binding = quorum_rows.loc[quorum_rows["cost_usd_end"] > base_cost * 1.0001, "quorum"]
    q_floor = float(binding.min()) if len(binding) else float(quorum_rows["quorum"].max())
    cheapest = min(("gov_attack_usd", "panel_attack_usd", "relay_attack_usd"), key=lambda c: med1[c])
    attack_names = {
        "gov_attack_usd": "passing a governance proposal alone",
        "panel_attack_usd": "capturing a dispute review panel",
        "relay_attack_usd": "holding half of relay selection",
    }

    def scenario_rows() -> list[list[str]]:
        rows = []
        for n, df in res.by_scenario.items():
            rows.append([n] + [usd(_final(df, c, yr)) for yr in (1.0, y) for c in ATTACKS])
        return rows

    vest_rows = []
    for name, amount, cliff, duration, alloc in zip(
        p.vesting_names,
        p.vesting_amounts,
        p.vesting_cliff_days,
        p.vesting_duration_days,
        params.genesis.vesting,
        strict=True,
    ):
        one = p.replace(
            vesting_names=(name,),
            vesting_amounts=(amount,),
            vesting_cliff_days=(cliff,),
            vesting_duration_days=(duration,),
        )
        unlocked = [float(schedules.vested(one, d)) / amount for d in (182, 365, 730, 1460)]
        vest_rows.append(
            [
                name,
                club(amount),
                pct(amount / p.cap),
                f"{cliff:g} d",
                f"{duration:g} d",
                "yes" if alloc.revocable else "no",
                *[pct(u, 0) for u in unlocked],
            ]
        )

    alloc_rows = [
        ["treasury (Timelock)", club(p.genesis_treasury), pct(p.genesis_treasury / p.cap), "at genesis"],
        ["liquidity (treasury)", club(p.genesis_liquidity), pct(p.genesis_liquidity / p.cap), "at genesis"],
        *[
            [n, club(a), pct(a / p.cap), "vesting, see below"]
            for n, a in zip(p.vesting_names, p.vesting_amounts, strict=True)
        ],
        ["emission reserve", club(p.reserve), pct(p.reserve / p.cap), "minted by Emission, epoch by epoch"],
        ["**cap**", f"**{club(p.cap)}**", "**100 %**", ""],
    ]

    assumption_rows = [
        [d["name"], f"`{getattr(p, d['name'])}`", d["unit"], d["doc"]]
        for d in describe()
        if d["source"] == "assumption"
    ]
    protocol_rows = [
        [d["name"], f"`{getattr(p, d['name'])}`", d["unit"], f"`{d['source']}`"]
        for d in describe()
        if d["source"] != "assumption"
    ]
    scen_rows = [
        [s.name, s.description, ", ".join(f"`{k}={v}`" for k, v in s.overrides.items()) or "-"]
        for s in scenarios.SCENARIOS.values()
    ]
    bear_relay_p5 = _final(res.by_scenario["bear"], "coverage_relay", y, 0.05)
    weights = ", ".join(f"{r.name} {pct(r.weight_bps / BPS, 0)}" for r in params.emission.receivers)
    kinds_min = [(k, p.node_fixed_usd_month[i], p.node_capacity_units_day[i]) for i, k in enumerate(KINDS)]
    stake_usd = p.min_self_stake * p.price0_usd
    s_lo, s_def = stake_med.iloc[0], stake_med.loc[p.min_self_stake]
    stake_gain = float(s_def["relay_attack_usd"] / s_lo["relay_attack_usd"])
    stake_turn_change = float(s_def["nodes_turn"] / s_lo["nodes_turn"] - 1.0)
    stake_plateau = float(stake_med["relay_attack_usd"].max())
    stake_plateau_share = float(s_def["relay_attack_usd"]) / stake_plateau
    stake_knee = float(stake_med.index[stake_med["relay_attack_usd"] >= 0.8 * stake_plateau][0])
    stake_months = ", ".join(
        f"{k} {stake_usd / c:.1f} months" for k, c in zip(KINDS, p.node_fixed_usd_month, strict=True)
    )
    liq = liquidity_premium(p)
    rate_rows = []
    for r in rate_med.index:
        q = p.replace(rate_per_epoch=float(r))
        rate_rows.append(
            [
                pct(float(r), 2),
                f"{emission_half_life_years(q):.1f} y",
                pct(1 - emitted_share(q, 10.0), 0),
                pct(float(rate_med.loc[r, "stake_ratio"]), 0),
                usd(float(rate_med.loc[r, "panel_attack_usd"])),
                f"{float(rate_p5.loc[r, 'coverage_turn']):.1f}x",
            ]
        )
    ok_rates = [
        float(r)
        for r in rate_med.index
        if 1 - emitted_share(p.replace(rate_per_epoch=float(r)), 10.0) >= RESERVE_LEFT_AFTER_10Y
    ]
    rate_choice = max(ok_rates) if ok_rates else float(min(rate_med.index))
    rate_verdict = (
        ", the default"
        if math.isclose(rate_choice, p.rate_per_epoch)
        else f" — not the default {pct(p.rate_per_epoch, 2)}: revisit the default or the criterion"
    )
    unb_default = float(unb.loc[p.unbonding_days])
    unb_max = float(unb.iloc[0])
    need_days = UNBONDING_DISPUTE_MULTIPLE * p.dispute_days
    unbond_verdict = (
        ", which the default meets"
        if p.unbonding_days >= need_days
        else " — the default is SHORTER than that: raise it"
    )

    return (
        f"""# CLUB — token and incentives of the Club Chat protocol

*Generated by `make whitepaper` (`python -m clubchat.sim.whitepaper`) from
`deployments/parameters.yaml` and the model in `clubchat/sim`. Every number and figure below is
computed, none is typed by hand; Monte Carlo results use seed {SEED}, {res.runs} runs for the
baseline and {res.sweep_runs} runs for the other scenarios and for every sweep, {y:g} simulated years
at daily steps. Change a parameter, run `make whitepaper`, and the document follows.*

## Headline numbers

- **Supply.** A hard cap of {club(p.cap)}; {club(p.genesis_total)} ({pct(p.genesis_total / p.cap, 0)})
  exist at genesis, {pct(p.vesting_total / p.genesis_total, 0)} of it locked in vesting; the
  {club(p.reserve)} emission reserve is released at {pct(p.rate_per_epoch, 2)} of the remainder per
  {p.epoch_days:g}-day epoch — {pct(emitted_share(p, 1.0), 1)} of it in the first year, half of it after
  {hl:.1f} years, {pct(emitted_share(p, 10.0), 0)} after ten years. First-year emission is
  {club(year1_emission)}, {pct(year1_emission / p.genesis_total, 1)} of the genesis supply.
- **Circulating supply** after {y:g} years (baseline, median and 5-95 %): {club(circ_bands["baseline"][1])}
  ({club(circ_bands["baseline"][0])} to {club(circ_bands["baseline"][2])}).
- **Staking** settles at a median {pct(med["stake_ratio"], 0)} of the circulating supply with a
  delegator yield of {pct(med["staking_yield"], 1)} per year after {y:g} years.
- **Capacity.** In the baseline the median network after {y:g} years has {num(med["nodes_relay"])} RELAY,
  {num(med["nodes_turn"])} TURN and {num(med["nodes_notify"])} NOTIFY nodes that cover
  {med["coverage_relay"]:.1f}x, {med["coverage_turn"]:.0f}x and {med["coverage_notify"]:.0f}x of the demand
  of {num(med["users"])} daily active users.
- **Attack costs** (baseline medians after one year / {y:g} years): passing a proposal alone
  {usd(med1["gov_attack_usd"])} / {usd(med["gov_attack_usd"])}; capturing a {p.panel_size}-reviewer
  panel with probability {pct(p.panel_capture_prob, 0)} {usd(med1["panel_attack_usd"])} /
  {usd(med["panel_attack_usd"])}; half of relay selection {usd(med1["relay_attack_usd"])} /
  {usd(med["relay_attack_usd"])}. The cheapest attack in the first year is {attack_names[cheapest]}.

## 1. The problem and the system

Club Chat is a messenger with audio and video calls and no company server. Users are identified by
their wallet address (`did:pkh`) and prove it with signatures. What a messenger still needs — a
relay for signaling and messages, TURN servers for calls that cannot connect directly, and a
mailbox with push delivery for offline users — is run by independent **node operators**, who
register their endpoints on chain, stake CLUB, earn rewards, and are slashed when they misbehave.
Clients discover nodes by reading the registry (a stake-weighted sample), never from a hard-coded
server list.

| node kind | what it does | demand unit in the model | capacity per node (assumed) | server cost (assumed) |
|---|---|---|---|---|
"""
        + "\n".join(
            f"| {k} | {desc} | {unit} | {num(capn)} per day | {usd(cost)} / month |"
            for (k, cost, capn), desc, unit in zip(
                kinds_min,
                (
                    "WebSocket signaling and message relay, hash-chained room logs",
                    "TURN relay and short-lived credentials for calls",
                    "offline mailbox, push delivery, opted-in ad notifications",
                ),
                ("daily active user", "relayed call-minute", "offline message"),
                strict=True,
            )
        )
        + f"""

The protocol is a set of Vyper contracts: `ClubToken` (ERC-20, EIP-2612, ERC-5805 votes, capped),
`Emission`, `Vesting`, `NodeRegistry` (stake, delegation, rewards, sampling, slashing), disputes,
premium tiers, the ad market, and `ClubGovernor` with a `Timelock` that holds every admin role.

## 2. What CLUB is for

1. **Staking for infrastructure.** Operators bond at least {club(p.min_self_stake)} per node kind
   they serve; holders delegate to operators. Stake weights discovery (clients sample nodes by
   stake), earns the node share of emission, and is what a misbehaving node loses.
2. **Premium.** Paid tiers are priced in USD and settled in CLUB; the model burns
   {pct(p.premium_burn_share, 0)} and pays the rest to the nodes that carry the traffic.
3. **Ad market.** Advertisers escrow CLUB for notification campaigns delivered by NOTIFY nodes to
   users who opted in; revenue is split users {pct(p.ads_split_users, 0)} / nodes
   {pct(p.ads_split_nodes, 0)} / communities {pct(p.ads_split_communities, 0)} / burn
   {pct(p.ads_split_burn, 0)} (assumed split; the ad-market contract lands in a later issue).
4. **Governance.** CLUB votes (delegated, ERC-5805) change every protocol parameter through the
   Timelock, approve client releases and move treasury funds.

## 3. Token distribution

### Allocation

![allocation](figures/allocation.png)

{table(["allocation", "amount", "share of cap", "release"], alloc_rows)}

### Vesting

Escrows vest linearly from genesis over their duration; nothing can be claimed before the cliff,
at which the share accrued since genesis unlocks at once. Escrowed tokens can vote (each escrow
delegates to its beneficiary).

{
            table(
                [
                    "allocation",
                    "amount",
                    "of cap",
                    "cliff",
                    "duration",
                    "revocable",
                    "6 mo",
                    "1 y",
                    "2 y",
                    "4 y",
                ],
                vest_rows,
            )
        }

![vesting](figures/vesting.png)

### Emission

The reserve of {club(p.reserve)} is released by `Emission`: each {p.epoch_days:g}-day epoch mints
{pct(p.rate_per_epoch, 2)} of what is still in the reserve, so after k epochs
E(k) = reserve x (1 - (1 - r)^k). The keeper who triggers an epoch earns {club(p.emission_tip)}
out of it; the rest goes {weights}. Emission is highest when the network is young and needs
operators most, and decays geometrically (half-life {hl:.1f} years).

**Why {pct(p.rate_per_epoch, 2)} per epoch.** The left panel shows how fast the reserve is released
at other rates; the sweep runs the baseline Monte Carlo ({res.sweep_runs} runs) at each rate. Faster
rates raise early yields and stake, slower ones keep more reserve for later operators. The design
criterion is to keep at least {pct(RESERVE_LEFT_AFTER_10Y, 0)} of the reserve for the years after
year ten; the fastest swept rate that does so is {pct(rate_choice, 2)}{rate_verdict}.

{
            table(
                [
                    "rate / epoch",
                    "half-life",
                    "reserve left after 10 y",
                    f"stake / circ. {y:g} y",
                    f"panel capture cost {y:g} y",
                    f"TURN capacity / demand {y:g} y (5 %)",
                ],
                rate_rows,
            )
        }

![emission](figures/emission.png)

![emission-rate sweep](figures/sweep-emission-rate.png)

### Circulating supply

Circulating = total supply - still-vesting - treasury. Total supply = genesis + emission - burns
(premium, ad market, slashing). The treasury receives its emission share and spends
{pct(p.treasury_spend_rate, 0)} of its balance a year (assumption); liquidity is counted as circulating.
Bands: 5-95 % (light) and 25-75 % (dark) of the Monte Carlo runs.

{
            table(
                ["scenario", "5 %", "median", "95 %"],
                [[n, club(a), club(b), club(c)] for n, (a, b, c) in circ_bands.items()],
            )
        }

*Circulating supply after {y:g} years.*

![circulating](figures/circulating.png)

## 4. Node economics and capacity

Each kind of node pays its server ({", ".join(f"{k} {usd(c)}/month" for k, c, _ in kinds_min)}), a
variable cost per unit served, and the opportunity cost of its self-stake at the outside yield of
{pct(p.outside_yield, 0)}. It earns its share of the node emission (pro rata to stake, as in
`NodeRegistry`), its commission of {pct(p.commission, 0)} on delegators' rewards, and fees for work
(premium's node share to RELAY and TURN by the cost of what they serve; the ad market's node share
to NOTIFY). The number of nodes of each kind grows while operators make money and shrinks while
they lose it (at most {pct(p.node_entry_speed, 0)} a day), never below the {p.nodes_min[0]:g} nodes
per kind that the community runs anyway. Demand follows the user path (logistic towards
{num(p.users_cap)} daily active users): {p.calls_per_user_day:g} calls per user and day,
{p.minutes_per_call:g} minutes each, {pct(p.turn_share, 0)} of minutes through TURN,
{p.offline_msgs_per_user_day:g} offline messages per user and day.

![nodes](figures/nodes.png)

**Why {club(p.min_self_stake)} minimum self-stake per kind.** The minimum is what a Sybil operator
pays per node and what a faulty node can lose. Sweeping it (baseline, median after one year): from
{club(float(stake_med.index[0]))} to the default the cost of half of relay selection grows
{stake_gain:.1f}x, reaching {pct(stake_plateau_share, 0)} of the highest cost in the sweep
({usd(stake_plateau)}; 80 % of it is first reached at {club(stake_knee)}), while the number of TURN
nodes changes by {pct(stake_turn_change, 0)}. The model has no capital constraint on operators, so it
shows only the security side; the accessibility side is the self-stake's value in months of server
cost at the genesis price ({usd(stake_usd)} per kind): {stake_months}. Whether to raise the minimum
towards {club(stake_knee)} is an open question (section 8).

{
            table(
                ["min self-stake", "TURN nodes", "RELAY capacity / demand", "cost of 50 % relay selection"],
                [
                    [
                        club(float(s)),
                        num(float(r["nodes_turn"])),
                        f"{float(r['coverage_relay']):.1f}x",
                        usd(float(r["relay_attack_usd"])),
                    ]
                    for s, r in stake_med.iterrows()
                ],
            )
        }

![min-stake sweep](figures/sweep-min-stake.png)

## 5. Staking and slashing

Holders stake or delegate when the delegator yield beats their outside yield
({pct(p.outside_yield, 0)}) plus a liquidity premium that grows with the unbonding period
({pct(liq, 1)} a year at {reg.unbonding_seconds // DAY} days). Delegations are capped at
{reg.saturation_multiple}x the operator's self-stake, which bounds total stake by the node count.
Stake leaving waits {reg.unbonding_seconds // DAY} days in an unbonding queue and stays slashable
meanwhile; the model slashes {pct(p.slash_rate, 1)} of stake a year and burns
{pct(p.slash_burn_share, 0)} of it.

![staking](figures/staking.png)

**Why {reg.unbonding_seconds // DAY} days of unbonding.** Unbonding must outlast the time it takes
to notice a fault, probe the node and decide a dispute (assumed {p.dispute_days:g} days), otherwise a
node can withdraw before it is slashed; the criterion is {UNBONDING_DISPUTE_MULTIPLE}x that window
({UNBONDING_DISPUTE_MULTIPLE * p.dispute_days:g} days){unbond_verdict}. Each extra day costs stakers
liquidity: the median stake ratio after {y:g} years falls from {pct(unb_max, 0)} at
{int(unb.index[0])} day(s) to {pct(unb_default, 0)} at {p.unbonding_days} days.

![unbonding sweep](figures/sweep-unbonding.png)

**Why a saturation multiple of {reg.saturation_multiple}.** Delegations to a node are capped at
{reg.saturation_multiple}x its self-stake, so total stake is bounded by the node count: a low multiple
spreads stake (and discovery weight) over more operators, a high one lets stake follow delegators'
wishes and concentrate. After {y:g} years the cap no longer holds stake back from {sat_free_min:g}x up
(stake ratio within 5 % of the highest in the sweep); in the first year {sat_first_year}.
Baseline medians ({res.sweep_runs} runs):

{
            table(
                [
                    "multiple",
                    "stake / circ. 1 y",
                    f"stake / circ. {y:g} y",
                    "RELAY nodes 1 y",
                    f"RELAY nodes {y:g} y",
                ],
                sat_rows,
            )
        }

![saturation sweep](figures/sweep-saturation.png)

## 6. Governance

CLUB holders delegate votes; a proposal needs {pct(gov.proposal_threshold_bps / BPS, 2)} of the
supply to be made, waits {days_text(gov.voting_delay_seconds)}, is voted for
{days_text(gov.voting_period_seconds)} (extended by {days_text(gov.late_quorum_extension_seconds)}
if quorum is reached late), passes with a majority and a quorum of
{pct(gov.quorum_numerator / gov.quorum_denominator, 0)} of the past total supply, and executes
through the Timelock after {days_text(gov.timelock_delay_seconds)} (and within
{days_text(gov.grace_period_seconds)}).

**Why a {pct(p.quorum_fraction, 0)} quorum.** A lone attacker must bring the quorum and outvote the
holders who turn out against (assumed {pct(p.against_turnout, 0)} of the circulating supply). Higher
quorums make this dearer but ask ordinary proposals for more turnout than holders usually give
(assumed {pct(p.typical_turnout, 0)} of the votable supply = circulating + vesting escrows). The
criterion is the highest quorum whose turnout need stays below that typical turnout on the median
path: {pct(q_choice, 0)}{q_verdict}. At {pct(p.quorum_fraction, 0)} the median cost to pass a proposal
alone after {y:g} years is {usd(float(q_default["cost_usd_end"]))} and an ordinary proposal needs at
most {pct(float(q_default["max_need"]), 1)} turnout. Below {pct(q_floor, 0)} the quorum stops binding:
the attacker is held back by the opposing turnout alone.

{
            table(
                ["quorum", f"cost to pass alone after {y:g} y (median path)", "highest turnout needed"],
                [
                    [pct(float(r.quorum), 0), usd(float(r.cost_usd_end)), pct(float(r.max_need), 1)]
                    for r in quorum_rows.itertuples()
                ],
            )
        }

![quorum](figures/quorum.png)

## 7. Attack-cost analysis

**Review panels.** Disputes are decided by k reviewers drawn by stake. An attacker with stake share
f holds a majority of a panel with probability P[Bin(k, f) > k/2] (drawing with replacement; the
registry draws nodes without replacement, which the binomial approximates when the attacker
splits stake over many nodes and which is slightly harder for an attacker with few nodes). For
k = {p.panel_size} and a target probability of {pct(p.panel_capture_prob, 0)} the attacker needs
{pct(share_k, 1)} of all stake, i.e. must add {security.buy_in_multiple(share_k):.2f}x the honest
stake.

![panel](figures/panel.png)

**Relay selection.** Clients pick relays by stake; half of the selection weight costs as much
CLUB as all honest relay stake. **Governance.** See section 6.

Attack costs per scenario (median, USD):

{
            table(
                [
                    "scenario",
                    "proposal 1 y",
                    "panel 1 y",
                    "relay 1 y",
                    f"proposal {y:g} y",
                    f"panel {y:g} y",
                    f"relay {y:g} y",
                ],
                scenario_rows(),
            )
        }

![attacks](figures/attacks.png)

**Sybil ad farming.** A fake account that views every paid ad it is allowed earns the user share
({pct(p.ads_split_users, 0)}) of the CPM (${p.ads_cpm_usd:g} per 1,000) on at most the per-user cap
({p.ads_cap_per_user_day:g} ads a day) and costs {usd(p.sybil_account_usd_month)} a month to keep
alive: {usd(sybil_now)} a month per account at the assumed values. It breaks even at a cap of
{breakeven_cap:.1f} ads a day; caps below that make farming unprofitable at this CPM.

![sybil](figures/sybil.png)

## 8. Risks and open questions

- **Price.** Rewards are paid in CLUB and costs in USD. In the bear scenario the 5th percentile of
  RELAY capacity / demand after {y:g} years is {bear_relay_p5:.2f}x
  (below 1 means users are turned away); the community-run floor of nodes and fees for work are
  what keeps the service up when the price falls.
- **Uniform rewards across kinds.** The registry pays by stake, not by kind, while the kinds' costs
  differ; without fees for work the cheapest kind crowds out the others. Whether rewards should be
  weighted by kind is open.
- **Minimum self-stake.** The model's security metrics keep improving up to a minimum of about
  {club(stake_knee)} per kind, and it cannot see the capital barrier a higher minimum puts on small
  operators; the default of {club(p.min_self_stake)} is a judgement between the two that needs data on
  operators' capital.
- **Cheap governance early.** While most supply is locked or held by the treasury, few CLUB
  circulate and passing a proposal alone is cheapest; the Timelock delay and the guardian of
  `ClubGovernor` are the safety net. Vesting escrows vote, so beneficiaries' turnout matters.
- **Assumptions.** Every behavioural number below (costs, capacity, uptake, CPM, turnout, outside
  yield) is an assumption to be replaced by measurements; the Monte Carlo bands show price and user
  noise only, not uncertainty in these values — sweep them (`club sim run baseline --sweep ...`).
- **Model simplifications.** Equal stake per node; no MEV or lending market for CLUB; burns limited by
  market depth ({pct(p.market_depth, 1)} of the liquid float per day); slashing is a constant rate.

## Appendix A. Protocol parameters

{parameters_table(params)}

## Appendix B. Model parameters read from the parameters file

{table(["name", "value", "unit", "source"], protocol_rows)}

## Appendix C. Assumptions (baseline values)

{table(["name", "value", "unit", "meaning"], assumption_rows)}

## Appendix D. Scenarios

{table(["scenario", "description", "overrides"], scen_rows)}

## Appendix E. Reproduce

```
make whitepaper                      # this document, its figures and the HTML
club sim list --params               # every parameter and assumption
club sim run baseline --runs 1000    # the baseline Monte Carlo, tables and figures
club sim run baseline --sweep rate_per_epoch=0.001,0.0025 --sweep unbonding_days=7,14
club sim loop baseline --epochs 26   # replay on the real contracts and compare (Appendix F)
python bench/bench_sim_speed.py      # vectorised engine vs radCAD on the same model
```

Monte Carlo runs of one parameter set are vectorised with numpy; large sweeps distribute subsets
over processes (or radCAD's multiprocessing / Ray backends, see `clubchat/sim/radcad_model.py`).
"""
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--sweep-runs", type=int, default=300)
    ap.add_argument("--years", type=float, default=5.0)
    args = ap.parse_args(argv)
    path = build(args.out, runs=args.runs, sweep_runs=args.sweep_runs, years=args.years)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
