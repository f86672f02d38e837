"""Premium demand priced by the contract's tiers: users pay parameters.yaml's CLUB prices per period.

`Premium` sells each paid tier at a fixed CLUB price per period (`premium.tiers[].price`,
governance-set), so what a subscriber pays in USD is that price times the CLUB price. Users'
willingness to pay stays in USD (the demand side): it is log-normal with spread
`premium_wtp_sigma`, and `premium_uptake` of DAU subscribe when an average subscription costs
`premium_usd_month` a month. At a cost of c USD a month the share of DAU that subscribes is

    P[wtp >= c] = Phi(Phi^-1(uptake) - ln(c / premium_usd_month) / sigma)

(Phi: the standard normal distribution function), which falls as CLUB gets dearer and rises
towards all users as it gets cheaper. Subscribers split over the paid tiers by
`premium_tier_mix`; an average subscription costs sum(mix_i x price_i) CLUB per period. Every
payment is split as `Premium` splits it: `premium_burn_share` burnt, the rest to the node pools
(clubchat.sim.model's supply block applies the split and the market-depth limit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from clubchat.sim.parameters import SimParams

Array = Any  # numpy scalar or ndarray, as in clubchat.sim.model
MONTH_DAYS = 30.0  # the model's USD prices are per 30-day month


def tier_mix(p: SimParams) -> npt.NDArray[np.float64]:
    """`premium_tier_mix` checked against the contract's paid tiers: one non-negative share per
    paid tier, summing to 1; a tier that is not sold (price 0) takes no subscribers."""
    mix = np.asarray(p.premium_tier_mix, dtype=np.float64)
    prices = np.asarray(p.premium_tier_prices, dtype=np.float64)
    if mix.shape != prices.shape or (mix < 0).any() or abs(mix.sum() - 1.0) > 1e-9:
        raise ValueError(
            f"premium_tier_mix must give {prices.size} non-negative shares summing to 1 (one per "
            f"paid tier of parameters.yaml), got {p.premium_tier_mix}"
        )
    if (mix[prices <= 0] > 0).any():
        raise ValueError("premium_tier_mix puts subscribers on a tier that is not sold (price 0)")
    return mix


def club_per_period(p: SimParams) -> float:
    """CLUB an average subscriber pays per period: the tiers' prices weighted by the mix."""
    return float(tier_mix(p) @ np.asarray(p.premium_tier_prices, dtype=np.float64))


def uptake(p: SimParams, price_usd: Array) -> Array:
    """Share of DAU subscribing when CLUB costs `price_usd` (see the module docstring)."""
    cost = price_usd * club_per_period(p) * MONTH_DAYS / p.premium_period_days
    z = special.ndtri(p.premium_uptake) - np.log(cost / p.premium_usd_month) / p.premium_wtp_sigma
    return special.ndtr(z)


def demand(p: SimParams, users: Array, price_usd: Array) -> tuple[Array, Array]:
    """(subscribers, CLUB they pay per day) before the market-depth limit: each subscriber pays
    one average subscription every period."""
    subscribers = users * uptake(p, price_usd)
    return subscribers, subscribers * club_per_period(p) / p.premium_period_days


def tier_club_per_day(p: SimParams, subscribers: float) -> npt.NDArray[np.float64]:
    """CLUB paid per day for each paid tier by `subscribers` paying subscribers."""
    prices = np.asarray(p.premium_tier_prices, dtype=np.float64)
    return subscribers * tier_mix(p) * prices / p.premium_period_days
