"""The Sybil ad farmer: the per-gate analysis, and the farmer on the real contracts against it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from clubchat.params import BPS, DAY, REPO_ROOT, WAD
from clubchat.sim import sybil, sybil_replay
from tests.utils.deployer import deploy_all


def _rows(params, sim_params, **kw):
    """Rows by gate name without a balance threshold ("token-gated community, honest node")."""
    rows = sybil.farm_table(params, sim_params, **kw)
    return {", ".join(p for p in r.gate.name.split(", ") if not p.startswith("balance")): r for r in rows}


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
    # checked again at settlement: with an honest node, every account holds the balance all month
    assert rows["token-gated community, honest node"].gate_cost_usd == pytest.approx(
        1_000 * 0.05 * 30 / 365 * 0.05
    )
    # a colluding node settles one account per transaction: its stake shared by the farm, plus gas
    node_stake = params.registry.min_self_stake_per_kind_wei / WAD
    extra_gas = sybil.GATED_BATCH_OF_ONE_GAS - sybil.GATED_IN_BATCH_OF_100_GAS
    assert rows["token-gated community, colluding node"].gate_cost_usd == pytest.approx(
        node_stake / sybil.FARM_ACCOUNTS * 0.05 * 30 / 365 * 0.05
        + extra_gas * sybil.USD_PER_MILLION_GAS / 1e6
    )
    assert rows["tier >= 1 (plus) by subscription"].gate_cost_usd == pytest.approx(
        tier1.price_wei / WAD * 0.05
    )
    lock_days = params.premium.unlock_delay_seconds / DAY
    assert rows["tier >= 1 (plus) by lock"].gate_cost_usd == pytest.approx(
        tier1.lock_wei / WAD * 0.05 * lock_days / 365 * 0.05
    )
    unbond_days = params.registry.unbonding_seconds / DAY
    assert rows["stake >= 10,000 CLUB"].gate_cost_usd == pytest.approx(
        10_000 * 0.05 * unbond_days / 365 * 0.05
    )


def test_ignoring_a_gate_overstates_the_profit(params, sim_params):
    """Fails if a gate's cost is dropped: every paid gate lowers the profit by exactly its cost."""
    rows = sybil.farm_table(params, sim_params)
    free = rows[0].profit_usd
    for r in rows:
        assert r.profit_usd == pytest.approx(free - r.gate_cost_usd)
        assert r.breakeven_account_usd == pytest.approx(r.revenue_usd - r.gate_cost_usd)
    paid = [r for r in rows if r.gate.fee_club or r.gate.capital_club * r.gate.recycle_days or r.gate.gas_usd]
    assert len(paid) == 5 and all(r.profit_usd < free for r in paid)


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
    assert dear["stake >= 10,000 CLUB"].gate_cost_usd == pytest.approx(
        10 * cheap["stake >= 10,000 CLUB"].gate_cost_usd
    )
    honest = "token-gated community, honest node"
    assert dear[honest].gate_cost_usd == pytest.approx(10 * cheap[honest].gate_cost_usd)
    # the colluding node's gas is priced in USD, not CLUB: it does not scale with the price
    colluding = "token-gated community, colluding node"
    gas = sybil.colluding_gas_usd()
    assert dear[colluding].gate_cost_usd - gas == pytest.approx(10 * (cheap[colluding].gate_cost_usd - gas))


def test_a_colluding_node_is_far_cheaper_than_holding_every_balance(params, sim_params):
    """The balance gate re-checked at settlement: k honest-node accounts hold k balances for the
    month; a colluding node's batches of one cost its shared stake and the extra gas."""
    rows = _rows(params, sim_params)
    honest, colluding = (
        rows["token-gated community, honest node"],
        rows["token-gated community, colluding node"],
    )
    assert colluding.gate_cost_usd < honest.gate_cost_usd
    # more accounts share the node's stake; a dearer chain (mainnet gas) makes collusion dearer
    big = _rows(params, sim_params, farm_accounts=10_000)["token-gated community, colluding node"]
    assert big.gate_cost_usd < colluding.gate_cost_usd
    mainnet = _rows(params, sim_params, usd_per_million_gas=30.0)["token-gated community, colluding node"]
    assert mainnet.gate_cost_usd - colluding.gate_cost_usd == pytest.approx(
        (sybil.GATED_BATCH_OF_ONE_GAS - sybil.GATED_IN_BATCH_OF_100_GAS) * (30.0 - 0.03) / 1e6
    )


