"""Contracts in the loop for the ad market: the model's ad flows as AdMarket campaigns, to the wei.

A few days of the baseline's run 1 for a panel of five users (batches of two receipts, settled
every two views, so cumulative receipts and several batches are exercised) on the protocol the
deploy plan builds. Tolerances (clubchat.sim.ads_replay): the exact integer mirror to the wei,
the float model within a relative 1e-9.
"""

from __future__ import annotations

import pytest

from clubchat.params import BPS
from clubchat.sim import ads_replay
from tests.utils.deployer import deploy_all

DAYS, USERS = 2, 5


def _replay(params, **kw):
    import boa

    with boa.env.anchor():
        return ads_replay.replay_ads(
            "baseline", days=DAYS, users=USERS, batch=2, params=params, deploy=deploy_all, **kw
        )


@pytest.fixture(scope="module")
def replayed(params):
    return _replay(params)


def test_model_and_contracts_agree_to_the_wei(replayed, params):
    assert replayed.mismatches() == []
    assert replayed.split_bps == tuple(params.ads.split_bps)
    assert len(replayed.frame()) == DAYS
    for row in replayed.rows:  # Python ints (a frame's rows are floats, 1 ulp off at 1e17 wei)
        # the chain really moved: every panel user saw the model's views, the split adds up
        assert row["views"] == 3 and row["price_wei"] > 0 and row["skipped_chain"] == 0
        assert row["spent_chain"] == USERS * row["views"] * row["price_wei"] == row["settled_chain"]
        parts = ("user_share_chain", "node_share_chain", "community_share_chain", "burned_chain")
        assert sum(row[k] for k in parts) == row["spent_chain"]
        assert row["user_share_chain"] == row["spent_chain"] * params.ads.split_bps[0] // BPS
        # the advertisers wanted four views a user, the cap let three through: one view a user back
        assert row["refunded_chain"] == USERS * row["price_wei"]


def test_a_model_split_other_than_the_contracts_is_reported(params):
    """The model with 25 % to nodes and 5 % burned (the contract: parameters.yaml's split) disagrees."""
    res = _replay(params, model_overrides={"ads_split_nodes": 0.25, "ads_split_burn": 0.05})
    bad = res.mismatches()
    assert any("node_share chain" in line and "exact mirror" in line for line in bad)
    assert any("node_share chain" in line and "vs model" in line for line in bad)
    assert any("burned chain" in line for line in bad)
    assert not any("spent chain" in line for line in bad)  # what was spent does not depend on the split


def test_day_flows_price_is_the_models_cpm_in_club(params):
    """Unconstrained by market depth, the model's CLUB per notification is cpm / 1000 / price."""
    from clubchat.sim import engine, scenarios

    p = scenarios.get("baseline").params(params)
    path = engine.simulate(p, runs=1, days=2, seed=0, record_every=1)
    flows = ads_replay.day_flows(p, path, 0, 1)
    expected = p.ads_cpm_usd / 1e3 / float(path["price_usd"][1, 0]) * 1e18
    assert flows.price_wei == pytest.approx(expected, rel=1e-9)
    assert (flows.views, flows.wanted) == (3, 4)


def test_the_report_names_the_verdict(replayed, params):
    assert "agree to the wei" in ads_replay.report_markdown(replayed)
    perturbed = _replay(params, model_overrides={"ads_split_users": 0.4, "ads_split_communities": 0.3})
    text = ads_replay.report_markdown(perturbed)
    assert "DISAGREE" in text and "user_share chain" in text and "community_share chain" in text


def test_split_mirror_rounds_each_share_down_and_burns_the_dust():
    """AdMarket's rule: shares round down per receipt, the dust (and an untargeted campaign's
    community share) goes to the burn, the parts sum to the amount."""
    mirror = ads_replay.SplitMirror((5000, 2000, 2000, 1000))
    mirror.settle(7)  # 3, 1, 1 rounded down; burn 0 + 2 dust
    assert mirror.take() == {"spent": 7, "user_share": 3, "node_share": 1, "community_share": 1, "burned": 2}
    mirror.settle(7, targeted=False)
    assert mirror.take() == {"spent": 7, "user_share": 3, "node_share": 1, "community_share": 0, "burned": 3}
