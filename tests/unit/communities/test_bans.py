"""Bans: a banned account is no member and no join path readmits it until unbanned."""

from __future__ import annotations

import boa

from clubchat.chain.eip712 import Domain
from clubchat.communities import Invite, merkle
from tests.unit.communities.conftest import set_policy
from tests.utils.communities import INVITE, MERKLE, NEVER, OPEN, TOKEN_GATE, WAD, events, fund, now

ZERO = "0x0000000000000000000000000000000000000000"


def test_ban_cuts_the_member_off(communities, community, moderator, member, outsider):
    with boa.env.prank(member):
        communities.join(community)
    with boa.env.prank(moderator):
        communities.ban(community, member)
    assert events(communities, "Banned") == [{"community_id": community, "account": member, "by": moderator}]
    assert len(communities.get_logs()) == 1  # one event per member change
    assert not communities.is_member(community, member) and communities.is_banned(community, member)
    # The record stays (one word written per ban) until unban or the member's own leave drops it.
    assert communities.expiry_of(community, member) == NEVER
    with boa.env.prank(moderator), boa.reverts("communities: already banned"):
        communities.ban(community, member)
    with boa.env.prank(outsider), boa.reverts("communities: not staff"):
        communities.ban(community, outsider)


def test_banned_address_rejoins_by_no_path(
    communities, community, funded_owner, admin_signer, moderator, member, token, governance
):
    with boa.env.prank(moderator):
        communities.ban(community, member)  # a ban needs no membership first
    assert communities.expiry_of(community, member) == 0 and communities.is_banned(community, member)
    # OPEN
    with boa.env.prank(member), boa.reverts("communities: banned"):
        communities.join(community)
    # staff add (any policy)
    with boa.env.prank(funded_owner), boa.reverts("communities: banned"):
        communities.add_members(community, [member])
    # MERKLE
    tree = merkle.build([member, str(boa.env.generate_address("other"))])
    set_policy(communities, funded_owner, community, MERKLE)
    with boa.env.prank(funded_owner):
        communities.set_merkle_root(community, tree.root)
    with boa.env.prank(member), boa.reverts("communities: banned"):
        communities.join_with_proof(community, tree.proof(member))
    # TOKEN_GATE
    set_policy(communities, funded_owner, community, TOKEN_GATE)
    with boa.env.prank(funded_owner):
        communities.set_token_gate(community, 1, ZERO, 0, 0)
    fund(token, governance, member, WAD)
    with boa.env.prank(member), boa.reverts("communities: banned"):
        communities.join_with_token(community)
    # INVITE
    set_policy(communities, funded_owner, community, INVITE)
    inv = Invite(community, member, 1, now() + 60)
    sig = inv.sign(admin_signer, Domain.of(communities)).packed()
    with boa.env.prank(member), boa.reverts("communities: banned"):
        communities.redeem_invite(community, 1, inv.expiry, admin_signer.address, sig)
    # ... and cannot be made staff either.
    with boa.env.prank(funded_owner), boa.reverts("communities: banned"):
        communities.set_moderator(community, member, True)
    assert not communities.is_member(community, member)


def test_ban_survives_expiry_and_policy_changes(communities, community, funded_owner, moderator, member):
    set_policy(communities, funded_owner, community, OPEN, 100)
    with boa.env.prank(member):
        communities.join(community)
    with boa.env.prank(moderator):
        communities.ban(community, member)
    boa.env.time_travel(seconds=1000)
    set_policy(communities, funded_owner, community, OPEN, 0)
    with boa.env.prank(member), boa.reverts("communities: banned"):
        communities.join(community)
    with boa.env.prank(member):
        communities.leave(community)  # dropping the record is allowed; the ban stays
    assert communities.is_banned(community, member) and communities.expiry_of(community, member) == 0
    with boa.env.prank(member), boa.reverts("communities: banned"):
        communities.join(community)


def test_unban_drops_the_record(communities, community, moderator, member):
    with boa.env.prank(member):
        communities.join(community)
    with boa.env.prank(moderator):
        communities.ban(community, member)
        communities.unban(community, member)
    assert not communities.is_member(community, member) and not communities.is_banned(community, member)
    assert communities.expiry_of(community, member) == 0


def test_unban_lets_the_account_join_again(communities, community, moderator, member, outsider):
    with boa.env.prank(moderator):
        communities.ban(community, member)
    with boa.env.prank(outsider), boa.reverts("communities: not staff"):
        communities.unban(community, member)
    with boa.env.prank(moderator):
        communities.unban(community, member)
    assert events(communities, "Unbanned") == [
        {"community_id": community, "account": member, "by": moderator}
    ]
    assert not communities.is_banned(community, member) and not communities.is_member(community, member)
    with boa.env.prank(moderator), boa.reverts("communities: not banned"):
        communities.unban(community, member)
    with boa.env.prank(member):
        communities.join(community)
    assert communities.expiry_of(community, member) == NEVER


def test_ban_access_control(communities, community, funded_owner, admin_signer, moderator, outsider, member):
    with boa.env.prank(outsider), boa.reverts("communities: not staff"):
        communities.ban(community, member)
    with boa.env.prank(moderator), boa.reverts("communities: cannot ban staff"):
        communities.ban(community, admin_signer.address)
    with boa.env.prank(admin_signer.address), boa.reverts("communities: cannot ban staff"):
        communities.ban(community, funded_owner)
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.ban(community + 1, member)  # staff of one community are nobody in another


def test_ban_keeps_the_invite_nonce(communities, community, funded_owner, admin_signer, moderator, member):
    """An unbanned member cannot replay the voucher it joined with before the ban."""
    set_policy(communities, funded_owner, community, INVITE)
    inv = Invite(community, member, 4, now() + 600)
    sig = inv.sign(admin_signer, Domain.of(communities)).packed()
    with boa.env.prank(member):
        communities.redeem_invite(community, 4, inv.expiry, admin_signer.address, sig)
    with boa.env.prank(moderator):
        communities.ban(community, member)
        communities.unban(community, member)
    assert communities.invite_nonce(community, member) == 4
    with boa.env.prank(member), boa.reverts("communities: voucher already used"):
        communities.redeem_invite(community, 4, inv.expiry, admin_signer.address, sig)
