"""Contracts in the loop for Premium and community creation: the model's premium flows as
subscriptions at the deployed tiers' CLUB prices and its community creations' fees burnt, to the wei.

Three days of the baseline's run 1: four one-period subscriptions a day (three on the first paid
tier and one on the second, the model's tier mix; two gifts), two cohorts of subscribers so the
third day's renewals stack on the first day's, and the communities the model creates each day
(about 200 on launch day, then a few a day), on the protocol the deploy plan builds. Tolerances
(clubchat.sim.premium_replay): the exact integer mirror to the wei, the float model within a
relative 1e-9.
"""

from __future__ import annotations

import math

import pytest

from clubchat.params import BPS, WAD
from clubchat.sim import engine, premium, premium_replay, scenarios
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


@pytest.fixture(scope="module")
def baseline_path(params):
    p = scenarios.get("baseline").params(params)
    return p, engine.simulate(p, runs=1, days=DAYS, seed=0, scenario="baseline", record_every=1)


def test_model_and_contracts_agree_to_the_wei(replayed, params, baseline_path):
    assert replayed.mismatches() == []
    assert replayed.burn_bps == params.premium.burn_bps
    prices = [t.price_wei for t in params.premium.tiers[1:]]
    assert replayed.tier_prices_wei == tuple(prices)  # the model prices premium at the contract's tiers
    assert replayed.panel == (3, 1)
    _, path = baseline_path
    created = path["communities_created"][:, 0]
    assert len(replayed.rows) == DAYS
    for row in replayed.rows:  # Python ints
        # the chain really moved: the day's payments at the tiers' prices, split and burnt
        assert row["revenue_chain"] == 3 * prices[0] + prices[1]
        first = row["day"] == 1  # Premium's settle keeps one wei of each share set aside
        burns = 3 * (prices[0] * params.premium.burn_bps // BPS) + prices[1] * params.premium.burn_bps // BPS
        assert row["burned_chain"] == burns - first
        assert row["burned_chain"] + row["node_share_chain"] == row["revenue_chain"] - 2 * first
        # the communities the model created that day, each burning the deployed fee
        day = row["day"]
        assert row["creations"] == math.floor(created[day]) - math.floor(created[day - 1])
        assert row["creation_burned_chain"] == row["creations"] * params.communities.creation_fee_wei
        assert row["supply_change_chain"] == -(row["burned_chain"] + row["creation_burned_chain"])
    # launch day creates the launch's communities (DAU x communities per user), later days a few
    assert replayed.rows[0]["creations"] >= 150
    assert all(r["creations"] < 20 for r in replayed.rows[1:])
    # day 3's subscribers are day 1's: their new ends stack one period on the old ones
    ends = [r["expires_chain"] for r in replayed.rows]
    assert ends[2] == ends[0] + RENEWALS * params.premium.period_seconds


def test_a_perturbed_burn_share_and_fee_in_the_model_are_reported(params):
    """The model burning 40 % of premium (the contract: parameters.yaml's share) and charging a
    creation fee of one CLUB more than the deployed one disagrees, and says where."""
    fee = params.communities.creation_fee_wei / WAD
    res = _replay(params, model_overrides={"premium_burn_share": 0.4, "community_creation_fee": fee + 1})
    bad = res.mismatches()
    assert res.burn_bps == 4000 and res.creation_fee_wei == params.communities.creation_fee_wei + WAD
    for key in ("burned", "node_share", "supply_change", "creation_burned"):
        assert any(line.startswith(f"day 1: {key} chain") and "exact mirror" in line for line in bad), key
    for key in ("burned", "creation_burned"):
        assert any(f"{key} chain" in line and "vs model" in line for line in bad), key
    # what was paid and when subscriptions end do not depend on the split or the fee
    assert not any("revenue chain" in line or "expires chain" in line for line in bad)
    text = premium_replay.report_markdown(res)
    assert "DISAGREE" in text and "creation_burned chain" in text


def test_a_model_pricing_premium_off_the_contracts_tiers_is_reported(params):
    """A model that priced the first tier at 60 CLUB (about what USD pricing gave) disagrees on revenue."""
    res = _replay(params, model_overrides={"premium_tier_prices": (60.0, 200.0)})
    bad = res.mismatches()
    assert any(line.startswith("day 1: revenue chain") and "exact mirror" in line for line in bad)
    assert any("revenue chain" in line and "vs model" in line for line in bad)
    assert not any("creation_burned" in line or "expires chain" in line for line in bad)


def test_the_report_names_the_verdict(replayed):
    text = premium_replay.report_markdown(replayed)
    assert "agree to the wei" in text and "| creation burned |" in text
    assert "50 / 200 CLUB a period" in text and "3 / 1 on the paid tiers" in text


def test_day_flows_are_the_models_subscribers_at_the_tiers_prices(params, baseline_path):
    """The model's premium CLUB is what its paying subscribers owe at the tiers' prices (implied
    price factor 1), and unconstrained by market depth they are users x uptake at the CLUB price."""
    p, path = baseline_path
    flows = premium_replay.day_flows(p, path, 0, 1)
    assert flows.implied == pytest.approx(1.0, rel=1e-12)
    tiers, period_days = params.premium.tiers[1:], params.premium.period_seconds / 86400
    per_day = sum(m * t.price_wei / WAD for m, t in zip(p.premium_tier_mix, tiers, strict=True)) / period_days
    assert flows.paid_club == pytest.approx(flows.subscribers * per_day, rel=1e-12)
    users, price = float(path["users"][1, 0]), float(path["price_usd"][1, 0])
    assert flows.subscribers == pytest.approx(users * premium.uptake(p, price), rel=1e-12)
    fee = params.communities.creation_fee_wei / WAD
    assert flows.creation_burned_club == pytest.approx(flows.created * fee, rel=1e-12)


@pytest.mark.parametrize(
    ("mix", "renewals", "expected"),
    [((0.8, 0.2), 4, (3, 1)), ((0.8, 0.2), 1, (1, 0)), ((0.5, 0.5), 3, (2, 1)), ((0.0, 1.0), 2, (0, 2))],
)
def test_panel_splits_payments_by_largest_remainder(params, mix, renewals, expected):
    p = scenarios.get("baseline").params(params).replace(premium_tier_mix=mix)
    assert premium_replay.panel(p, renewals) == expected
    assert sum(expected) == renewals


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
    assert len(rows) == 2 and rows[0].startswith("day,subscribers_model,revenue_chain")
