"""OPEN joins, staff batches (add_members / remove_members), leave, expiry and renewal."""

from __future__ import annotations

import boa

from tests.unit.communities.conftest import set_policy
from tests.utils.communities import (
    ALLOWLIST,
    LEFT,
    NEVER,
    OPEN,
    REMOVED,
    events,
    now,
)

ZERO = "0x0000000000000000000000000000000000000000"


def test_open_join_and_leave(communities, community, member):
    with boa.env.prank(member):
        communities.join(community)
    assert events(communities, "MemberJoined") == [
        {"community_id": community, "account": member, "expires_at": NEVER}
    ]
    assert communities.is_member(community, member)
    with boa.env.prank(member):
        communities.join(community)  # joining again: the same record, renewed
    assert communities.expiry_of(community, member) == NEVER
    with boa.env.prank(member):
        communities.leave(community)
    assert events(communities, "MemberRemoved") == [
        {"community_id": community, "account": member, "reason": LEFT}
    ]
    assert not communities.is_member(community, member) and communities.expiry_of(community, member) == 0
    with boa.env.prank(member), boa.reverts("communities: not a member"):
        communities.leave(community)
    with boa.env.prank(member), boa.reverts("communities: no such community"):
        communities.leave(community + 1)


def test_join_checks_policy_and_existence(communities, community, funded_owner, member):
    with boa.env.prank(member), boa.reverts("communities: no such community"):
        communities.join(community + 1)
    set_policy(communities, funded_owner, community, ALLOWLIST)
    with boa.env.prank(member), boa.reverts("communities: wrong join policy"):
        communities.join(community)
    for path in ("join_with_token", "evict"):
        with boa.env.prank(member), boa.reverts("communities: wrong join policy"):
            if path == "evict":
                communities.evict(community, member)
            else:
                communities.join_with_token(community)
    with boa.env.prank(member), boa.reverts("communities: wrong join policy"):
        communities.join_with_proof(community, [])
    with boa.env.prank(member), boa.reverts("communities: wrong join policy"):
        communities.redeem_invite(community, 1, now() + 60, member, b"")


def test_set_policy_needs_an_admin_and_valid_settings(communities, community, moderator, admin_signer):
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.set_policy(community, ALLOWLIST, 0, False)
    with boa.env.prank(admin_signer.address):
        with boa.reverts("communities: unknown policy"):
            communities.set_policy(community, 9, 0, False)
        with boa.reverts("communities: membership too long"):
            communities.set_policy(community, ALLOWLIST, 2**64, False)
        communities.set_policy(community, ALLOWLIST, 600, True)
    assert events(communities, "PolicyChanged") == [
        {"community_id": community, "policy": ALLOWLIST, "membership_seconds": 600, "fail_open": True}
    ]
    assert communities.policy_of(community) == ALLOWLIST and communities.fail_open(community)


def test_set_policy_keeps_the_members(communities, community, funded_owner, member, outsider):
    for who in (member, outsider):
        with boa.env.prank(who):
            communities.join(community)
    set_policy(communities, funded_owner, community, ALLOWLIST, 60, True)
    assert all(communities.is_member(community, who) for who in (member, outsider))
    assert communities.expiry_of(community, member) == NEVER  # the new duration is for joins from now on


def test_add_and_remove_members_in_batches(communities, community, admin_signer, moderator, outsider):
    accounts = [str(boa.env.generate_address(f"batch{i}")) for i in range(5)]
    with boa.env.prank(admin_signer.address):
        communities.add_members(community, accounts)
    # One event names the whole batch (a relay's cache reads it; no MemberJoined per member).
    assert events(communities, "MembersAdded") == [
        {"community_id": community, "accounts": accounts, "expires_at": NEVER}
    ]
    assert events(communities, "MemberJoined") == []
    assert all(communities.is_member(community, a) for a in accounts)
    with boa.env.prank(moderator):
        communities.remove_members(community, accounts[:2])
    assert events(communities, "MemberRemoved") == [
        {"community_id": community, "account": a, "reason": REMOVED} for a in accounts[:2]
    ]
    assert (
        not communities.is_member(community, accounts[0])
        and communities.expiry_of(community, accounts[0]) == 0
    )
    assert all(communities.is_member(community, a) for a in accounts[2:])
    with boa.env.prank(moderator), boa.reverts("communities: not a member"):
        communities.remove_members(community, [accounts[2], accounts[0]])  # the whole batch reverts
    assert communities.is_member(community, accounts[2])