def test_gas_constants_are_the_benchmarks():
    """The analysis prices the colluding node with the receipt gas bench/bench_ads_gas.py measured."""
    rows = {
        r["metric"]: r["value"] for r in json.loads((REPO_ROOT / "bench/results/ads_gas.json").read_text())
    }
    gated = "settle per receipt, real Communities, TOKEN_GATE (balance) community"
    assert rows[f"{gated}, batch of 1, settled before, 1 view"] == sybil.GATED_BATCH_OF_ONE_GAS
    assert (
        rows[f"{gated}, batch of 1, earned before, new to the campaign"] == sybil.GATED_BATCH_OF_ONE_NEW_GAS
    )
    assert rows[f"{gated}, batch of 100, settled before, 1 view"] == sybil.GATED_IN_BATCH_OF_100_GAS
    assert sybil.colluding_farm_gas(3, rounds=2) == 3 * (
        sybil.GATED_BATCH_OF_ONE_NEW_GAS + sybil.GATED_BATCH_OF_ONE_GAS
    )


def test_farm_earnings_wei_rounds_like_the_contract():
    assert sybil.user_share_wei(3, 7, 5000) == 10  # 21 * 5000 // 10000
    assert sybil.farm_earnings_wei(5, 2, 3, 7, 5000) == {"paid": 2, "skipped": 3, "earned": 20}
    with pytest.raises(ValueError, match="qualified"):
        sybil.farm_earnings_wei(2, 3, 1, 1, 5000)
    # settled in three parts, each rounded down on its own: one wei less than all at once (10)
    assert sybil.farm_earnings_wei(1, 1, 3, 7, 5000, settlements=(1, 1, 1)) == {
        "paid": 3,
        "skipped": 0,
        "earned": 9,
    }
    with pytest.raises(ValueError, match="sum to cap"):
        sybil.farm_earnings_wei(1, 1, 3, 7, 5000, settlements=(1, 1))


def test_markdown_names_every_gate_and_its_source(params, sim_params):
    rows = sybil.farm_table(params, sim_params)
    text = sybil.markdown(rows, sim_params, params.ads.user_bps / BPS, sim_params.price0_usd)
    for r in rows:
        assert r.gate.name in text and r.gate.source in text and r.gate.does_not_stop in text
    assert "balanceOf again at settlement" in text and "colluding node" in text


# ---- the farmer on the contracts --------------------------------------------------------------


@pytest.fixture(scope="module")
def farmed(params):
    import boa

    with boa.env.anchor():
        return sybil_replay.replay_farm(accounts=5, subscribed=2, cap=7, price_wei=3 * WAD // 1000 + 1,
                                        params=params, deploy=deploy_all)  # fmt: skip


def test_chain_agrees_with_the_analysis_to_the_wei(farmed):
    assert farmed.mismatches() == []
    honest, tier = farmed.campaigns[sybil_replay.HONEST], farmed.campaigns["open community, tier >= 1"]
    # one balance joined all five accounts; settlement checks it again: the honest node's batch pays
    # only the account holding it, and says why it skipped the four others
    assert honest["paid_chain"] == 1 and honest["skipped_chain"] == 4
    assert honest["reasons"] == ["ads: community gate not met"]
    # the tier gate pays only the two subscribed accounts, and says why it skipped the others
    assert tier["paid_chain"] == 2 and tier["skipped_chain"] == 3
    assert tier["reasons"] == ["ads: premium tier too low"]
    price = farmed.price_wei
    assert honest["earned_chain"] == 1 * (7 * price * 5000 // BPS)
    assert tier["earned_chain"] == 2 * (7 * price * 5000 // BPS)
    assert "agree to the wei" in sybil_replay.report_markdown(farmed)


def test_a_colluding_node_pays_every_account_one_transaction_at_a_time(farmed):
    """Its own node settles each account alone (3 views, then 4 more), the balance moved to it first:
    all five are paid twice, in ten transactions, and the balance comes back whole."""
    colluding = farmed.campaigns[sybil_replay.COLLUDING]
    assert colluding["paid_chain"] == 10 and colluding["skipped_chain"] == 0
    price = farmed.price_wei
    assert colluding["earned_chain"] == 5 * (3 * price * 5000 // BPS + 4 * price * 5000 // BPS)
    assert farmed.colluding_batches == 10
    assert farmed.colluding_gas == 5 * (sybil.GATED_BATCH_OF_ONE_NEW_GAS + sybil.GATED_BATCH_OF_ONE_GAS)
    assert farmed.gate_balance_back_wei == farmed.gate_balance_wei
    assert f"{farmed.colluding_gas:,} gas" in sybil_replay.report_markdown(farmed)


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


def test_a_prediction_that_ignores_the_settlement_check_is_caught(farmed):
    """The old contract checked the balance at join only and paid every account: a prediction made
    for it disagrees with the chain now."""
    at_join = sybil.farm_earnings_wei(farmed.accounts, farmed.accounts, farmed.cap, farmed.price_wei, 5000)
    assert farmed.campaigns[sybil_replay.HONEST]["earned_chain"] != at_join["earned"]


def test_replay_rejects_bad_sizes(params):
    with pytest.raises(ValueError, match="accounts"):
        sybil_replay.replay_farm(accounts=2, subscribed=3, params=params, deploy=deploy_all)
    with pytest.raises(ValueError, match="cap"):
        sybil_replay.replay_farm(accounts=2, subscribed=1, cap=1, params=params, deploy=deploy_all)
