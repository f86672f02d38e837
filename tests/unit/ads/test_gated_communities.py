"""AdMarket with the real Communities contract: a targeted receipt is paid only to a member who
still meets the community's TOKEN_GATE gate at settlement (`Communities.is_qualified_member`).

These tests use the session protocol's AdMarket, Communities, Premium and NodeRegistry as the deploy
plan wires them (the other AdMarket tests use stand-ins). The attack they close: one CLUB balance
passed from account to account joins every account to a balance-gated community, because the gate
is checked at join; at settlement only the account holding the balance is paid now.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.utils.ads import WAD, CampaignSpec, create, give, signed, skipped
from tests.utils.communities import ALLOWLIST, OPEN, TOKEN_GATE, fund
from tests.utils.registry import RELAY, register_node
from tests.utils.signing import named_signer

ZERO = "0x0000000000000000000000000000000000000000"
GATE = 500 * WAD


@pytest.fixture
def real(protocol, governance, advertiser) -> dict[str, Any]:
    """The plan's contracts, the advertiser funded for the real AdMarket."""
    give(protocol["ClubToken"], governance, advertiser, 1_000_000 * WAD, protocol["AdMarket"])
    return {n: protocol[n] for n in ("AdMarket", "Communities", "Premium", "NodeRegistry", "ClubToken")}


@pytest.fixture
def owner(real, governance) -> str:
    who = str(boa.env.generate_address("gated-community-owner"))
    fund(real["ClubToken"], governance, who, 10_000 * WAD, real["Communities"])
    return who


def community(real, owner, policy, gate=(0, ZERO, 0, 0)) -> int:
    c = real["Communities"]
    with boa.env.prank(owner):
        cid = int(c.create(owner, policy, 0, False))
        if policy == TOKEN_GATE:
            c.set_token_gate(cid, *gate)
    return cid


def campaign(real, advertiser, cid) -> int:
    return create(real["AdMarket"], advertiser, CampaignSpec(budget=100 * WAD, price=WAD, targets=(cid,)))


def settle(real, node, items) -> int:
    with boa.env.prank(node):
        return int(real["AdMarket"].settle(node, items))


def test_open_community_member_is_paid_and_outsider_skipped(real, owner, advertiser, node, viewer, viewer2):
    cid = community(real, owner, OPEN)
    with boa.env.prank(viewer.address):
        real["Communities"].join(cid)
    camp = campaign(real, advertiser, cid)
    market = real["AdMarket"]
    assert (
        settle(real, node, [signed(market, viewer, camp, node, 2), signed(market, viewer2, camp, node, 2)])
        == 2 * WAD
    )
    assert skipped(market) == ["ads: not a member"]


def test_allowlist_member_holding_nothing_is_paid(real, owner, advertiser, node, viewer):
    cid = community(real, owner, ALLOWLIST)
    with boa.env.prank(owner):
        real["Communities"].add_members(cid, [viewer.address])
    assert real["ClubToken"].balanceOf(viewer.address) == 0
    camp = campaign(real, advertiser, cid)
    assert settle(real, node, [signed(real["AdMarket"], viewer, camp, node, 3)]) == 3 * WAD


def test_balance_gate_member_who_sold_below_it_is_skipped(real, owner, advertiser, node, governance, viewer):
    token, market = real["ClubToken"], real["AdMarket"]
    cid = community(real, owner, TOKEN_GATE, (GATE, ZERO, 0, 0))
    fund(token, governance, viewer.address, GATE)
    with boa.env.prank(viewer.address):
        real["Communities"].join_with_token(cid)
    camp = campaign(real, advertiser, cid)
    assert settle(real, node, [signed(market, viewer, camp, node, 1)]) == WAD
    with boa.env.prank(viewer.address):
        token.transfer(owner, 1)  # sold one wei below the gate: still a member, no longer qualified
    assert real["Communities"].is_member(cid, viewer.address)
    assert settle(real, node, [signed(market, viewer, camp, node, 2)]) == 0
    assert skipped(market) == ["ads: community gate not met"]
    assert market.settled_total(camp, viewer.address) == 1


def test_one_moved_balance_pays_only_its_holder(real, owner, advertiser, node, governance):
    """The farmer's move: one balance joins three accounts in turn. Settled together, only the
    account holding the balance now is paid; the others are skipped for the gate."""
    token, market = real["ClubToken"], real["AdMarket"]
    cid = community(real, owner, TOKEN_GATE, (GATE, ZERO, 0, 0))
    accounts = [named_signer(f"gate-farm-{i}") for i in range(3)]
    fund(token, governance, accounts[0].address, GATE)
    for a, b in zip(accounts, [*accounts[1:], None], strict=True):
        with boa.env.prank(a.address):
            real["Communities"].join_with_token(cid)
            if b is not None:
                token.transfer(b.address, GATE)
    camp = campaign(real, advertiser, cid)
    assert settle(real, node, [signed(market, a, camp, node, 4) for a in accounts]) == 4 * WAD
    assert skipped(market) == ["ads: community gate not met"] * 2
    assert [market.settled_total(camp, a.address) for a in accounts] == [0, 0, 4]


def test_stake_gate_of_a_token_gated_community(
    directory, real, owner, advertiser, node, governance, params, viewer
):
    token, registry, market = real["ClubToken"], real["NodeRegistry"], real["AdMarket"]
    operator = str(boa.env.generate_address("gate-stake-operator"))
    minimum = params.registry.min_self_stake_per_kind_wei
    fund(token, governance, operator, minimum, registry)
    register_node(
        registry, operator, str(boa.env.generate_address("gate-stake-key")), kinds=RELAY, amount=minimum
    )
    cid = community(real, owner, TOKEN_GATE, (0, operator, 1_000 * WAD, 0))
    fund(token, governance, viewer.address, 1_000 * WAD, registry)
    with boa.env.prank(viewer.address):
        registry.delegate(operator, 1_000 * WAD)
        real["Communities"].join_with_token(cid)
    camp = campaign(real, advertiser, cid)
    assert settle(real, node, [signed(market, viewer, camp, node, 1)]) == WAD
    with boa.env.prank(viewer.address):
        registry.unbond(operator, directory.shares(operator, viewer.address))
    assert settle(real, node, [signed(market, viewer, camp, node, 2)]) == 0
    assert skipped(market) == ["ads: community gate not met"]


def test_tier_gate_of_a_token_gated_community(real, owner, advertiser, node, governance, viewer):
    token, premium, market = real["ClubToken"], real["Premium"], real["AdMarket"]
    cid = community(real, owner, TOKEN_GATE, (0, ZERO, 0, 1))
    fund(token, governance, owner, 1_000 * WAD, premium)
    with boa.env.prank(owner):
        premium.subscribe(viewer.address, 1, 1)
    with boa.env.prank(viewer.address):
        real["Communities"].join_with_token(cid)
    camp = create(
        market, advertiser, CampaignSpec(budget=100 * WAD, price=WAD, targets=(cid,), duration=60 * 86_400)
    )
    assert settle(real, node, [signed(market, viewer, camp, node, 1)]) == WAD
    boa.env.time_travel(seconds=int(premium.period_seconds()) + 1)
    assert settle(real, node, [signed(market, viewer, camp, node, 2)]) == 0
    assert skipped(market) == ["ads: community gate not met"]
