"""Attack-cost arithmetic: panels, governance, Sybil farming."""

from __future__ import annotations

import pytest
from scipy import stats

from clubchat.sim import security


def test_panel_capture_probability_is_the_binomial_majority():
    assert float(security.panel_capture_prob(0.5, 7)) == pytest.approx(0.5)
    assert float(security.panel_capture_prob(0.0, 7)) == 0.0
    assert float(security.panel_capture_prob(0.3, 5)) == pytest.approx(stats.binom.sf(2, 5, 0.3))


@pytest.mark.parametrize(("k", "p"), [(1, 0.2), (7, 0.01), (15, 0.05), (31, 0.001)])
def test_stake_share_for_panel_inverts_the_probability(k, p):
    f = security.stake_share_for_panel(k, p)
    assert float(security.panel_capture_prob(f, k)) == pytest.approx(p, rel=1e-6)
    if k == 1:
        assert f == pytest.approx(p)


def test_bigger_panels_need_more_stake():
    shares = [security.stake_share_for_panel(k, 0.01) for k in (3, 7, 15, 31)]
    assert shares == sorted(shares)


def test_stake_share_rejects_impossible_targets():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        security.stake_share_for_panel(7, 1.0)


def test_hypergeometric_panel_without_replacement():
    # 3 of 10 equal nodes, k = 3: majority needs 2 of them drawn.
    got = security.panel_capture_prob_without_replacement(3, 10, 3)
    assert got == pytest.approx((3 * 7 + 1) / 120)  # C(3,2)C(7,1) + C(3,3) over C(10,3)


def test_buy_in_multiple():
    assert float(security.buy_in_multiple(0.5)) == pytest.approx(1.0)
    assert float(security.buy_in_multiple(0.2)) == pytest.approx(0.25)


def test_governance_needs_quorum_and_to_outvote_opponents():
    assert float(security.governance_votes_to_pass(1000.0, 500.0, 0.04, 0.03)) == pytest.approx(40.0)
    assert float(security.governance_votes_to_pass(1000.0, 500.0, 0.04, 0.2)) == pytest.approx(100.0)


def test_sybil_breakeven_cap_zeroes_the_profit():
    cap = security.sybil_breakeven_cap(2.0, 0.4, 0.5)
    assert float(security.sybil_profit_per_account_month(cap, 1e9, 2.0, 0.4, 0.5)) == pytest.approx(
        0.0, abs=1e-12
    )
    assert float(security.sybil_profit_per_account_month(cap * 2, 1e9, 2.0, 0.4, 0.5)) > 0
    # advertiser demand, not the cap, binds when demand is lower
    assert float(security.sybil_profit_per_account_month(100, 1.0, 2.0, 0.4, 0.0)) == pytest.approx(0.024)


def test_snapshot_votes_cost_interest_and_fees_only():
    """Votes held across the snapshot alone: borrowed votes cost interest for the hold, bought ones the
    pool's fees on the round trip (a constant-product round trip is otherwise lossless)."""
    price, pool = 0.05, 10e6
    borrowed = security.snapshot_vote_cost(1e6, price, pool, 2e6, borrow_apr=0.2, hold_days=1 / 24, fee=0.003)
    assert float(borrowed) == pytest.approx(1e6 * 0.05 * 0.2 / 24 / 365)
    bought = security.snapshot_vote_cost(1e6, price, pool, 0.0, borrow_apr=0.2, hold_days=1 / 24, fee=0.003)
    paid = float(security.amm_buy_cost(1e6, price, pool)) * 1.003
    assert float(bought) == pytest.approx(2 * 0.003 * paid, rel=0.1)  # a fee each way
    # held through a week's vote with the price falling, the same votes cost far more
    held = security.attack_cost(1e6, price, pool, expected_slash=0.0, hold_days=7, yield_gap=0.05,
                                price_drop=0.3, fee=0.003)  # fmt: skip
    assert float(held) > 30 * float(bought)


def test_seats_to_win_by_vote_weight():
    assert int(security.seats_to_win(7, 0.5, 1.0, 1.0)) == 4
    assert int(security.seats_to_win(7, 0.5, 100_000, 25_000)) == 2
    assert int(security.seats_to_win(7, 0.5, 10_000, 100_000)) == 7
    majority = security.stake_share_for_panel(7, 0.01)
    assert security.stake_share_for_seats(7, 4, 0.01) == pytest.approx(majority)
