"""AdMarket pause, resume, cancel and refund: who may, when, and what the advertiser gets back."""

from __future__ import annotations

import boa
import pytest

from tests.utils.ads import DAY, WAD, CampaignSpec, create, events, now, signed
from tests.utils.signing import named_signer


@pytest.fixture
def campaign(market, funded) -> int:
    return create(market, funded, CampaignSpec(budget=100 * WAD, price=WAD))


def _close(market, cid):
    """Travel to the first second after the settlement window."""
    c = market.campaign(cid)
    boa.env.time_travel(seconds=c.end + c.grace + 1 - now())


def test_pause_and_resume(market, funded, campaign):
    with boa.env.prank(funded):
        market.pause(campaign)
        assert [e.campaign for e in events(market, "CampaignPaused")] == [campaign]
        assert market.campaign(campaign).paused
        market.resume(campaign)
        assert [e.campaign for e in events(market, "CampaignResumed")] == [campaign]
    assert not market.campaign(campaign).paused


@pytest.mark.parametrize("fn", ["pause", "resume", "cancel"])
def test_only_the_advertiser(market, campaign, non_admin, fn):
    with boa.env.prank(non_admin), boa.reverts("ads: not the advertiser"):
        getattr(market, fn)(campaign)


@pytest.mark.parametrize("fn", ["pause", "resume", "cancel", "refund"])
def test_unknown_campaign(market, funded, fn):
    with boa.env.prank(funded), boa.reverts("ads: unknown campaign"):
        getattr(market, fn)(42)


def test_pause_twice(market, funded, campaign):
    with boa.env.prank(funded):
        market.pause(campaign)
        with boa.reverts("ads: already paused"):
            market.pause(campaign)


def test_resume_when_running(market, funded, campaign):
    with boa.env.prank(funded), boa.reverts("ads: not paused"):
        market.resume(campaign)


@pytest.mark.parametrize("fn", ["pause", "resume", "cancel"])
def test_not_after_the_end(market, funded, campaign, fn):
    boa.env.time_travel(seconds=7 * DAY)
    with boa.env.prank(funded), boa.reverts("ads: campaign ended"):
        getattr(market, fn)(campaign)


@pytest.mark.parametrize("fn", ["pause", "resume", "cancel"])
def test_not_after_cancel(market, funded, campaign, fn):
    with boa.env.prank(funded):
        market.cancel(campaign)
        with boa.reverts("ads: cancelled"):
            getattr(market, fn)(campaign)


def test_cancel_moves_the_end(market, funded, campaign):
    boa.env.time_travel(seconds=DAY)
    with boa.env.prank(funded):
        market.cancel(campaign)
    (event,) = events(market, "CampaignCancelled")
    assert (event.campaign, event.at) == (campaign, now())
    c = market.campaign(campaign)
    assert c.cancelled and c.end == now() and not c.refunded


def test_refund_after_end_plus_grace(market, token, funded, node, campaign):
    viewer = named_signer("ads-refund-viewer")
    with boa.env.prank(node):
        market.settle(node, [signed(market, viewer, campaign, node, 30)])
    before = token.balanceOf(funded)
    _close(market, campaign)
    with boa.env.prank(funded):
        assert market.refund(campaign) == 70 * WAD
    (event,) = events(market, "CampaignRefunded")
    assert (event.campaign, event.amount) == (campaign, 70 * WAD)
    assert token.balanceOf(funded) == before + 70 * WAD
    assert market.campaign(campaign).refunded


def test_refund_before_the_grace_ends(market, funded, campaign):
    c = market.campaign(campaign)
    boa.env.time_travel(seconds=c.end + c.grace - now())
    with boa.env.prank(funded), boa.reverts("ads: settlement still open"):
        market.refund(campaign)


def test_refund_during_the_campaign(market, funded, campaign):
    with boa.env.prank(funded), boa.reverts("ads: settlement still open"):
        market.refund(campaign)


def test_refund_after_cancel_waits_for_the_grace(market, token, funded, campaign):
    with boa.env.prank(funded):
        market.cancel(campaign)
    grace = market.campaign(campaign).grace
    boa.env.time_travel(seconds=grace)
    with boa.env.prank(funded), boa.reverts("ads: settlement still open"):
        market.refund(campaign)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(funded):
        assert market.refund(campaign) == 100 * WAD


def test_refund_twice(market, funded, campaign):
    _close(market, campaign)
    with boa.env.prank(funded):
        market.refund(campaign)
        with boa.reverts("ads: already refunded"):
            market.refund(campaign)


def test_refund_by_someone_else(market, campaign, non_admin):
    _close(market, campaign)
    with boa.env.prank(non_admin), boa.reverts("ads: not the advertiser"):
        market.refund(campaign)


def test_fully_spent_campaign_refunds_nothing(market, token, funded, node):

    cid = create(market, funded, CampaignSpec(budget=3 * WAD, price=WAD))
    with boa.env.prank(node):
        market.settle(node, [signed(market, named_signer("ads-spender"), cid, node, 3)])
    _close(market, cid)
    before = token.balanceOf(funded)
    with boa.env.prank(funded):
        assert market.refund(cid) == 0
    assert token.balanceOf(funded) == before and market.campaign(cid).refunded


def test_grace_is_fixed_at_creation(market, funded, governance, params):
    a = params.ads
    cid = create(market, funded)
    with boa.env.prank(governance):
        market.set_parameters(a.split_bps, 3_600, a.request_burn_bps, a.request_timeout_seconds)
    assert market.campaign(cid).grace == a.settlement_grace_seconds
    assert market.campaign(create(market, funded)).grace == 3_600
