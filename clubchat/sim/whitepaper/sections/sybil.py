"""The ad market's Sybil paragraph: what a fake account earns under each gate a campaign can set
(`clubchat.sim.sybil`), at the genesis price and at the baseline's median price at the horizon,
including a token-gated community's balance gate as settlement re-checks it (held on every account
with honest nodes; recycled between batches of one by a colluding node), and the farmer replayed on
the real contracts for Appendix F."""

from __future__ import annotations

from clubchat.params import BPS
from clubchat.sim import sybil
from clubchat.sim.whitepaper.runs import Results, final
from clubchat.sim.whitepaper.text import usd


def sybil_facts(res: Results) -> dict[str, str]:
    """The gate table at the horizon's median CLUB price and the figures the paragraph quotes."""
    p, params = res.p, res.params
    price = final(res.by_scenario["baseline"], "price_usd", res.years)
    share = params.ads.user_bps / BPS
    rows = sybil.farm_table(params, p, price_usd=price)
    by = {r.gate.name: r for r in rows}
    lock = next(r for r in rows if r.gate.name.endswith("by lock"))
    sub = next(r for r in rows if r.gate.name.endswith("by subscription"))
    stake = rows[-1]
    honest = next(r for r in rows if r.gate.name.endswith("honest node"))
    colluding = next(r for r in rows if r.gate.name.endswith("colluding node"))
    return {
        "sybil_gate_table": sybil.markdown(rows, p, share, price),
        "sybil_price": usd(price),
        "sybil_revenue": usd(rows[0].revenue_usd),
        "sybil_free_breakeven": usd(by["open community"].breakeven_account_usd),
        "sybil_lock_cost": usd(lock.gate_cost_usd),
        "sybil_sub_cost": usd(sub.gate_cost_usd),
        "sybil_stake_cost": usd(stake.gate_cost_usd),
        "sybil_honest_gate_cost": usd(honest.gate_cost_usd),
        "sybil_colluding_gate_cost": usd(colluding.gate_cost_usd),
    }


def sybil_replay_text() -> str:
    """Appendix F's Sybil farmer on the contracts (titanoboa must be installed)."""
    import boa

    from clubchat.sim import sybil_replay

    with boa.env.anchor():
        return sybil_replay.report_markdown(sybil_replay.replay_farm())
