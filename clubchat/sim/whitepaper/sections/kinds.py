"""Node rewards per kind: the measured comparison of registry designs, the chosen split and the Nakamoto
coefficients."""

from __future__ import annotations

from typing import Any

from clubchat.sim.whitepaper.runs import Results, final
from clubchat.sim.whitepaper.text import num, pct, table, usd

KINDS_SELECT_RUNS = 100
KINDS_GRID_ROWS = 6
KINDS_CONTRACT_CHANGE = (
    "`NodeRegistry` keeps one reward accumulator per kind instead of one: `finalize_epoch` splits "
    "what it streams by a Timelock-set `kind_reward_bps[3]` (summing to 10,000); a node's reward "
    "weight in each kind it declares is its weight divided by its number of declared kinds (so "
    "declaring kinds does not multiply its rewards; sampling keeps the full weight in each kind's "
    "sum tree); each kind's stream is paid pro rata to those reward weights, and a node's "
    "checkpoint credits each declared kind's accumulator"
)


def _split_text(split: tuple[float, ...]) -> str:
    return " / ".join(pct(x, 0) for x in split)


def kinds_facts(res: Results) -> dict[str, str]:
    """Which registry design keeps every kind served: the grid choice and every design compared."""
    from clubchat.sim import kinds

    years = max(1, round(res.years))
    select_runs = min(KINDS_SELECT_RUNS, res.sweep_runs)
    choice = kinds.select_split(runs=select_runs, years=years)
    outcomes = kinds.compare(choice.split, runs=res.sweep_runs, years=years)
    by = {(o.design, o.scenario): o for o in outcomes}
    ranked = sorted(
        choice.scores, key=lambda w: (choice.worst(w).served, choice.worst(w).users_p50), reverse=True
    )
    grid_rows = [
        [
            f"**{_split_text(w)}** (chosen)" if w == choice.split else _split_text(w),
            *(pct(choice.scores[w][sc].served, 0) for sc in kinds.ENVIRONMENTS),
            choice.worst(w).scenario,
        ]
        for w in ranked[:KINDS_GRID_ROWS]
    ]
    worst = choice.worst(choice.split)
    base = res.by_scenario["baseline"]
    return {
        "kinds_choice": _split_text(choice.split),
        "kinds_choice_worst": f"{pct(worst.served, 0)} of run-days in the {worst.scenario} scenario",
        "kinds_select_runs": num(select_runs),
        "kinds_compare_runs": num(res.sweep_runs),
        "kinds_table": table(
            list(kinds.table(outcomes)[0]), [list(r.values()) for r in kinds.table(outcomes)]
        ),
        "kinds_grid_table": table(
            ["split RELAY / TURN / NOTIFY", *(f"days served, {sc}" for sc in kinds.ENVIRONMENTS), "worst"],
            grid_rows,
        ),
        "kinds_multipliers": " / ".join(f"{x:g}" for x in kinds.MULTIPLIERS),
        "kinds_routing": _split_text(kinds.PREMIUM_ROUTING),
        "kinds_relay_deployed": num(by[("deployed", "baseline")].nodes_p50[0]),
        "kinds_relay_chosen": num(by[("per-kind streams", "baseline")].nodes_p50[0]),
        "kinds_served_deployed": pct(by[("deployed", "baseline")].served, 0),
        "kinds_served_chosen": pct(by[("per-kind streams", "baseline")].served, 0),
        "kinds_contract_change": KINDS_CONTRACT_CHANGE,
        **multi_kind_facts(res, by),
        "nakamoto_relay": num(final(base, "nakamoto_relay", res.years)),
        "nakamoto_all": num(final(base, "nakamoto", res.years)),
        "stake_rank_exponent": f"{res.p.stake_rank_exponent:g}",
    }


def multi_kind_facts(res: Results, by: dict[tuple[str, str], Any]) -> dict[str, str]:
    """Operators serving several kinds against the single-kind model, and capital as entry condition."""
    from clubchat.sim import kindsets

    chosen, single = (
        by[("per-kind streams", "baseline")],
        by[("per-kind streams, one kind per node", "baseline")],
    )
    p = res.p
    return {
        "kinds_relay_single": num(single.nodes_p50[0]),
        "kinds_relay_deployed_single": num(by[("deployed, one kind per node", "baseline")].nodes_p50[0]),
        "kinds_multi_chosen": num(chosen.multi_p50),
        "kinds_multi_deployed": num(by[("deployed", "baseline")].multi_p50),
        "kinds_panel_chosen": usd(chosen.panel_attack_p50),
        "kinds_panel_single": usd(single.panel_attack_p50),
        "kinds_eclipse_chosen": usd(chosen.relay_attack_p50),
        "kinds_eclipse_single": usd(single.relay_attack_p50),
        "extra_kind_cost_share": pct(p.extra_kind_cost_share, 0),
        "kind_switch_speed": pct(p.kind_switch_speed, 0),
        "operator_wealth_usd": usd(p.operator_wealth_usd),
        "operator_wealth_sigma": format(p.operator_wealth_sigma, "g"),
        "operator_capital_eligible": pct(float(kindsets.capital_eligible(p, p.price0_usd)[0]), 0),
    }