def test_batches_need_staff(communities, community, moderator, outsider, member):
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.add_members(community, [member])  # moderators remove, admins add
    with boa.env.prank(outsider), boa.reverts("communities: not staff"):
        communities.add_members(community, [member])
    with boa.env.prank(outsider), boa.reverts("communities: not staff"):
        communities.remove_members(community, [member])
    with boa.env.prank(outsider), boa.reverts("communities: not staff"):
        communities.add_members(community + 7, [member])  # nobody is staff of a community that does not exist


def test_add_refuses_the_zero_address(communities, community, funded_owner):
    with boa.env.prank(funded_owner), boa.reverts("communities: zero account"):
        communities.add_members(community, [ZERO])


def test_add_renews_but_never_shortens(communities, community, funded_owner, member, outsider):
    set_policy(communities, funded_owner, community, OPEN, 1000)
    with boa.env.prank(member):
        communities.join(community)
    start = now()
    set_policy(communities, funded_owner, community, OPEN, 100)
    boa.env.time_travel(seconds=10)
    with boa.env.prank(funded_owner):
        communities.add_members(community, [member, outsider])
    assert events(communities, "MembersAdded") == [
        {"community_id": community, "accounts": [member, outsider], "expires_at": start + 110}
    ]
    assert communities.expiry_of(community, member) == start + 1000  # the later expiry stays
    assert communities.expiry_of(community, outsider) == start + 110


def test_membership_expires_and_renews(communities, community, funded_owner, member, outsider):
    set_policy(communities, funded_owner, community, OPEN, 1000)
    with boa.env.prank(member):
        communities.join(community)
    start = now()
    assert communities.expiry_of(community, member) == start + 1000
    boa.env.time_travel(seconds=600)
    with boa.env.prank(member):
        communities.join(community)  # renewal: now + duration
    assert communities.expiry_of(community, member) == start + 1600
    set_policy(communities, funded_owner, community, OPEN, 10)
    with boa.env.prank(member):
        communities.join(community)  # a shorter duration never shortens a membership
    assert communities.expiry_of(community, member) == start + 1600
    boa.env.time_travel(seconds=1000)
    assert not communities.is_member(community, member)
    assert communities.expiry_of(community, member) == start + 1600  # the record stays; `leave` drops it
    with boa.env.prank(member):
        communities.leave(community)
    assert communities.expiry_of(community, member) == 0


def test_expired_member_joins_again(communities, community, funded_owner, member):
    set_policy(communities, funded_owner, community, OPEN, 100)
    with boa.env.prank(member):
        communities.join(community)
    boa.env.time_travel(seconds=200)
    with boa.env.prank(member):
        communities.join(community)
    assert communities.is_member(community, member)
    assert communities.expiry_of(community, member) == now() + 100


def test_roles(communities, community, funded_owner, admin_signer, moderator, outsider):
    with boa.env.prank(admin_signer.address), boa.reverts("communities: not the owner"):
        communities.set_admin(community, outsider, True)  # only the owner names admins
    with boa.env.prank(moderator), boa.reverts("communities: not staff"):
        communities.set_moderator(community, outsider, True)
    with boa.env.prank(admin_signer.address):
        communities.set_moderator(community, outsider, True)
    assert events(communities, "RolesChanged") == [
        {"community_id": community, "account": outsider, "roles": 2, "by": admin_signer.address}
    ]
    with boa.env.prank(funded_owner):
        communities.set_admin(community, outsider, True)
        assert communities.roles_of(community, outsider) == 3
        communities.set_moderator(community, outsider, False)
        assert communities.roles_of(community, outsider) == 1
        with boa.reverts("communities: zero account"):
            communities.set_admin(community, ZERO, True)
