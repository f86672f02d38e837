"""AdMarket.create_campaign: escrow, stored fields, event, and every bad input."""

from __future__ import annotations

import boa
import pytest

from tests.utils.ads import CREATIVE, DAY, WAD, CampaignSpec, create, events, now


def test_create_escrows_budget_and_stores_the_campaign(market, token, funded):
    before = token.balanceOf(funded)
    spec = CampaignSpec(
        budget=500 * WAD, price=2 * WAD, per_user_cap=5, targets=(7, 8), min_tier=2, min_stake=3 * WAD
    )
    args = spec.args()
    cid = create(market, funded, spec)
    (event,) = events(market, "CampaignCreated")
    assert cid == 1 and market.campaign_count() == 1
    assert token.balanceOf(funded) == before - 500 * WAD
    assert token.balanceOf(market.address) == 500 * WAD
    c = market.campaign(cid)
    assert c.advertiser == funded
    assert (c.budget, c.spent, c.price, c.per_user_cap) == (500 * WAD, 0, 2 * WAD, 5)
    assert (c.start, c.end) == (args[3], args[4])
    assert c.grace == market.settlement_grace_seconds()
    assert (c.min_tier, c.min_stake) == (2, 3 * WAD)
    assert not (c.paused or c.cancelled or c.refunded)
    assert market.targets(cid) == [7, 8]
    assert (event.campaign, event.advertiser, event.budget, event.price) == (1, funded, 500 * WAD, 2 * WAD)
    assert event.creative_hash == CREATIVE and event.creative_uri == "ipfs://creative"
    assert list(event.targets) == [7, 8]


def test_ids_count_up(market, funded):
    assert [create(market, funded) for _ in range(3)] == [1, 2, 3]


def test_start_in_the_past_is_allowed(market, funded):
    cid = create(market, funded, CampaignSpec(start_in=-DAY, duration=2 * DAY))
    assert market.campaign(cid).start == now() - DAY


def test_sixteen_targets_fit(market, funded):
    cid = create(market, funded, CampaignSpec(targets=tuple(range(1, 17))))
    assert market.targets(cid) == list(range(1, 17))


def test_seventeen_targets_do_not(market, funded):
    with (
        boa.env.prank(funded),
        pytest.raises(boa.BoaError),
    ):  # the ABI decoder bounds the array; it reverts without a reason
        market.create_campaign(*CampaignSpec(targets=tuple(range(17))).args())


def _args_with(index: int, value):
    args = list(CampaignSpec().args())
    args[index] = value
    return args


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [
        (1, 0, "ads: zero price"),
        (0, WAD - 1, "ads: budget below one view"),
        (0, 2**96, "ads: amount too large"),
        (9, 2**96, "ads: amount too large"),
        (2, 0, "ads: bad per-user cap"),
        (2, 2**48, "ads: bad per-user cap"),
        (5, b"\x00" * 32, "ads: empty creative hash"),
        (8, 65_536, "ads: tier too large"),
    ],
)
def test_bad_inputs(market, funded, index, value, reason):
    with boa.env.prank(funded), boa.reverts(reason):
        market.create_campaign(*_args_with(index, value))


def test_zero_community_id(market, funded):
    with boa.env.prank(funded), boa.reverts("ads: zero community id"):
        market.create_campaign(*CampaignSpec(targets=(3, 0)).args())


def test_end_not_after_start(market, funded):
    t = now()
    with boa.env.prank(funded), boa.reverts("ads: bad window"):
        market.create_campaign(WAD, WAD, 1, t + 10, t + 10, CREATIVE, "", [], 0, 0)


def test_end_in_the_past(market, funded):
    t = now()
    with boa.env.prank(funded), boa.reverts("ads: bad window"):
        market.create_campaign(WAD, WAD, 1, t - 10, t, CREATIVE, "", [], 0, 0)


def test_longer_than_a_year(market, funded):
    t = now()
    with boa.env.prank(funded), boa.reverts("ads: campaign too long"):
        market.create_campaign(WAD, WAD, 1, t, t + 365 * DAY + 1, CREATIVE, "", [], 0, 0)
    with boa.env.prank(funded):
        market.create_campaign(WAD, WAD, 1, t, t + 365 * DAY, CREATIVE, "", [], 0, 0)


def test_end_beyond_40_bits(market, funded):
    start = 2**40 - 10
    with boa.env.prank(funded), boa.reverts("ads: campaign too long"):
        market.create_campaign(WAD, WAD, 1, start, 2**40, CREATIVE, "", [], 0, 0)


def test_without_allowance(market, token, governance, non_admin):
    with boa.env.prank(governance):
        token.transfer(non_admin, 10 * WAD)
    with boa.env.prank(non_admin), boa.reverts("erc20: insufficient allowance"):
        market.create_campaign(*CampaignSpec(budget=10 * WAD).args())
