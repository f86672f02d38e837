"""Membership and tier caches fed from contract event logs alone (what a relay enforces from).

`MembershipCache` replays Communities' events and `TierCache` Premium's, in log order, and
answer `is_member(community_id, account, now)` and `tier_of(account, now)` exactly as the
contracts' views would at time `now` (tests/unit/communities/test_cache.py replays a random
history's logs and compares with the chain after every step). Both are pure: no I/O, no
clock; the caller feeds decoded events (`apply(name, args)`) and passes the time.

Why logs suffice: Communities logs every member change with the new expiry
(`MemberJoined.expires_at`; a staff batch's `MembersAdded` names its accounts and the expiry each
gets unless it already had a later one), and a ban or removal clears it; Premium logs every payment with
the subscription's new end, every lock change, and every tier threshold change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NEVER = 2**64 - 1


def _addr(value: Any) -> str:
    return str(value).lower()


@dataclass
class CommunityState:
    """What the cache knows of one community."""

    owner: str
    policy: int
    membership_seconds: int
    fail_open: bool
    roles: dict[str, int] = field(default_factory=dict)
    expiry: dict[str, int] = field(default_factory=dict)  # membership records (expired, banned too)
    banned: set[str] = field(default_factory=set)


@dataclass
class MembershipCache:
    """Communities' membership state rebuilt from its events."""

    communities: dict[int, CommunityState] = field(default_factory=dict)
    # account -> the communities holding a membership record of it (the reverse of `expiry`)
    records_of: dict[str, set[int]] = field(default_factory=dict)

    def apply(self, name: str, args: Mapping[str, Any]) -> None:
        """Apply one decoded Communities event; events the cache does not need are ignored."""
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(args)

    def is_member(self, community_id: int, account: str, now: int) -> bool:
        c = self.communities.get(community_id)
        who = _addr(account)
        return c is not None and who not in c.banned and c.expiry.get(who, 0) > now

    def expiry_of(self, community_id: int, account: str) -> int:
        c = self.communities.get(community_id)
        return 0 if c is None else c.expiry.get(_addr(account), 0)

    def communities_of(self, account: str) -> set[int]:
        """The communities holding a membership record of `account` (expired or banned ones too)."""
        return self.records_of.get(_addr(account), set())

    def is_banned(self, community_id: int, account: str) -> bool:
        c = self.communities.get(community_id)
        return c is not None and _addr(account) in c.banned

    def member_count(self, community_id: int, now: int) -> int:
        """Members at time `now` (not banned, not expired): the count Communities keeps off chain."""
        return len(self.members(community_id, now))

    def record_count(self, community_id: int) -> int:
        """Membership records, expired and banned ones included (what `expiry_of` answers non-zero for)."""
        c = self.communities.get(community_id)
        return 0 if c is None else len(c.expiry)

    def members(self, community_id: int, now: int) -> list[str]:
        c = self.communities.get(community_id)
        return [] if c is None else sorted(a for a, e in c.expiry.items() if e > now and a not in c.banned)

    def owner_of(self, community_id: int) -> str | None:
        c = self.communities.get(community_id)
        return None if c is None else c.owner

    def roles_of(self, community_id: int, account: str) -> int:
        c = self.communities.get(community_id)
        return 0 if c is None else c.roles.get(_addr(account), 0)

    def fail_open(self, community_id: int) -> bool:
        c = self.communities.get(community_id)
        return c is not None and c.fail_open

    def _community(self, args: Mapping[str, Any]) -> CommunityState:
        return self.communities[int(args["community_id"])]

    def _on_CommunityCreated(self, a: Mapping[str, Any]) -> None:
        self.communities[int(a["community_id"])] = CommunityState(
            owner=_addr(a["owner"]),
            policy=int(a["policy"]),
            membership_seconds=int(a["membership_seconds"]),
            fail_open=bool(a["fail_open"]),
        )

    def _on_PolicyChanged(self, a: Mapping[str, Any]) -> None:
        c = self._community(a)
        c.policy, c.membership_seconds, c.fail_open = (
            int(a["policy"]),
            int(a["membership_seconds"]),
            bool(a["fail_open"]),
        )

    def _on_OwnershipTransferred(self, a: Mapping[str, Any]) -> None:
        self._community(a).owner = _addr(a["new_owner"])

    def _on_RolesChanged(self, a: Mapping[str, Any]) -> None:
        c = self._community(a)
        roles = int(a["roles"])
        if roles:
            c.roles[_addr(a["account"])] = roles
        else:
            c.roles.pop(_addr(a["account"]), None)

    def _record(self, community_id: int, who: str, expires_at: int) -> None:
        self.communities[community_id].expiry[who] = expires_at
        self.records_of.setdefault(who, set()).add(community_id)

    def _drop_record(self, community_id: int, who: str) -> None:
        self.communities[community_id].expiry.pop(who, None)
        held = self.records_of.get(who)
        if held is not None:
            held.discard(community_id)
            if not held:
                del self.records_of[who]

    def _on_MemberJoined(self, a: Mapping[str, Any]) -> None:
        self._record(int(a["community_id"]), _addr(a["account"]), int(a["expires_at"]))

    def _on_MembersAdded(self, a: Mapping[str, Any]) -> None:
        community_id, expires_at = int(a["community_id"]), int(a["expires_at"])
        expiry = self.communities[community_id].expiry
        for account in a["accounts"]:  # bound: the batch (at most 256)
            who = _addr(account)
            self._record(community_id, who, max(expiry.get(who, 0), expires_at))

    def _on_MemberRemoved(self, a: Mapping[str, Any]) -> None:
        self._drop_record(int(a["community_id"]), _addr(a["account"]))

    def _on_Banned(self, a: Mapping[str, Any]) -> None:
        self._community(a).banned.add(_addr(a["account"]))  # the record stays until unbanned

    def _on_Unbanned(self, a: Mapping[str, Any]) -> None:
        self._community(a).banned.discard(_addr(a["account"]))
        self._drop_record(int(a["community_id"]), _addr(a["account"]))


