"""is_qualified_member: a member now and, in a TOKEN_GATE community, still meeting the gate now.

`join_with_token` checks the gate once; this view (what AdMarket pays on) checks it again, so a
balance moved on after the join no longer qualifies the account it left.
"""

from __future__ import annotations

import boa

from tests.unit.communities.conftest import set_policy
from tests.utils.communities import ALLOWLIST, TOKEN_GATE, WAD, fund

ZERO = "0x0000000000000000000000000000000000000000"


def test_open_community_follows_membership(communities, community, member, moderator):
    assert not communities.is_qualified_member(community, member)
    with boa.env.prank(member):
        communities.join(community)
    assert communities.is_qualified_member(community, member)
    with boa.env.prank(moderator):
        communities.ban(community, member)
    assert not communities.is_qualified_member(community, member)


def test_expired_member_does_not_qualify(communities, community, funded_owner, member):
    set_policy(communities, funded_owner, community, ALLOWLIST, seconds=3_600)
    with boa.env.prank(funded_owner):
        communities.add_members(community, [member])
    assert communities.is_qualified_member(community, member)
    boa.env.time_travel(seconds=3_600)
    assert not communities.is_member(community, member)
    assert not communities.is_qualified_member(community, member)


def test_balance_gate_is_checked_again(
    communities, community, funded_owner, token, governance, member, outsider
):
    set_policy(communities, funded_owner, community, TOKEN_GATE)
    with boa.env.prank(funded_owner):
        communities.set_token_gate(community, 500 * WAD, ZERO, 0, 0)
    fund(token, governance, member, 500 * WAD)
    with boa.env.prank(member):
        communities.join_with_token(community)
    assert communities.is_qualified_member(community, member)
    with boa.env.prank(member):
        token.transfer(outsider, 1)  # one wei below the gate
    assert communities.is_member(community, member)
    assert not communities.is_qualified_member(community, member)
    # the balance it passed on does not make the outsider a member
    assert communities.qualifies(community, outsider) is False
    with boa.env.prank(outsider):
        token.transfer(member, 1)
    assert communities.is_qualified_member(community, member)


def test_staff_added_member_of_a_gated_community_needs_the_gate(
    communities, community, funded_owner, token, governance, member
):
    set_policy(communities, funded_owner, community, TOKEN_GATE)
    with boa.env.prank(funded_owner):
        communities.set_token_gate(community, 500 * WAD, ZERO, 0, 0)
        communities.add_members(community, [member])
    assert communities.is_member(community, member)
    assert not communities.is_qualified_member(community, member)
    fund(token, governance, member, 500 * WAD)
    assert communities.is_qualified_member(community, member)


def test_policy_change_away_from_the_gate(communities, community, funded_owner, member):
    set_policy(communities, funded_owner, community, TOKEN_GATE)
    with boa.env.prank(funded_owner):
        communities.set_token_gate(community, 500 * WAD, ZERO, 0, 0)
        communities.add_members(community, [member])
    assert not communities.is_qualified_member(community, member)
    set_policy(communities, funded_owner, community, ALLOWLIST)
    assert communities.is_qualified_member(community, member)


def test_tier_gate_ends_with_the_tier(
    communities, community, funded_owner, token, governance, premium, member, outsider
):
    set_policy(communities, funded_owner, community, TOKEN_GATE)
    with boa.env.prank(funded_owner):
        communities.set_token_gate(community, 0, ZERO, 0, 1)
    fund(token, governance, outsider, 1000 * WAD, premium)
    with boa.env.prank(outsider):
        premium.subscribe(member, 1, 1)
    with boa.env.prank(member):
        communities.join_with_token(community)
    assert communities.is_qualified_member(community, member)
    boa.env.time_travel(seconds=premium.period_seconds() + 1)
    assert communities.is_member(community, member)
    assert not communities.is_qualified_member(community, member)


def test_unknown_community(communities, member):
    assert not communities.is_qualified_member(10**9, member)
