"""clubchat.communities.cache: fed only the contracts' event logs, the caches answer `is_member`,
`expiry_of`, the member count, `tier_of` and the tier limits as the chain does, at any time."""

from __future__ import annotations

from typing import Any

import boa

from clubchat.communities import MembershipCache, TierCache
from tests.utils.communities import OPEN, WAD, fund, logs_as_events, now


class Recorder:
    """Sends calls and feeds each one's logs to the cache, as a relay's log follower would."""

    def __init__(self, contract: Any, cache: MembershipCache | TierCache) -> None:
        self.contract, self.cache = contract, cache

    def send(self, sender: str, fn: str, *args: Any) -> Any:
        with boa.env.prank(sender):
            out = getattr(self.contract, fn)(*args)
        for name, fields in logs_as_events(self.contract):
            self.cache.apply(name, fields)
        return out


def _check_members(communities, cache: MembershipCache, cid: int, accounts: list[str]) -> None:
    t = now()
    assert cache.member_count(cid, t) == sum(communities.is_member(cid, a) for a in accounts)
    assert cache.record_count(cid) == sum(communities.expiry_of(cid, a) != 0 for a in accounts)
    assert cache.owner_of(cid) == communities.owner_of(cid).lower()
    assert cache.fail_open(cid) == communities.fail_open(cid)
    for a in accounts:
        assert cache.is_member(cid, a, t) == communities.is_member(cid, a)
        assert cache.expiry_of(cid, a) == communities.expiry_of(cid, a)
        assert cache.is_banned(cid, a) == communities.is_banned(cid, a)
        assert cache.roles_of(cid, a) == communities.roles_of(cid, a)
        assert (cid in cache.communities_of(a)) == (communities.expiry_of(cid, a) != 0)


def test_membership_cache_follows_every_change(communities, funded_owner, moderator, outsider, member):
    cache = MembershipCache()
    rec = Recorder(communities, cache)
    people = [str(boa.env.generate_address(f"cache{i}")) for i in range(4)]
    everyone = [*people, moderator, outsider, member, funded_owner]
    cid = rec.send(funded_owner, "create", funded_owner, OPEN, 0, False)
    rec.send(funded_owner, "set_policy", cid, OPEN, 100, True)
    rec.send(funded_owner, "set_moderator", cid, moderator, True)
    rec.send(funded_owner, "set_admin", cid, outsider, True)
    _check_members(communities, cache, cid, everyone)
    rec.send(outsider, "add_members", cid, people)
    rec.send(member, "join", cid)
    _check_members(communities, cache, cid, everyone)
    boa.env.time_travel(seconds=60)
    rec.send(member, "join", cid)  # renewal
    rec.send(moderator, "ban", cid, people[0])
    rec.send(moderator, "remove_members", cid, [people[1]])
    rec.send(people[2], "leave", cid)
    _check_members(communities, cache, cid, everyone)
    assert cache.members(cid, now()) == sorted(a.lower() for a in (people[3], member))
    boa.env.time_travel(seconds=50)  # people[3] expired, member not yet
    _check_members(communities, cache, cid, everyone)
    rec.send(people[3], "leave", cid)
    rec.send(funded_owner, "set_policy", cid, OPEN, 5000, True)
    rec.send(member, "join", cid)  # expires in 5,000 s
    rec.send(funded_owner, "set_policy", cid, OPEN, 100, True)
    rec.send(outsider, "add_members", cid, [member, people[1]])  # member keeps its later expiry
    _check_members(communities, cache, cid, everyone)
    rec.send(moderator, "unban", cid, people[0])
    rec.send(funded_owner, "set_admin", cid, outsider, False)
    rec.send(funded_owner, "transfer_ownership", cid, outsider)
    rec.send(outsider, "accept_ownership", cid)
    _check_members(communities, cache, cid, everyone)
    boa.env.time_travel(seconds=1000)
    _check_members(communities, cache, cid, everyone)


def test_fail_open_is_known_from_the_creation_alone(communities, funded_owner):
    """A relay decides fail-open / fail-closed from the cache: `create`'s own event must carry it."""
    cache = MembershipCache()
    rec = Recorder(communities, cache)
    for fail_open in (True, False):
        cid = rec.send(funded_owner, "create", funded_owner, OPEN, 0, fail_open)
        assert cache.fail_open(cid) is fail_open is communities.fail_open(cid)


def test_tier_cache_follows_every_change(premium, token, governance, member, outsider, params):
    cache = TierCache()
    for t in range(premium.tier_count() + 1):
        cache.apply("TierChanged", {"tier": t, **premium.tiers(t)._asdict()})
    rec = Recorder(premium, cache)
    for who in (member, outsider):
        fund(token, governance, who, 100_000 * WAD, premium)
    accounts = [member, outsider]

    def check() -> None:
        for a in accounts:
            assert cache.tier_of(a, now()) == premium.tier_of(a)
            limits = cache.limits_of(a, now())
            assert (
                limits.max_message_bytes,
                limits.max_file_bytes,
                limits.max_call_seconds,
                limits.mailbox_quota_bytes,
            ) == premium.limits_of(a)

    check()
    rec.send(outsider, "subscribe", member, 1, 1)
    check()
    rec.send(outsider, "lock", params.premium.tiers[2].lock_wei)
    check()
    rec.send(outsider, "request_unlock")
    check()
    boa.env.time_travel(seconds=params.premium.period_seconds)
    check()
    rec.send(outsider, "lock", 1)  # cancels the unlock
    check()
    plus = params.premium.tiers[2]
    rec.send(governance, "set_tier", 2, list(plus.limits), plus.price_wei, plus.lock_wei * 2)
    check()
    rec.send(outsider, "request_unlock")
    boa.env.time_travel(seconds=params.premium.unlock_delay_seconds)
    rec.send(outsider, "unlock")
    check()
    assert cache.tier_count == premium.tier_count()


def test_unknown_events_are_ignored():
    cache = MembershipCache()
    cache.apply("Transfer", {"sender": "0x0", "receiver": "0x1", "value": 1})
    assert cache.communities == {}
    assert not cache.is_member(1, "0x00000000000000000000000000000000000000aa", 0)
