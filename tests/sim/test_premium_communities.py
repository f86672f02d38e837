"""Premium priced at the contract's CLUB tiers and communities created as users come, in the model.

clubchat.sim.premium: the share of DAU that subscribes is `premium_uptake` when an average
subscription (parameters.yaml's tier prices weighted by `premium_tier_mix`) costs
`premium_usd_month` in USD, and falls as CLUB gets dearer. clubchat.sim.communities: the stock of
communities tends to `communities_per_user` x DAU, and every creation burns the fee.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from clubchat.params import DAY, WAD
from clubchat.sim import communities, engine, model, premium


def _reference_price(p) -> float:
    """The CLUB price at which an average subscription costs `premium_usd_month` a month."""
    return p.premium_usd_month * p.premium_period_days / 30.0 / premium.club_per_period(p)


def test_protocol_prices_come_from_parameters_yaml(sim_params, params):
    assert sim_params.premium_tier_prices == tuple(t.price_wei / WAD for t in params.premium.tiers[1:])
    assert sim_params.premium_period_days == params.premium.period_seconds / DAY
    assert sim_params.community_creation_fee == params.communities.creation_fee_wei / WAD
    # 0.8 x 50 + 0.2 x 200 CLUB a 30-day period with the baseline mix and parameters.yaml's tiers
    expected = sum(
        m * x for m, x in zip(sim_params.premium_tier_mix, sim_params.premium_tier_prices, strict=True)
    )
    assert premium.club_per_period(sim_params) == pytest.approx(expected)


def test_uptake_is_the_assumed_share_at_the_reference_cost_and_falls_with_the_price(sim_params):
    p = sim_params
    ref = _reference_price(p)
    assert premium.uptake(p, ref) == pytest.approx(p.premium_uptake, rel=1e-12)
    prices = ref * np.array([1e-4, 0.5, 1.0, 2.0, 1e4])
    shares = premium.uptake(p, prices)
    assert (np.diff(shares) < 0).all()
    assert shares[0] > 0.99 and shares[-1] < 1e-6
    # a log-normal willingness to pay: twice the cost is ln(2) / sigma lower in z
    expected = special.ndtri(p.premium_uptake) - np.log(2.0) / p.premium_wtp_sigma
    assert special.ndtri(shares[3]) == pytest.approx(expected, rel=1e-9)


def test_dearer_tiers_mean_fewer_subscribers_who_pay_more_club_each(sim_params):
    p = sim_params
    price = 0.05
    subs, club = premium.demand(p, 100_000.0, price)
    double = p.replace(premium_tier_prices=tuple(2 * x for x in p.premium_tier_prices))
    subs2, club2 = premium.demand(double, 100_000.0, price)
    assert subs2 < subs
    assert club2 / subs2 == pytest.approx(2 * club / subs)
    np.testing.assert_allclose(
        premium.tier_club_per_day(p, subs).sum(), club, rtol=1e-12
    )  # the per-tier split adds up


@pytest.mark.parametrize(
    ("mix", "match"),
    [((1.0,), "2 non-negative shares"), ((0.7, 0.2), "summing to 1"), ((1.2, -0.2), "non-negative")],
)
def test_a_tier_mix_that_does_not_fit_the_tiers_is_refused(sim_params, mix, match):
    with pytest.raises(ValueError, match=match):
        premium.tier_mix(sim_params.replace(premium_tier_mix=mix))


def test_subscribers_on_a_tier_that_is_not_sold_are_refused(sim_params):
    p = sim_params.replace(premium_tier_prices=(50.0, 0.0))
    with pytest.raises(ValueError, match="not sold"):
        premium.tier_mix(p)
    assert premium.tier_mix(p.replace(premium_tier_mix=(1.0, 0.0))).tolist() == [1.0, 0.0]


def _state(p, **changes):
    ctx = model.make_context(p, 10)
    s = model.initial_state(p, ctx)
    s.update(changes)
    return ctx, s


def test_usage_pays_the_tiers_and_the_creation_fees_with_the_contracts_split(sim_params):
    p = sim_params
    ctx, s = _state(p)
    sig = model.p_usage(p, ctx, s, 0, np.zeros(2))
    subs, club = premium.demand(p, s["users"], s["price_usd"])
    assert sig["premium_subscribers"] == pytest.approx(subs)  # the market serves everything
    assert sig["burn_premium"] == pytest.approx(club * p.premium_burn_share)
    assert sig["fees_premium"] == pytest.approx(club * (1 - p.premium_burn_share))
    # launch day: every community of the launch's users is created
    assert sig["created"] == pytest.approx(s["users"] * p.communities_per_user)
    burnt = communities.u_burned_creation(p, ctx, s, sig)
    assert burnt == pytest.approx(sig["created"] * p.community_creation_fee)


def test_a_thin_market_scales_creations_and_subscriptions_alike(sim_params):
    p = sim_params.replace(market_depth=1e-9)
    ctx, s = _state(p)
    sig = model.p_usage(p, ctx, s, 0, np.zeros(2))
    served = sig["created"] / communities.wanted(p, s)
    assert 0 < served < 1
    subs, _ = premium.demand(p, s["users"], s["price_usd"])
    assert sig["premium_subscribers"] / subs == pytest.approx(served)
    # what was not created is still wanted the next day
    s2 = dict(s, communities=communities.u_communities(p, ctx, s, sig))
    assert communities.wanted(p, s2) > communities.wanted(p, s) - sig["created"] - 1e-9


def test_communities_follow_users_and_their_fees_burn_out_of_supply(sim_params, small_run):
    p, s = sim_params, small_run
    # the stock tracks communities per user x DAU (the shortfall is made up every day)
    ratio = s["communities"][-1] / (s["users"][-1] * p.communities_per_user)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05)
    # more communities are created than live: abandoned ones are replaced
    assert (s["communities_created"][-1] > s["communities"][-1]).all()
    np.testing.assert_allclose(s["burned_creation"], s["communities_created"] * p.community_creation_fee)
    np.testing.assert_allclose(
        s["total_supply"], p.genesis_total + s["emitted"] - model.burned(s), rtol=1e-12
    )


def test_the_creation_fee_burns_supply(sim_params):
    """Same seed with and without the fee: supply differs by at least the year's creation burns minus
    what emission mints back (r x the burnt gap over the year's epochs at most)."""
    with_fee = engine.simulate(sim_params, runs=4, days=365, seed=5, record_every=365)
    free = engine.simulate(
        sim_params.replace(community_creation_fee=0.0), runs=4, days=365, seed=5, record_every=365
    )
    assert (free["burned_creation"][-1] == 0).all()
    assert (with_fee["burned_creation"][-1] > 5e4).all()  # ~1,000 communities at 100 CLUB
    gap = free["total_supply"][-1] - with_fee["total_supply"][-1]
    assert (gap > 0.5 * with_fee["burned_creation"][-1]).all()
