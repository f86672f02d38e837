"""Communities.create, set_creation_fee and the two-step ownership transfer."""

from __future__ import annotations

import boa

from tests.unit.communities.conftest import create
from tests.utils.communities import INVITE, MERKLE, OPEN, WAD, events, fund

ROLE_MISSING = "access_control: account is missing role"


def test_create_burns_the_fee_and_records_the_community(communities, token, funded_owner, params):
    fee = params.communities.creation_fee_wei
    assert communities.creation_fee() == fee > 0
    supply, balance = token.totalSupply(), token.balanceOf(funded_owner)
    with boa.env.prank(funded_owner):
        cid = communities.create(funded_owner, MERKLE, 3600, True)
    ev = events(communities, "CommunityCreated")
    assert cid == 1 == communities.community_count()
    assert token.totalSupply() == supply - fee and token.balanceOf(funded_owner) == balance - fee
    assert communities.owner_of(cid) == funded_owner
    assert communities.policy_of(cid) == MERKLE
    assert communities.membership_seconds_of(cid) == 3600 and communities.fail_open(cid)
    assert communities.expiry_of(cid, funded_owner) == 0  # the owner is staff, not a member
    assert ev == [
        {
            "community_id": 1,
            "owner": funded_owner,
            "creator": funded_owner,
            "policy": MERKLE,
            "membership_seconds": 3600,
            "fail_open": True,
            "fee": fee,
        }
    ]
    assert create(communities, funded_owner) == 2


def test_create_for_another_owner(communities, funded_owner, outsider):
    cid = create(communities, funded_owner, owner=outsider)
    assert communities.owner_of(cid) == outsider


def test_fee_not_paid_reverts(communities, token, governance, outsider):
    with boa.env.prank(outsider), boa.reverts("erc20: insufficient allowance"):
        communities.create(outsider, OPEN, 0, False)
    fund(token, governance, outsider, 10 * WAD, communities)  # approved, but below the 100 CLUB fee
    with boa.env.prank(outsider), boa.reverts("erc20: burn amount exceeds balance"):
        communities.create(outsider, OPEN, 0, False)
    assert communities.community_count() == 0


def test_bad_settings_revert(communities, funded_owner):
    with boa.env.prank(funded_owner):
        with boa.reverts("communities: zero owner"):
            communities.create("0x0000000000000000000000000000000000000000", OPEN, 0, False)
        for policy in (0, INVITE + 1):
            with boa.reverts("communities: unknown policy"):
                communities.create(funded_owner, policy, 0, False)
        with boa.reverts("communities: membership too long"):
            communities.create(funded_owner, OPEN, 100 * 365 * 86400 + 1, False)


def test_governance_sets_the_fee(communities, token, governance, outsider, non_admin):
    with boa.env.prank(non_admin), boa.reverts(ROLE_MISSING):
        communities.set_creation_fee(0)
    with boa.env.prank(governance), boa.reverts("communities: fee too high"):
        communities.set_creation_fee(10**6 * WAD + 1)
    old = communities.creation_fee()
    with boa.env.prank(governance):
        communities.set_creation_fee(0)
    assert events(communities, "CreationFeeChanged") == [{"old_fee": old, "new_fee": 0}]
    supply = token.totalSupply()
    cid = create(communities, outsider)  # no approval needed at fee 0
    assert communities.owner_of(cid) == outsider and token.totalSupply() == supply


def test_two_step_ownership(communities, community, funded_owner, outsider, non_admin):
    with boa.env.prank(non_admin), boa.reverts("communities: not the owner"):
        communities.transfer_ownership(community, non_admin)
    with boa.env.prank(funded_owner):
        communities.transfer_ownership(community, outsider)
    assert events(communities, "OwnershipTransferStarted") == [
        {"community_id": community, "previous_owner": funded_owner, "new_owner": outsider}
    ]
    assert communities.owner_of(community) == funded_owner  # not yet
    with boa.env.prank(non_admin), boa.reverts("communities: not the pending owner"):
        communities.accept_ownership(community)
    with boa.env.prank(outsider):
        communities.accept_ownership(community)
    assert events(communities, "OwnershipTransferred") == [
        {"community_id": community, "previous_owner": funded_owner, "new_owner": outsider}
    ]
    assert communities.owner_of(community) == outsider and communities.pending_owner_of(community) == (
        "0x0000000000000000000000000000000000000000"
    )
    with boa.env.prank(funded_owner), boa.reverts("communities: not the owner"):
        communities.set_admin(community, funded_owner, True)
    # Cancelling: a transfer to zero leaves nobody able to accept.
    with boa.env.prank(outsider):
        communities.transfer_ownership(community, "0x0000000000000000000000000000000000000000")
    with boa.env.prank(funded_owner), boa.reverts("communities: not the pending owner"):
        communities.accept_ownership(community)


def test_contract_wallet_owner_acts_from_its_address(communities, funded_owner, member):
    """An EIP-1271 wallet (a Safe) owns a community by calling from its own address."""
    wallet = boa.load("tests/utils/contracts/MockERC1271Wallet.vy")
    cid = create(communities, funded_owner, owner=str(wallet.address))
    with boa.env.prank(str(wallet.address)):
        communities.set_admin(cid, member, True)
        communities.transfer_ownership(cid, funded_owner)
    assert communities.roles_of(cid, member) == 1
    with boa.env.prank(funded_owner):
        communities.accept_ownership(cid)
    assert communities.owner_of(cid) == funded_owner
