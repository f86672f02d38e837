"""Contracts in the loop for Premium and community creation: the model's premium flows as
subscriptions and creation fees burnt, to the wei.

Three days of the baseline's run 1: four one-period subscriptions a day (two gifts, both paid
tiers), two cohorts of subscribers so the third day's renewals stack on the first day's, one
community created a day, on the protocol the deploy plan builds. Tolerances
(clubchat.sim.premium_replay): the exact integer mirror to the wei, the float model within a
relative 1e-9.
"""

from __future__ import annotations

import pytest

from clubchat.params import BPS
from clubchat.sim import premium_replay
from tests.utils.deployer import deploy_all

DAYS, RENEWALS = 3, 4


def _replay(params, **kw):
    import boa

    with boa.env.anchor():
        return premium_replay.replay_premium(
            "baseline", days=DAYS, renewals=RENEWALS, params=params, deploy=deploy_all, **kw
        )


@pytest.fixture(scope="module")
def replayed(params):
    return _replay(params)


def test_model_and_contracts_agree_to_the_wei(replayed, params):
    assert replayed.mismatches() == []
    assert replayed.burn_bps == params.premium.burn_bps
    df = replayed.frame()
    assert len(df) == DAYS
    period = params.premium.period_seconds
    for _, row in df.iterrows():
        # the chain really moved: the day's payments at the model's price, split and burnt
        assert row["price_wei"] > 0
        assert row["revenue_chain"] == RENEWALS * row["price_wei"]
        first = row["day"] == 1  # Premium's settle keeps one wei of each share set aside
        assert row["burned_chain"] == RENEWALS * (row["price_wei"] * params.premium.burn_bps // BPS) - first
        assert row["burned_chain"] + row["node_share_chain"] == row["revenue_chain"] - 2 * first
        assert row["creation_burned_chain"] == params.communities.creation_fee_wei
        assert row["supply_change_chain"] == -(row["burned_chain"] + row["creation_burned_chain"])
    # day 3's subscribers are day 1's: their new ends stack one period on the old ones
    ends = df["expires_chain"].tolist()
    assert ends[2] == ends[0] + RENEWALS * period


def test_a_perturbed_burn_share_and_fee_in_the_model_are_reported(params):
    """The model burning 40 % of premium (the contract: parameters.yaml's share) and expecting a
    creation fee one wei above the deployed one disagrees, and says where."""
    fee = params.communities.creation_fee_wei
    res = _replay(params, model_overrides={"premium_burn_share": 0.4}, model_creation_fee_wei=fee + 1)
    bad = res.mismatches()
    assert res.burn_bps == 4000
    for key in ("burned", "node_share", "supply_change", "creation_burned"):
        assert any(line.startswith(f"day 1: {key} chain") and "exact mirror" in line for line in bad), key
    assert any("burned chain" in line and "vs model" in line for line in bad)
    # what was paid and when subscriptions end do not depend on the split or the fee
    assert not any("revenue chain" in line or "expires chain" in line for line in bad)
    text = premium_replay.report_markdown(res)
    assert "DISAGREE" in text and "creation_burned chain" in text


def test_the_report_names_the_verdict(replayed):
    text = premium_replay.report_markdown(replayed)
    assert "agree to the wei" in text and "| creation burned |" in text


def test_day_flows_price_is_the_models_monthly_price_in_club(params):
    """Unconstrained by market depth, a subscriber's CLUB per period is the USD price per day times
    the period's days over the CLUB price."""
    from clubchat.sim import engine, scenarios

    p = scenarios.get("baseline").params(params)
    path = engine.simulate(p, runs=1, days=2, seed=0, record_every=1)
    days = params.premium.period_seconds / 86400
    flows = premium_replay.day_flows(p, path, 0, 1, days)
    expected = p.premium_usd_month / 30.0 * days / float(path["price_usd"][1, 0]) * 1e18
    assert flows.price_wei == pytest.approx(expected, rel=1e-9)


def test_mirror_rounds_the_burn_down_keeps_a_wei_and_stacks_ends():
    mirror = premium_replay.PremiumMirror(burn_bps=3333, period_seconds=100)
    assert mirror.subscribe("a", 1, 2, 7, now=1000) == (14, 1200)  # burn 14 * 3333 // 10000 = 4
    assert mirror.settle() == (3, 9)  # one wei of each share stays set aside
    assert mirror.subscribe("a", 1, 1, 7, now=1050) == (7, 1300)  # stacks on the running end
    assert mirror.subscribe("a", 2, 1, 7, now=1050) == (7, 1150)  # another tier runs on its own
    assert mirror.settle() == (4, 10)  # 2 + 2 burnt, 5 + 5 to nodes
    assert mirror.settle() == (0, 0)


def test_cli_premium_loop_writes_the_days_and_prints_the_verdict(tmp_path):
    from click.testing import CliRunner

    from clubchat.cli import main

    args = ["sim", "premium-loop", "baseline", "--days", "1", "--renewals", "2", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "agree to the wei" in result.output
    rows = (tmp_path / "baseline-premium-loop.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[0].startswith("day,price_wei,revenue_chain")
