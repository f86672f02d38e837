"""The Sybil ad farmer: the per-gate analysis, and the farmer on the real contracts against it."""

from __future__ import annotations

import dataclasses

import pytest

from clubchat.params import BPS, DAY, WAD
from clubchat.sim import sybil, sybil_replay
from tests.utils.deployer import deploy_all


def _rows(params, sim_params, **kw):
    return {r.gate.name.split(",")[0]: r for r in sybil.farm_table(params, sim_params, **kw)}


def test_revenue_is_the_user_share_of_the_capped_views(params, sim_params):
    p = dataclasses.replace(
        sim_params, ads_cap_per_user_day=3.0, ads_demand_per_user_day=4.0, ads_cpm_usd=2.0
    )
    rows = sybil.farm_table(params, p)
    # 3 views a day x 30 days x $2 / 1000 x the contract's 50 % user share
    assert params.ads.user_bps == 5000
    assert all(r.revenue_usd == pytest.approx(3 * 30 * 2 / 1000 * 0.5) for r in rows)
    # demand below the cap bounds the views instead
    low = sybil.farm_table(params, dataclasses.replace(p, ads_demand_per_user_day=1.0))
    assert low[0].revenue_usd == pytest.approx(1 * 30 * 2 / 1000 * 0.5)


def test_each_gate_costs_what_its_contract_values_say(params, sim_params):
    p = dataclasses.replace(sim_params, outside_yield=0.05, price0_usd=0.05)
    rows = _rows(params, p, balance_min_club=1_000.0, stake_min_club=10_000.0)
    tier1 = params.premium.tiers[1]
    assert rows["none (untargeted)"].gate_cost_usd == 0.0
    assert rows["open community"].gate_cost_usd == 0.0
    # the balance is checked at join only: moved on at once, it costs nothing per account
    assert rows["token-gated community"].gate_cost_usd == 0.0
    assert rows["tier >= 1 (plus) by subscription"].gate_cost_usd == pytest.approx(
        tier1.price_wei / WAD * 0.05
    )
    lock_days = params.premium.unlock_delay_seconds / DAY
    assert rows["tier >= 1 (plus) by lock"].gate_cost_usd == pytest.approx(
        tier1.lock_wei / WAD * 0.05 * lock_days / 365 * 0.05
    )
    unbond_days = params.registry.unbonding_seconds / DAY
    assert rows["stake >= 10"].gate_cost_usd == pytest.approx(10_000 * 0.05 * unbond_days / 365 * 0.05)


def test_ignoring_a_gate_overstates_the_profit(params, sim_params):
    """Fails if a gate's cost is dropped: every paid gate lowers the profit by exactly its cost."""
    rows = sybil.farm_table(params, sim_params)
    free = rows[0].profit_usd
    for r in rows:
        assert r.profit_usd == pytest.approx(free - r.gate_cost_usd)
        assert r.breakeven_account_usd == pytest.approx(r.revenue_usd - r.gate_cost_usd)
    paid = [r for r in rows if r.gate.fee_club or r.gate.capital_club * r.gate.recycle_days]
    assert len(paid) == 3 and all(r.profit_usd < free for r in paid)


def test_breakeven_cap_zeroes_the_profit(params, sim_params):
    share = params.ads.user_bps / BPS
    p = dataclasses.replace(sim_params, ads_demand_per_user_day=1e9)  # the cap binds
    for r in sybil.farm_table(params, p):
        cap = sybil.breakeven_cap(r, p, share)
        at = sybil.farm_table(params, p, cap_per_day=cap)
        row = next(x for x in at if x.gate.name == r.gate.name)
        assert row.profit_usd == pytest.approx(0.0, abs=1e-12)


def test_higher_clb_price_makes_capital_gates_dearer(params, sim_params):
    cheap = _rows(params, sim_params, price_usd=0.05)
    dear = _rows(params, sim_params, price_usd=0.5)
    assert dear["stake >= 10"].gate_cost_usd == pytest.approx(10 * cheap["stake >= 10"].gate_cost_usd)
    assert dear["token-gated community"].gate_cost_usd == 0.0


