"""Borrowed votes in the governance attack: flash loans (nothing, by the snapshot) and votes bought or
borrowed for the snapshot only, priced on the model's liquidity curve and borrow rate."""

from __future__ import annotations

import numpy as np

from clubchat.sim import model, security
from clubchat.sim.whitepaper.runs import Results, at_year
from clubchat.sim.whitepaper.text import club, pct, usd


def snapshot_costs(res: Results, year: float) -> tuple[float, float, float, float]:
    """Medians at `year` of (votes needed, lendable CLUB, snapshot cost USD, held-through-the-vote cost
    USD) over the baseline's runs."""
    p = res.p
    df = at_year(res.by_scenario["baseline"], year)
    total, circ, price = (df[c].to_numpy() for c in ("total_supply", "circulating", "price_usd"))
    votes = security.governance_votes_to_pass(total, circ, p.quorum_fraction, p.against_turnout)
    lendable = p.lendable_share * circ
    cost = security.snapshot_vote_cost(
        votes,
        price,
        model.pool_club(p, circ),
        lendable,
        borrow_apr=p.borrow_apr,
        hold_days=p.snapshot_hold_days,
        fee=p.pool_fee,
    )
    return (
        float(np.median(votes)),
        float(np.median(lendable)),
        float(np.median(cost)),
        float(df["gov_attack_usd"].median()),
    )


def borrowed_votes_facts(res: Results) -> dict[str, str]:
    p, y = res.p, res.years
    v1, _, snap1, _ = snapshot_costs(res, 1.0)
    vy, lendy, snapy, heldy = snapshot_costs(res, y)
    return {
        "borrow_apr": pct(p.borrow_apr, 0),
        "lendable_share": pct(p.lendable_share, 0),
        "snapshot_hold_hours": f"{p.snapshot_hold_days * 24:g}",
        "snapshot_votes_year1": club(v1),
        "snapshot_votes": club(vy),
        "snapshot_lendable": club(lendy),
        "snapshot_cost_year1": usd(snap1),
        "snapshot_cost": usd(snapy),
        "snapshot_share_of_held": pct(snapy / heldy if heldy else 0.0, 1),
        "snapshot_borrow_only": usd(
            float(vy * p.borrow_apr * p.snapshot_hold_days / 365.0 * at_year_price(res, y))
        ),
    }


def at_year_price(res: Results, year: float) -> float:
    return float(at_year(res.by_scenario["baseline"], year)["price_usd"].median())
