"""Node rewards per kind: the deployed per-kind streams against the one stream they replaced, the measured
comparison of registry designs, the split chosen on the grid and the Nakamoto coefficients."""

from __future__ import annotations

from typing import Any

from clubchat.sim.whitepaper.runs import Results, final
from clubchat.sim.whitepaper.text import num, pct, table, usd

KINDS_SELECT_RUNS = 100
KINDS_GRID_ROWS = 6
KINDS_CONTRACT_CHANGE = (
    "`NodeRegistry` keeps one reward accumulator per kind instead of one: `finalize_epoch` splits "
    "what it streams by the Timelock-set `kind_reward_bps` (RELAY / TURN / NOTIFY, summing to 10,000), "
    "taken over the kinds that have reward weight at that moment (a kind with no nodes leaves its "
    "share to the others, renormalised by their bps, instead of stranding it); a node's reward "
    "weight in each kind it declares is its weight divided by its number of declared kinds (so "
    "declaring kinds does not multiply its rewards; sampling keeps the full weight in each kind's "
    "sum tree); each kind's stream is paid pro rata to those reward weights, and a node's "
    "checkpoint credits each declared kind's accumulator"
)


def _split_text(split: tuple[float, ...]) -> str:
    return " / ".join(pct(x, 0) for x in split)


def kinds_facts(res: Results) -> dict[str, str]:
    """Which registry design keeps every kind served: the deployed split against the one stream it
    replaced, the grid choice and every design compared."""
    from clubchat.sim import kinds

    years = max(1, round(res.years))
    select_runs = min(KINDS_SELECT_RUNS, res.sweep_runs)
    choice = kinds.select_split(runs=select_runs, years=years)
    outcomes = kinds.compare(choice.split, runs=res.sweep_runs, years=years)
    by = {(o.design, o.scenario): o for o in outcomes}
    deployed_split = tuple(res.p.kind_reward_split)
    ranked = sorted(
        choice.scores, key=lambda w: (choice.worst(w).served, choice.worst(w).users_p50), reverse=True
    )

    def label(w: tuple[float, ...]) -> str:
        hits = (("chosen", w == choice.split), ("deployed", _same(w, deployed_split)))
        notes = [n for n, hit in hits if hit]
        return f"**{_split_text(w)}** ({', '.join(notes)})" if notes else _split_text(w)

    grid_rows = [
        [
            label(w),
            *(pct(choice.scores[w][sc].served, 0) for sc in kinds.ENVIRONMENTS),
            choice.worst(w).scenario,
        ]
        for w in ranked[:KINDS_GRID_ROWS]
    ]
    worst = choice.worst(choice.split)
    base = res.by_scenario["baseline"]
    deployed, one = by[("deployed", "baseline")], by[("one stream", "baseline")]
    return {
        "kinds_choice": _split_text(choice.split),
        "kinds_choice_worst": f"{pct(worst.served, 0)} of run-days in the {worst.scenario} scenario",
        "kinds_choice_vs_deployed": (
            "the deployed split"
            if _same(choice.split, deployed_split)
            else f"not the deployed {_split_text(deployed_split)}: the table above has a row for it"
        ),
        "kinds_split_deployed": _split_text(deployed_split),
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
        "kinds_relay_deployed": num(deployed.nodes_p50[0]),
        "kinds_relay_one_stream": num(one.nodes_p50[0]),
        "kinds_served_deployed": pct(deployed.served, 0),
        "kinds_served_one_stream": pct(one.served, 0),
        "kinds_contract_change": KINDS_CONTRACT_CHANGE,
        **multi_kind_facts(res, by),
        "nakamoto_relay": num(final(base, "nakamoto_relay", res.years)),
        "nakamoto_all": num(final(base, "nakamoto", res.years)),
        "stake_rank_exponent": f"{res.p.stake_rank_exponent:g}",
    }


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(abs(x - y) < 1e-9 for x, y in zip(a, b, strict=True))


def multi_kind_facts(res: Results, by: dict[tuple[str, str], Any]) -> dict[str, str]:
    """Operators serving several kinds against the single-kind model, and capital as entry condition."""
    from clubchat.sim import kindsets

    deployed, single = by[("deployed", "baseline")], by[("deployed, one kind per node", "baseline")]
    p = res.p
    return {
        "kinds_relay_single": num(single.nodes_p50[0]),
        "kinds_relay_one_stream_single": num(by[("one stream, one kind per node", "baseline")].nodes_p50[0]),
        "kinds_multi_deployed": num(deployed.multi_p50),
        "kinds_multi_one_stream": num(by[("one stream", "baseline")].multi_p50),
        "kinds_panel_deployed": usd(deployed.panel_attack_p50),
        "kinds_panel_single": usd(single.panel_attack_p50),
        "kinds_eclipse_deployed": usd(deployed.relay_attack_p50),
        "kinds_eclipse_single": usd(single.relay_attack_p50),
        "extra_kind_cost_share": pct(p.extra_kind_cost_share, 0),
        "kind_switch_speed": pct(p.kind_switch_speed, 0),
        "operator_wealth_usd": usd(p.operator_wealth_usd),
        "operator_wealth_sigma": format(p.operator_wealth_sigma, "g"),
        "operator_capital_eligible": pct(float(kindsets.capital_eligible(p, p.price0_usd)[0]), 0),
    }