def test_farm_earnings_wei_rounds_like_the_contract():
    assert sybil.user_share_wei(3, 7, 5000) == 10  # 21 * 5000 // 10000
    assert sybil.farm_earnings_wei(5, 2, 3, 7, 5000) == {"paid": 2, "skipped": 3, "earned": 20}
    with pytest.raises(ValueError, match="qualified"):
        sybil.farm_earnings_wei(2, 3, 1, 1, 5000)


def test_markdown_names_every_gate_and_its_source(params, sim_params):
    rows = sybil.farm_table(params, sim_params)
    text = sybil.markdown(rows, sim_params, params.ads.user_bps / BPS, sim_params.price0_usd)
    for r in rows:
        assert r.gate.name in text and r.gate.source in text and r.gate.does_not_stop in text
    assert "balanceOf at join" in text


# ---- the farmer on the contracts --------------------------------------------------------------


@pytest.fixture(scope="module")
def farmed(params):
    import boa

    with boa.env.anchor():
        return sybil_replay.replay_farm(accounts=5, subscribed=2, cap=7, price_wei=3 * WAD // 1000 + 1,
                                        params=params, deploy=deploy_all)  # fmt: skip


def test_chain_agrees_with_the_analysis_to_the_wei(farmed):
    assert farmed.mismatches() == []
    gated, tier = farmed.campaigns["token-gated community"], farmed.campaigns["open community, tier >= 1"]
    # one balance joined all five accounts, and the balance came back whole
    assert gated["paid_chain"] == 5 and gated["skipped_chain"] == 0 and gated["reasons"] == []
    assert farmed.gate_balance_back_wei == farmed.gate_balance_wei
    # the tier gate pays only the two subscribed accounts, and says why it skipped the others
    assert tier["paid_chain"] == 2 and tier["skipped_chain"] == 3
    assert tier["reasons"] == ["ads: premium tier too low"]
    price = farmed.price_wei
    assert gated["earned_chain"] == 5 * (7 * price * 5000 // BPS)
    assert tier["earned_chain"] == 2 * (7 * price * 5000 // BPS)
    assert "agree to the wei" in sybil_replay.report_markdown(farmed)


def test_one_recycled_tier_lock_qualifies_every_account(farmed, params):
    """The tier ends at request_unlock and the CLUB returns after the unlock delay: one lock pays the
    three accounts that did not subscribe, one after the other, and comes back whole."""
    lock = farmed.campaigns["open community, tier >= 1, one recycled lock"]
    assert lock["paid_chain"] == 5 and lock["skipped_chain"] == 0
    assert farmed.lock_wei == params.premium.tiers[1].lock_wei
    assert farmed.lock_back_wei == farmed.lock_wei
    assert farmed.lock_days == pytest.approx(3 * params.premium.unlock_delay_seconds / DAY, abs=0.01)


def test_a_prediction_that_ignores_the_tier_gate_is_caught(farmed):
    tier = farmed.campaigns["open community, tier >= 1"]
    wrong = sybil.farm_earnings_wei(farmed.accounts, farmed.accounts, farmed.cap, farmed.price_wei, 5000)
    assert wrong["earned"] != tier["earned_chain"]
    broken = dataclasses.replace(farmed, campaigns={k: dict(v) for k, v in farmed.campaigns.items()})
    broken.campaigns["open community, tier >= 1"].update({f"{k}_predicted": v for k, v in wrong.items()})
    assert any("earned chain" in m for m in broken.mismatches())
    assert "DISAGREE" in sybil_replay.report_markdown(broken)


def test_a_balance_gate_checked_at_settlement_would_pay_one_account(farmed):
    """The reviewer's attack: if the balance were checked at settlement only its holder would be paid;
    the chain pays every account, as the analysis (checked at join) predicts."""
    at_settlement = sybil.farm_earnings_wei(farmed.accounts, 1, farmed.cap, farmed.price_wei, 5000)
    assert farmed.campaigns["token-gated community"]["earned_chain"] != at_settlement["earned"]


def test_replay_rejects_bad_sizes(params):
    with pytest.raises(ValueError, match="accounts"):
        sybil_replay.replay_farm(accounts=2, subscribed=3, params=params, deploy=deploy_all)
