"""AdMarket withdraw, burn and set_community_payout."""

from __future__ import annotations

import boa
import pytest
from conftest import CLUB_A

from tests.utils.ads import WAD, CampaignSpec, create, events, signed


@pytest.fixture
def earned(market, funded, node, members, viewer) -> int:
    """`viewer` watched 10 views of a campaign targeting CLUB_A (10 CLUB spent)."""
    cid = create(market, funded, CampaignSpec(targets=(CLUB_A,)))
    with boa.env.prank(node):
        market.settle(node, [signed(market, viewer, cid, node, 10)])
    return cid


def test_withdraw_pays_once(market, token, earned, viewer):
    with boa.env.prank(viewer.address):
        assert market.withdraw() == 5 * WAD
        (event,) = events(market, "Withdrawn")
        assert (event.account, event.amount) == (viewer.address, 5 * WAD)
        assert token.balanceOf(viewer.address) == 5 * WAD
        assert market.balances(viewer.address) == 0
        with boa.reverts("ads: nothing to withdraw"):
            market.withdraw()


def test_node_operator_withdraws(market, token, earned, node):
    before = token.balanceOf(node)
    with boa.env.prank(node):
        assert market.withdraw() == 2 * WAD
    assert token.balanceOf(node) == before + 2 * WAD


def test_withdraw_with_nothing(market, non_admin):
    with boa.env.prank(non_admin), boa.reverts("ads: nothing to withdraw"):
        market.withdraw()


def test_burn_burns_what_is_owed(market, token, earned, non_admin):
    supply = token.totalSupply()
    with boa.env.prank(non_admin):
        assert market.burn() == WAD
        (event,) = events(market, "Burned")
        assert (event.caller, event.amount) == (non_admin, WAD)
        assert market.burn_pending() == 0
        assert token.totalSupply() == supply - WAD
        with boa.reverts("ads: nothing to burn"):
            market.burn()


def test_payout_only_by_the_community_owner(market, earned, non_admin):
    with boa.env.prank(non_admin), boa.reverts("ads: not the community owner"):
        market.set_community_payout(CLUB_A, non_admin)


def test_payout_of_an_unowned_community(market, non_admin):
    # owner_of(unknown) is the zero address, which nobody can send from.
    with boa.env.prank(non_admin), boa.reverts("ads: not the community owner"):
        market.set_community_payout(12345, non_admin)


def test_zero_payout(market, earned, community_owner):
    with boa.env.prank(community_owner), boa.reverts("ads: zero payout"):
        market.set_community_payout(CLUB_A, "0x" + "00" * 20)


def test_payout_change_moves_nothing_twice(market, token, earned, community_owner):
    first, second = (str(boa.env.generate_address(n)) for n in ("payout_1", "payout_2"))
    with boa.env.prank(community_owner):
        market.set_community_payout(CLUB_A, first)
        market.set_community_payout(CLUB_A, second)
        (event,) = events(market, "CommunityPayoutSet")
        assert event.moved == 0
    assert market.balances(first) == 2 * WAD and market.balances(second) == 0
    assert market.community_payout(CLUB_A) == second
    with boa.env.prank(first):
        market.withdraw()
    assert token.balanceOf(first) == 2 * WAD