@dataclass(frozen=True)
class TierLimits:
    """A tier's limits as relays enforce them."""

    max_message_bytes: int
    max_file_bytes: int
    max_call_seconds: int
    mailbox_quota_bytes: int
    price_per_period: int
    lock_amount: int


@dataclass
class TierCache:
    """Premium's tier state rebuilt from its events."""

    tiers: dict[int, TierLimits] = field(default_factory=dict)
    subscriptions: dict[tuple[str, int], int] = field(default_factory=dict)  # (account, tier) -> end
    locked: dict[str, int] = field(default_factory=dict)  # account -> wei locked and not unlocking
    unlocking: dict[str, int] = field(default_factory=dict)  # account -> wei waiting for the delay

    def apply(self, name: str, args: Mapping[str, Any]) -> None:
        """Apply one decoded Premium event; events the cache does not need are ignored."""
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(args)

    @property
    def tier_count(self) -> int:
        return max(self.tiers, default=0)

    def tier_of(self, account: str, now: int) -> int:
        """Highest tier by subscription or lock, as `Premium.tier_of` at time `now`."""
        who = _addr(account)
        lock = self.locked.get(who, 0)
        for tier in range(self.tier_count, 0, -1):
            if self.subscriptions.get((who, tier), 0) > now:
                return tier
            threshold = self.tiers[tier].lock_amount
            if threshold and lock >= threshold:
                return tier
        return 0

    def limits_of(self, account: str, now: int) -> TierLimits:
        return self.tiers[self.tier_of(account, now)]

    def _on_TierChanged(self, a: Mapping[str, Any]) -> None:
        self.tiers[int(a["tier"])] = TierLimits(
            int(a["max_message_bytes"]),
            int(a["max_file_bytes"]),
            int(a["max_call_seconds"]),
            int(a["mailbox_quota_bytes"]),
            int(a["price_per_period"]),
            int(a["lock_amount"]),
        )

    def _on_Subscribed(self, a: Mapping[str, Any]) -> None:
        self.subscriptions[(_addr(a["account"]), int(a["tier"]))] = int(a["expires_at"])

    def _on_Locked(self, a: Mapping[str, Any]) -> None:
        who = _addr(a["account"])
        self.unlocking.pop(who, None)
        self.locked[who] = int(a["total"])

    def _on_UnlockRequested(self, a: Mapping[str, Any]) -> None:
        who = _addr(a["account"])
        self.unlocking[who] = self.locked.pop(who, 0)

    def _on_Unlocked(self, a: Mapping[str, Any]) -> None:
        self.unlocking.pop(_addr(a["account"]), None)
