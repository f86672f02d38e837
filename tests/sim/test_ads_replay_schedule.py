"""The ads replay beyond one targeted campaign a day settled by one node: two NOTIFY nodes share the
panel, and the days bring an untargeted campaign (community share burned), a campaign paused and
resumed around its first settlement (settlement goes on), and one cancelled after its first view
(the receipts up to the cancel settle, the rest of the budget comes back after the grace). Chain
and the exact mirror agree to the wei; the float model within a relative 1e-9.
"""

from __future__ import annotations

import pytest

from clubchat.params import BPS
from clubchat.sim import ads_replay
from tests.utils.deployer import deploy_all

USERS = 5  # node 0 serves users 0, 2, 4; node 1 users 1, 3


@pytest.fixture(scope="module")
def replayed(params):
    import boa

    with boa.env.anchor():
        return ads_replay.replay_ads(
            "baseline", days=4, users=USERS, batch=2, nodes=2, untargeted_days=(2,), paused_days=(3,),
            cancel_days=(4,), params=params, deploy=deploy_all,
        )  # fmt: skip


def test_every_variant_agrees_to_the_wei(replayed):
    assert replayed.mismatches() == []
    normal, untargeted, paused, cancelled = replayed.rows
    for row in replayed.rows:
        assert row["skipped_chain"] == 0
        parts = ("user_share_chain", "node_share_chain", "community_share_chain", "burned_chain")
        assert sum(row[k] for k in parts) == row["spent_chain"] == row["settled_chain"]
    assert normal["targeted"] and normal["spent_chain"] == USERS * 3 * normal["price_wei"]
    assert normal["community_share_chain"] > 0
    # untargeted: nobody qualified the users, so the community share is burned
    assert not untargeted["targeted"] and untargeted["community_share_chain"] == 0
    assert (
        untargeted["burned_chain"]
        == untargeted["spent_chain"] - untargeted["user_share_chain"] - (untargeted["node_share_chain"])
    )
    # paused: the first settlement (2 views a user) went through while the campaign was paused
    assert paused["paused"] and paused["settled_while_paused"] == USERS * 2 * paused["price_wei"]
    assert paused["spent_chain"] == USERS * 3 * paused["price_wei"]
    # cancelled after the first view: that view settles, the rest of the budget is refunded
    assert cancelled["cancelled"] and cancelled["delivered"] == 1
    assert cancelled["spent_chain"] == USERS * 1 * cancelled["price_wei"]
    assert cancelled["refunded_chain"] == USERS * 3 * cancelled["price_wei"]  # 4 wanted, 1 shown


def test_both_nodes_were_paid_their_users_share(replayed, params):
    """Node shares are rounded per receipt: the chain's total is the sum over both nodes' receipts."""
    node_bps = params.ads.split_bps[1]
    row = replayed.rows[0]
    per_receipt = [2 * row["price_wei"] * node_bps // BPS, 1 * row["price_wei"] * node_bps // BPS]
    assert row["node_share_chain"] == USERS * sum(per_receipt)


def test_the_report_names_the_variants(replayed):
    text = ads_replay.report_markdown(replayed)
    assert "1 untargeted, 1 paused and resumed, 1 cancelled after half its views" in text
    assert "settled by 2 NOTIFY nodes" in text and "agree to the wei" in text


def test_a_day_cannot_be_both_paused_and_cancelled(params):
    with pytest.raises(ValueError, match="paused or cancelled"):
        ads_replay.replay_ads(days=1, paused_days=(1,), cancel_days=(1,), params=params, deploy=deploy_all)
