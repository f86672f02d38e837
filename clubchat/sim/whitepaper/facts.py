"""The whitepaper's facts: every number and table of the document, computed from the model runs.

`compute(res, quorum_rows, validation_appendix)` returns a `Facts`, one text field per placeholder of
`template.md` (`${name}`); the prose lives in the template and holds no computation. Sections that
need their own runs or tables compute their fields in `clubchat.sim.whitepaper.sections`
(`validation.validation_appendix` replays the baseline on the real contracts and fills
`validation.md`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from clubchat.params import BPS, DAY
from clubchat.sim import api, scenarios, schedules, security
from clubchat.sim.parameters import KINDS, describe
from clubchat.sim.population import delegator_hurdle, liquidity_premium
from clubchat.sim.whitepaper.params_table import parameters_table
from clubchat.sim.whitepaper.runs import (
    SEED,
    Results,
    at_year,
    emission_half_life_years,
    emitted_share,
    final,
)
from clubchat.sim.whitepaper.sections.changes import ATTACKS, changes_facts
from clubchat.sim.whitepaper.sections.governance import borrowed_votes_facts
from clubchat.sim.whitepaper.sections.kinds import kinds_facts
from clubchat.sim.whitepaper.sections.payments import payments_facts
from clubchat.sim.whitepaper.sections.policing import policing_facts
from clubchat.sim.whitepaper.sections.sybil import sybil_facts
from clubchat.sim.whitepaper.text import club, days_text, num, pct, table, template, usd

# Design criteria the defaults are checked against (stated in the text next to each figure).
RESERVE_LEFT_AFTER_10Y = 0.25  # keep at least this share of the emission reserve for year ten onwards
UNBONDING_DISPUTE_MULTIPLE = 2  # unbonding covers the dispute window this many times


@dataclass(frozen=True)
class Facts:
    """Every placeholder of template.md, as the text that replaces it."""

    seed: str
    runs: str
    sweep_runs: str
    years: str
    cap: str
    genesis_total: str
    genesis_share_of_cap: str
    vesting_share_of_genesis: str
    reserve: str
    rate_per_epoch: str
    epoch_days: str
    reserve_released_year1: str
    emission_half_life_years: str
    circulating_median: str
    circulating_p5: str
    circulating_p95: str
    stake_ratio: str
    staking_yield: str
    nodes_relay: str
    nodes_turn: str
    nodes_notify: str
    coverage_relay: str
    coverage_turn: str
    coverage_notify: str
    users: str
    gov_attack_year1: str
    gov_attack: str
    panel_size: str
    panel_capture_prob: str
    panel_attack_year1: str
    panel_attack: str
    relay_attack_year1: str
    relay_attack: str
    cheapest_attack_year1: str
    node_kinds_rows: str
    min_self_stake: str
    premium_burn_share: str
    ads_split_users: str
    ads_split_nodes: str
    ads_split_communities: str
    ads_split_burn: str
    allocation_table: str
    vesting_table: str
    emission_tip: str
    emission_weights: str
    reserve_left_criterion: str
    rate_choice: str
    rate_verdict: str
    rate_table: str
    treasury_spend_rate: str
    circulating_table: str
    server_costs: str
    outside_yield: str
    commission: str
    node_entry_speed: str
    nodes_min: str
    users_cap: str
    calls_per_user_day: str
    minutes_per_call: str
    turn_share: str
    offline_msgs_per_user_day: str
    stake_sweep_lowest: str
    stake_gain: str
    stake_plateau_share: str
    stake_plateau: str
    stake_knee: str
    stake_knee_verdict: str
    stake_knee_risk: str
    stake_turn_change: str
    stake_usd: str
    stake_months: str
    min_stake_table: str
    liquidity_premium: str
    delegator_hurdle: str
    delegator_hurdle_spread: str
    stake_ratio_max: str
    operator_cost_sigma: str
    operator_capital_sigma: str
    unbonding_days: str
    saturation_multiple: str
    slash_rate: str
    slash_burn_share: str
    dispute_days: str
    unbonding_dispute_multiple: str
    unbonding_needed_days: str
    unbond_verdict: str
    unbonding_stake_ratio_shortest: str
    unbonding_shortest_days: str
    unbonding_stake_ratio_default: str
    unbonding_days_model: str
    saturation_free_from: str
    saturation_first_year: str
    saturation_table: str
    proposal_threshold: str
    voting_delay: str
    voting_period: str
    late_quorum_extension: str
    quorum_deployed: str
    timelock_delay: str
    grace_period: str
    quorum: str
    against_turnout: str
    typical_turnout: str
    quorum_choice: str
    quorum_verdict: str
    quorum_attack_cost: str
    quorum_turnout_needed: str
    quorum_floor: str
    quorum_table: str
    attack_table: str
    ads_cpm_usd: str
    ads_cap_per_user_day: str
    sybil_account_cost: str
    sybil_profit: str
    sybil_breakeven_cap: str
    sybil_gate_table: str
    sybil_price: str
    sybil_revenue: str
    sybil_free_breakeven: str
    sybil_lock_cost: str
    sybil_sub_cost: str
    sybil_stake_cost: str
    sybil_honest_gate_cost: str
    sybil_colluding_gate_cost: str
    bear_relay_coverage_p5: str
    market_depth: str
    parameters_table: str
    protocol_parameters_table: str
    assumptions_table: str
    scenarios_table: str
    validation_appendix: str
    bootstrap_multiple: str
    bootstrap_epochs: str
    bootstrap_years: str
    bootstrap_table: str
    genesis_yield: str
    genesis_yield_unguarded: str
    changes_table: str
    coverage_relay_p5: str
    coverage_turn_p5: str
    coverage_notify_p5: str
    gov_attack_p5: str
    panel_attack_p5: str
    relay_attack_p5: str
    targeted_attack_year1: str
    targeted_attack: str
    escrow_votes: str
    team_escrow_quorum_multiple: str
    eclipse_harm: str
    rendezvous_relays: str
    eclipse_share: str
    targeted_share: str
    attack_days: str
    attack_detect_prob: str
    attack_slash_share: str
    attack_price_drop: str
    sensitivity_table: str
    sensitivity_runs: str
    sensitivity_trajectories: str
    kinds_choice: str
    kinds_choice_worst: str
    kinds_choice_vs_deployed: str
    kinds_split_deployed: str
    kinds_select_runs: str
    kinds_compare_runs: str
    kinds_table: str
    kinds_grid_table: str
    kinds_multipliers: str
    kinds_routing: str
    kinds_relay_deployed: str
    kinds_relay_one_stream: str
    kinds_served_deployed: str
    kinds_served_one_stream: str
    kinds_contract_change: str
    kinds_relay_single: str
    kinds_relay_one_stream_single: str
    kinds_multi_deployed: str
    kinds_multi_one_stream: str
    kinds_panel_deployed: str
    kinds_panel_single: str
    kinds_eclipse_deployed: str
    kinds_eclipse_single: str
    extra_kind_cost_share: str
    kind_switch_speed: str
    operator_wealth_usd: str
    operator_wealth_sigma: str
    operator_capital_eligible: str
    nakamoto_relay: str
    nakamoto_all: str
    stake_rank_exponent: str
    policing_table: str
    policing_reviewer_cap: str
    policing_seats: str
    policing_exact_prob: str
    policing_binomial_relay: str
    policing_flag_bond: str
    policing_flag_bond_usd: str
    policing_frozen_hours: str
    policing_busy_hours: str
    policing_block_flags: str
    policing_block_club: str
    policing_block_usd: str
    policing_kick: str
    policing_flagger_share: str
    policing_fork_cut: str
    policing_reporter_share: str
    policing_relay_pool: str
    policing_fork_loss: str
    policing_fork_loss_usd: str
    policing_fork_cut_club: str
    policing_fork_delegators: str
    policing_jail: str
    policing_jail_max: str
    borrow_apr: str
    lendable_share: str
    snapshot_hold_hours: str
    snapshot_votes_year1: str
    snapshot_votes: str
    snapshot_lendable: str
    snapshot_cost_year1: str
    snapshot_cost: str
    snapshot_share_of_held: str
    snapshot_borrow_only: str
    premium_tiers: str
    premium_period_days: str
    premium_tier_mix: str
    premium_avg_club: str
    premium_usd_month: str
    premium_uptake: str
    premium_wtp_sigma: str
    premium_cost_genesis: str
    premium_uptake_genesis: str
    premium_subscribers_year1: str
    premium_subscribers: str
    premium_burned: str
    creation_fee: str
    communities_per_user: str
    community_turnover: str
    communities_year1: str
    communities: str
    communities_created: str
    creation_burned: str

    def render(self) -> str:
        """The whitepaper's Markdown: template.md with every placeholder filled (a missing one raises)."""
        return template("template.md").substitute({f.name: getattr(self, f.name) for f in fields(self)})


