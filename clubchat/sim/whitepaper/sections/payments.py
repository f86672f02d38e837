"""Premium at the contract's CLUB tier prices and community creation fees: the whitepaper's figures."""

from __future__ import annotations

from clubchat.params import WAD
from clubchat.sim import premium
from clubchat.sim.whitepaper.runs import Results, final
from clubchat.sim.whitepaper.text import club, num, pct, usd


def payments_facts(res: Results) -> dict[str, str]:
    """Tier prices, the demand they meet at the genesis price, and the baseline's subscribers,
    communities and burns (medians) after one year and at the horizon."""
    p, params, base, y = res.p, res.params, res.by_scenario["baseline"], res.years
    paid = params.premium.tiers[1:]
    month = premium.MONTH_DAYS / p.premium_period_days
    avg = premium.club_per_period(p)
    return {
        "premium_tiers": ", ".join(f"{t.name} {club(t.price_wei / WAD)}" for t in paid),
        "premium_period_days": format(p.premium_period_days, "g"),
        "premium_tier_mix": " / ".join(pct(m, 0) for m in p.premium_tier_mix),
        "premium_avg_club": club(avg),
        "premium_usd_month": usd(p.premium_usd_month),
        "premium_uptake": pct(p.premium_uptake, 1),
        "premium_wtp_sigma": format(p.premium_wtp_sigma, "g"),
        "premium_cost_genesis": usd(avg * month * p.price0_usd),
        "premium_uptake_genesis": pct(float(premium.uptake(p, p.price0_usd)), 2),
        "premium_subscribers_year1": num(final(base, "premium_subscribers", 1.0)),
        "premium_subscribers": num(final(base, "premium_subscribers", y)),
        "premium_burned": club(final(base, "burned_premium", y)),
        "creation_fee": club(p.community_creation_fee),
        "communities_per_user": format(p.communities_per_user, "g"),
        "community_turnover": pct(p.community_turnover, 0),
        "communities_year1": num(final(base, "communities", 1.0)),
        "communities": num(final(base, "communities", y)),
        "communities_created": num(final(base, "communities_created", y)),
        "creation_burned": club(final(base, "burned_creation", y)),
    }
