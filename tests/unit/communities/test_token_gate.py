"""TOKEN_GATE: qualify by CLUB balance, by stake delegated to a node, or by premium tier; evict."""

from __future__ import annotations

import boa

from tests.unit.communities.conftest import set_policy
from tests.utils.communities import TOKEN_GATE, UNQUALIFIED, WAD, events, fund
from tests.utils.registry import RELAY, register_node

ZERO = "0x0000000000000000000000000000000000000000"


def _gate(communities, owner, cid, min_balance=0, node=ZERO, min_stake=0, min_tier=0):
    set_policy(communities, owner, cid, TOKEN_GATE)
    with boa.env.prank(owner):
        communities.set_token_gate(cid, min_balance, node, min_stake, min_tier)


def test_balance_gate_join_and_evict(
    communities, community, funded_owner, token, governance, member, outsider
):
    _gate(communities, funded_owner, community, min_balance=500 * WAD)
    assert events(communities, "TokenGateChanged") == [
        {"community_id": community, "min_balance": 500 * WAD, "node": ZERO, "min_stake": 0, "min_tier": 0}
    ]
    with boa.env.prank(member), boa.reverts("communities: does not qualify"):
        communities.join_with_token(community)
    fund(token, governance, member, 500 * WAD)
    assert communities.qualifies(community, member)
    with boa.env.prank(member):
        communities.join_with_token(community)
    assert communities.is_member(community, member)
    with boa.env.prank(outsider), boa.reverts("communities: still qualifies"):
        communities.evict(community, member)
    with boa.env.prank(member):
        token.transfer(outsider, 1)
    with boa.env.prank(outsider):
        communities.evict(community, member)  # anyone may
    assert events(communities, "MemberRemoved") == [
        {"community_id": community, "account": member, "reason": UNQUALIFIED}
    ]
    assert not communities.is_member(community, member) and communities.expiry_of(community, member) == 0
    with boa.env.prank(outsider), boa.reverts("communities: not a member"):
        communities.evict(community, member)


def test_stake_gate(
    directory, communities, community, funded_owner, token, governance, registry, params, member, outsider
):
    operator = str(boa.env.generate_address("gate-operator"))
    minimum = params.registry.min_self_stake_per_kind_wei
    fund(token, governance, operator, minimum, registry)
    register_node(registry, operator, str(boa.env.generate_address("gate-key")), kinds=RELAY, amount=minimum)
    _gate(communities, funded_owner, community, node=operator, min_stake=1000 * WAD)
    fund(token, governance, member, 1000 * WAD, registry)
    assert not communities.qualifies(community, member)
    with boa.env.prank(member):
        registry.delegate(operator, 1000 * WAD)
    with boa.env.prank(member):
        communities.join_with_token(community)
    assert communities.is_member(community, member)
    with boa.env.prank(member):
        registry.unbond(operator, directory.shares(operator, member))
    with boa.env.prank(outsider):
        communities.evict(community, member)
    assert not communities.is_member(community, member)


def test_tier_gate(communities, community, funded_owner, token, governance, premium, member, outsider):
    _gate(communities, funded_owner, community, min_tier=1)
    with boa.env.prank(member), boa.reverts("communities: does not qualify"):
        communities.join_with_token(community)
    fund(token, governance, outsider, 1000 * WAD, premium)
    with boa.env.prank(outsider):
        premium.subscribe(member, 1, 1)  # a gift
    with boa.env.prank(member):
        communities.join_with_token(community)
    boa.env.time_travel(seconds=premium.period_seconds() + 1)
    with boa.env.prank(outsider):
        communities.evict(community, member)
    assert not communities.is_member(community, member)


def test_set_token_gate_checks(communities, community, moderator, funded_owner):
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.set_token_gate(community, 1, ZERO, 0, 0)
    with boa.env.prank(funded_owner), boa.reverts("communities: stake gate needs a node"):
        communities.set_token_gate(community, 0, ZERO, 1, 0)


def test_an_unset_gate_admits_nobody(communities, community, funded_owner, member):
    set_policy(communities, funded_owner, community, TOKEN_GATE)
    with boa.env.prank(member), boa.reverts("communities: does not qualify"):
        communities.join_with_token(community)