def compute(res: Results, quorum_rows: pd.DataFrame, validation_appendix: str) -> Facts:
    """The facts of the document from the model runs (`quorum_rows`: `runs.quorum_curves(res)[1]`)."""
    p, params, base = res.p, res.params, res.by_scenario["baseline"]
    rate_sweep, stake_sweep, unbond_sweep, sat_sweep = (
        res.rate_sweep,
        res.stake_sweep,
        res.unbond_sweep,
        res.sat_sweep,
    )
    y = res.years
    reg, gov = params.registry, params.governance
    hl = emission_half_life_years(p)
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
    med = {c: final(base, c, y) for c in api.SUMMARY_METRICS}
    med1 = {c: final(base, c, 1.0) for c in api.SUMMARY_METRICS}
    circ_bands = {
        n: (
            final(df, "circulating", y, 0.05),
            final(df, "circulating", y, 0.5),
            final(df, "circulating", y, 0.95),
        )
        for n, df in res.by_scenario.items()
    }
    rate_at = at_year(rate_sweep, y).groupby("rate_per_epoch")[
        ["stake_ratio", "panel_attack_usd", "coverage_turn"]
    ]
    rate_med = rate_at.median()
    rate_p5 = rate_at.quantile(0.05)
    stake_at = at_year(stake_sweep, 1.0).groupby("min_self_stake")[
        ["nodes_turn", "coverage_relay", "relay_attack_usd"]
    ]
    stake_med = stake_at.median()
    unb = at_year(unbond_sweep, y).groupby("unbonding_days")["stake_ratio"].median()
    sat_cols = ["stake_ratio", "nodes_relay"]
    sat1 = at_year(sat_sweep, 1.0).groupby("saturation_multiple")[sat_cols].median()
    sat_y = at_year(sat_sweep, y).groupby("saturation_multiple")[sat_cols].median()
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
        "relay_attack_usd": "eclipsing a share of all users through relay selection",
    }

    def scenario_rows() -> list[list[str]]:
        rows = []
        for n, df in res.by_scenario.items():
            rows.append([n] + [usd(final(df, c, yr)) for yr in (1.0, y) for c in ATTACKS])
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
        [
            "unminted under the cap",
            club(p.reserve),
            pct(p.reserve / p.cap),
            "Emission mints r of the gap per epoch",
        ],
        ["**cap**", f"**{club(p.cap)}**", "**100 %**", ""],
    ]

    assumption_rows = [
        [d["name"], f"`{getattr(p, d['name'])}`", d["unit"], d["doc"], d["why"]]
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
    bear_relay_p5 = final(res.by_scenario["bear"], "coverage_relay", y, 0.05)
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

    return Facts(
        seed=str(SEED),
        runs=str(res.runs),
        sweep_runs=str(res.sweep_runs),
        years=format(y, "g"),
        cap=club(p.cap),
        genesis_total=club(p.genesis_total),
        genesis_share_of_cap=pct(p.genesis_total / p.cap, 0),
        vesting_share_of_genesis=pct(p.vesting_total / p.genesis_total, 0),
        reserve=club(p.reserve),
        rate_per_epoch=pct(p.rate_per_epoch, 2),
        epoch_days=format(p.epoch_days, "g"),
        reserve_released_year1=pct(emitted_share(p, 1.0), 1),
        emission_half_life_years=format(hl, ".1f"),
        circulating_median=club(circ_bands["baseline"][1]),
        circulating_p5=club(circ_bands["baseline"][0]),
        circulating_p95=club(circ_bands["baseline"][2]),
        stake_ratio=pct(med["stake_ratio"], 0),
        staking_yield=pct(med["staking_yield"], 1),
        nodes_relay=num(med["nodes_relay"]),
        nodes_turn=num(med["nodes_turn"]),
        nodes_notify=num(med["nodes_notify"]),
        coverage_relay=format(med["coverage_relay"], ".1f"),
        coverage_turn=format(med["coverage_turn"], ".0f"),
        coverage_notify=format(med["coverage_notify"], ".0f"),
        users=num(med["users"]),
        gov_attack_year1=usd(med1["gov_attack_usd"]),
        gov_attack=usd(med["gov_attack_usd"]),
        panel_size=str(p.panel_size),
        panel_capture_prob=pct(p.panel_capture_prob, 0),
        panel_attack_year1=usd(med1["panel_attack_usd"]),
        panel_attack=usd(med["panel_attack_usd"]),
        relay_attack_year1=usd(med1["relay_attack_usd"]),
        relay_attack=usd(med["relay_attack_usd"]),
        cheapest_attack_year1=attack_names[cheapest],
        node_kinds_rows="\n".join(
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
        ),
        min_self_stake=club(p.min_self_stake),
        premium_burn_share=pct(p.premium_burn_share, 0),
        ads_split_users=pct(p.ads_split_users, 0),
        ads_split_nodes=pct(p.ads_split_nodes, 0),
        ads_split_communities=pct(p.ads_split_communities, 0),
        ads_split_burn=pct(p.ads_split_burn, 0),
        allocation_table=table(["allocation", "amount", "share of cap", "release"], alloc_rows),
        vesting_table=table(
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
        ),
        emission_tip=club(p.emission_tip),
        emission_weights=weights,
        reserve_left_criterion=pct(RESERVE_LEFT_AFTER_10Y, 0),
        rate_choice=pct(rate_choice, 2),
        rate_verdict=rate_verdict,
        rate_table=table(
            [
                "rate / epoch",
                "half-life",
                "gap left after 10 y without burns",
                f"stake / circ. {y:g} y",
                f"panel capture cost {y:g} y",
                f"TURN capacity / demand {y:g} y (5 %)",
            ],
            rate_rows,
        ),
        treasury_spend_rate=pct(p.treasury_spend_rate, 0),
        circulating_table=table(
            ["scenario", "5 %", "median", "95 %"],
            [[n, club(a), club(b), club(c)] for n, (a, b, c) in circ_bands.items()],
        ),
        server_costs=", ".join(f"{k} {usd(c)}/month" for k, c, _ in kinds_min),
        outside_yield=pct(p.outside_yield, 0),
        commission=pct(p.commission, 0),
        node_entry_speed=pct(p.node_entry_speed, 0),
        nodes_min=format(p.nodes_min[0], "g"),
        users_cap=num(p.users_cap),
        calls_per_user_day=format(p.calls_per_user_day, "g"),
        minutes_per_call=format(p.minutes_per_call, "g"),
        turn_share=pct(p.turn_share, 0),
        offline_msgs_per_user_day=format(p.offline_msgs_per_user_day, "g"),
        stake_sweep_lowest=club(float(stake_med.index[0])),
        stake_gain=format(stake_gain, ".1f"),
        stake_plateau_share=pct(stake_plateau_share, 0),
        stake_plateau=usd(stake_plateau),
        stake_knee=club(stake_knee),
        stake_knee_verdict=(
            f"Whether to raise the minimum towards {club(stake_knee)} is an open question (section 8)."
            if stake_knee > p.min_self_stake
            else "A higher minimum buys little security here: with RELAY at the community-run floor the "
            "relay attack cost hardly depends on it (section 8)."
        ),
        stake_knee_risk=(
            f"The model's security metrics keep improving up to a minimum of about {club(stake_knee)}"
            if stake_knee > p.min_self_stake
            else f"The model's security metrics stop improving below the default of {club(p.min_self_stake)}"
        ),
        stake_turn_change=pct(stake_turn_change, 0),
        stake_usd=usd(stake_usd),
        stake_months=stake_months,
        min_stake_table=table(
            ["min self-stake", "TURN nodes", "RELAY capacity / demand", "relay attack (eclipse users)"],
            [
                [
                    club(float(s)),
                    num(float(r["nodes_turn"])),
                    f"{float(r['coverage_relay']):.1f}x",
                    usd(float(r["relay_attack_usd"])),
                ]
                for s, r in stake_med.iterrows()
            ],
        ),
        liquidity_premium=pct(liq, 1),
        delegator_hurdle=pct(delegator_hurdle(p), 1),
        delegator_hurdle_spread=pct(p.delegator_hurdle_spread, 0),
        stake_ratio_max=pct(p.stake_ratio_max, 0),
        operator_cost_sigma=format(p.operator_cost_sigma, "g"),
        operator_capital_sigma=format(p.operator_capital_sigma, "g"),
        unbonding_days=str(reg.unbonding_seconds // DAY),
        saturation_multiple=str(reg.saturation_multiple),
        slash_rate=pct(p.slash_rate, 1),
        slash_burn_share=pct(p.slash_burn_share, 0),
        dispute_days=format(p.dispute_days, "g"),
        unbonding_dispute_multiple=str(UNBONDING_DISPUTE_MULTIPLE),
        unbonding_needed_days=format(UNBONDING_DISPUTE_MULTIPLE * p.dispute_days, "g"),
        unbond_verdict=unbond_verdict,
        unbonding_stake_ratio_shortest=pct(unb_max, 0),
        unbonding_shortest_days=str(int(unb.index[0])),
        unbonding_stake_ratio_default=pct(unb_default, 0),
        unbonding_days_model=str(p.unbonding_days),
        saturation_free_from=format(sat_free_min, "g"),
        saturation_first_year=sat_first_year,
        saturation_table=table(
            [
                "multiple",
                "stake / circ. 1 y",
                f"stake / circ. {y:g} y",
                "RELAY nodes 1 y",
                f"RELAY nodes {y:g} y",
            ],
            sat_rows,
        ),
        proposal_threshold=pct(gov.proposal_threshold_bps / BPS, 2),
        voting_delay=days_text(gov.voting_delay_seconds),
        voting_period=days_text(gov.voting_period_seconds),
        late_quorum_extension=days_text(gov.late_quorum_extension_seconds),
        quorum_deployed=pct(gov.quorum_numerator / gov.quorum_denominator, 0),
        timelock_delay=days_text(gov.timelock_delay_seconds),
        grace_period=days_text(gov.grace_period_seconds),
        quorum=pct(p.quorum_fraction, 0),
        against_turnout=pct(p.against_turnout, 0),
        typical_turnout=pct(p.typical_turnout, 0),
        quorum_choice=pct(q_choice, 0),
        quorum_verdict=q_verdict,
        quorum_attack_cost=usd(float(q_default["cost_usd_end"])),
        quorum_turnout_needed=pct(float(q_default["max_need"]), 1),
        quorum_floor=pct(q_floor, 0),
        quorum_table=table(
            ["quorum", f"cost to pass alone after {y:g} y (median path)", "highest turnout needed"],
            [
                [pct(float(r.quorum), 0), usd(float(r.cost_usd_end)), pct(float(r.max_need), 1)]
                for r in quorum_rows.itertuples()
            ],
        ),
        attack_table=table(
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
        ),
        ads_cpm_usd=format(p.ads_cpm_usd, "g"),
        ads_cap_per_user_day=format(p.ads_cap_per_user_day, "g"),
        sybil_account_cost=usd(p.sybil_account_usd_month),
        sybil_profit=usd(sybil_now),
        sybil_breakeven_cap=format(breakeven_cap, ".1f"),
        bear_relay_coverage_p5=format(bear_relay_p5, ".2f"),
        market_depth=pct(p.market_depth, 1),
        parameters_table=parameters_table(params),
        protocol_parameters_table=table(["name", "value", "unit", "source"], protocol_rows),
        assumptions_table=table(["name", "value", "unit", "meaning", "source or reason"], assumption_rows),
        scenarios_table=table(["scenario", "description", "overrides"], scen_rows),
        validation_appendix=validation_appendix,
        **changes_facts(res),
        **kinds_facts(res),
        **policing_facts(res),
        **sybil_facts(res),
        **borrowed_votes_facts(res),
        **payments_facts(res),
    )
