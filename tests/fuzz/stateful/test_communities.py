"""Stateful fuzzing of Communities and Premium against a Python model, and of the log-fed caches.

Members join OPEN, INVITE (vouchers with fresh, reused, older and expired nonces), TOKEN_GATE
(premium tier 1), MERKLE (own and borrowed proofs) and ALLOWLIST (staff batches, one event per
batch) communities; they leave, are removed, evicted, banned and unbanned while time passes and
memberships expire. Payers subscribe (for
themselves or as gifts), lock, request unlocks and unlock. After every step the contracts, the
model and `clubchat.communities.cache` (fed only the steps' event logs) agree on membership,
bans, member counts (kept by the cache only) and tiers, and the money adds up: burn share + node
share == payments, the total supply fell by exactly the settled burns, the registry received
exactly the settled node share, Premium holds exactly the locked CLUB plus what waits to be
settled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from clubchat.chain.eip712 import Domain
from clubchat.communities import Invite, MembershipCache, TierCache, merkle
from tests.utils.communities import (
    ALLOWLIST,
    INVITE,
    MERKLE,
    NEVER,
    OPEN,
    TOKEN_GATE,
    WAD,
    fund,
    logs_as_events,
    now,
)
from tests.utils.signing import named_signer

USERS = 4
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass
class Model:
    seconds: dict[int, int] = field(default_factory=dict)  # community -> membership seconds
    expiry: dict[tuple[int, str], int] = field(default_factory=dict)  # membership records
    banned: set[tuple[int, str]] = field(default_factory=set)
    nonce: dict[tuple[int, str], int] = field(default_factory=dict)
    subs: dict[tuple[str, int], int] = field(default_factory=dict)
    locked: dict[str, int] = field(default_factory=dict)
    unlock_at: dict[str, int] = field(default_factory=dict)  # 0: locked
    paid: int = 0
    burn_share: int = 0  # set aside to burn, settled or not
    node_share: int = 0
    settled_burn: int = 0
    settled_nodes: int = 0

    def count(self, cid: int) -> int:
        return sum(1 for (c, _a) in self.expiry if c == cid)

    def live(self, cid: int, t: int) -> int:
        return sum(1 for (c, a), e in self.expiry.items() if c == cid and e > t and (c, a) not in self.banned)

    def tier_of(self, who: str, tiers: list[tuple[int, int]], t: int) -> int:
        lock = self.locked.get(who, 0) if self.unlock_at.get(who, 0) == 0 else 0
        for tier in range(len(tiers) - 1, 0, -1):
            if self.subs.get((who, tier), 0) > t:
                return tier
            threshold = tiers[tier][1]
            if threshold and lock >= threshold:
                return tier
        return 0


class CommunitiesMachine(RuleBasedStateMachine):
    communities: Any = None
    premium: Any = None
    token: Any = None
    registry: Any = None
    governance = ""

    def __init__(self) -> None:
        super().__init__()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.model = Model()
        self.members_cache = MembershipCache()
        self.tier_cache = TierCache()
        self.admin = named_signer("machine-owner")
        self.moderator = str(boa.env.generate_address("machine-moderator"))
        self.users = [str(boa.env.generate_address(f"machine-user{i}")) for i in range(USERS)]
        self.cids: dict[int, int] = {}

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    # ---------------------------------------------------------------- helpers

    def _feed(self, contract: Any, cache: MembershipCache | TierCache) -> None:
        for name, args in logs_as_events(contract):
            cache.apply(name, args)

    def _admit(self, cid: int, who: str) -> None:
        seconds = self.model.seconds[cid]
        new = NEVER if seconds == 0 else now() + seconds
        self.model.expiry[(cid, who)] = max(new, self.model.expiry.get((cid, who), 0))

    def _join_error(self, cid: int, who: str) -> str | None:
        return "communities: banned" if (cid, who) in self.model.banned else None

    # ---------------------------------------------------------------- setup

    @initialize()
    def setup(self) -> None:
        # Replay the Premium tiers the deploy plan set, as a relay starting from deployment would.
        for t in range(self.premium.tier_count() + 1):
            tier = self.premium.tiers(t)
            self.tier_cache.apply("TierChanged", {"tier": t, **tier._asdict()})
        fund(self.token, self.governance, self.admin.address, 10_000 * WAD, self.communities)
        for who in self.users:
            fund(self.token, self.governance, who, 1_000_000 * WAD, self.premium)
        for policy, seconds in ((OPEN, 500), (INVITE, 0), (TOKEN_GATE, 0), (ALLOWLIST, 300), (MERKLE, 400)):
            with boa.env.prank(self.admin.address):
                cid = self.communities.create(self.admin.address, policy, seconds, policy == OPEN)
            self._feed(self.communities, self.members_cache)
            self.cids[policy] = cid
            self.model.seconds[cid] = seconds
            with boa.env.prank(self.admin.address):
                self.communities.set_moderator(cid, self.moderator, True)
            self._feed(self.communities, self.members_cache)
        with boa.env.prank(self.admin.address):
            self.communities.set_token_gate(self.cids[TOKEN_GATE], 0, ZERO, 0, 1)
        # The last user is not on the Merkle allowlist.
        self.tree = merkle.build(self.users[:-1])
        with boa.env.prank(self.admin.address):
            self.communities.set_merkle_root(self.cids[MERKLE], self.tree.root)
        # Tiers and terms stay as deployed in this machine (governance changes are unit-tested).
        self.tiers = [
            (self.premium.tiers(t).price_per_period, self.premium.tiers(t).lock_amount)
            for t in range(self.premium.tier_count() + 1)
        ]
        self.burn_bps = self.premium.burn_bps()
        self.period = self.premium.period_seconds()
        self.unlock_delay = self.premium.unlock_delay_seconds()
        self.supply0 = self.token.totalSupply()
        self.registry0 = self.token.balanceOf(self.registry.address)

    # ---------------------------------------------------------------- membership rules

    @rule(u=st.integers(0, USERS - 1))
    def join_open(self, u: int) -> None:
        cid, who = self.cids[OPEN], self.users[u]
        error = self._join_error(cid, who)
        with boa.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.communities.join(cid)
                return
            self.communities.join(cid)
        self._admit(cid, who)
        self._feed(self.communities, self.members_cache)

    @rule(u=st.integers(0, USERS - 1), step=st.sampled_from([-1, 0, 1, 3]), expired=st.booleans())
    def redeem_invite(self, u: int, step: int, expired: bool) -> None:
        cid, who = self.cids[INVITE], self.users[u]
        last = self.model.nonce.get((cid, who), 0)
        nonce = max(last + step, 0)
        inv = Invite(cid, who, nonce, now() + (-1 if expired else 60))
        sig = inv.sign(self.admin, Domain.of(self.communities)).packed()
        if expired:
            error: str | None = "communities: voucher expired"
        elif nonce <= last:
            error = "communities: voucher already used"
        else:
            error = self._join_error(cid, who)
        with boa.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.communities.redeem_invite(cid, nonce, inv.expiry, self.admin.address, sig)
                return
            self.communities.redeem_invite(cid, nonce, inv.expiry, self.admin.address, sig)
        self.model.nonce[(cid, who)] = nonce
        self._admit(cid, who)
        self._feed(self.communities, self.members_cache)

    @rule(u=st.integers(0, USERS - 1))
    def join_gated(self, u: int) -> None:
        cid, who = self.cids[TOKEN_GATE], self.users[u]
        qualifies = self.model.tier_of(who, self.tiers, now()) >= 1
        error = "communities: does not qualify" if not qualifies else self._join_error(cid, who)
        with boa.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.communities.join_with_token(cid)
                return
            self.communities.join_with_token(cid)
        self._admit(cid, who)
        self._feed(self.communities, self.members_cache)

    @rule(u=st.integers(0, USERS - 1))
    def evict(self, u: int) -> None:
        cid, who = self.cids[TOKEN_GATE], self.users[u]
        if self.model.tier_of(who, self.tiers, now()) >= 1:
            error: str | None = "communities: still qualifies"
        elif (cid, who) not in self.model.expiry:
            error = "communities: not a member"
        else:
            error = None
        with boa.env.prank(self.moderator):
            if error:
                with boa.reverts(error):
                    self.communities.evict(cid, who)
                return
            self.communities.evict(cid, who)
        del self.model.expiry[(cid, who)]
        self._feed(self.communities, self.members_cache)

    @rule(mask=st.integers(1, 2**USERS - 1))
    def add_allowlist(self, mask: int) -> None:
        cid = self.cids[ALLOWLIST]
        batch = [self.users[i] for i in range(USERS) if mask >> i & 1]
        banned = any((cid, w) in self.model.banned for w in batch)
        with boa.env.prank(self.admin.address):
            if banned:
                with boa.reverts("communities: banned"):
                    self.communities.add_members(cid, batch)
                return
            self.communities.add_members(cid, batch)
        for who in batch:
            self._admit(cid, who)
        self._feed(self.communities, self.members_cache)

    @rule(policy=st.sampled_from([OPEN, INVITE, TOKEN_GATE, ALLOWLIST, MERKLE]), u=st.integers(0, USERS - 1))
    def remove(self, policy: int, u: int) -> None:
        cid, who = self.cids[policy], self.users[u]
        with boa.env.prank(self.moderator):
            if (cid, who) not in self.model.expiry:
                with boa.reverts("communities: not a member"):
                    self.communities.remove_members(cid, [who])
                return
            self.communities.remove_members(cid, [who])
        del self.model.expiry[(cid, who)]
        self._feed(self.communities, self.members_cache)

    @rule(policy=st.sampled_from([OPEN, INVITE, TOKEN_GATE, ALLOWLIST, MERKLE]), u=st.integers(0, USERS - 1))
    def leave(self, policy: int, u: int) -> None:
        cid, who = self.cids[policy], self.users[u]
        with boa.env.prank(who):
            if (cid, who) not in self.model.expiry:
                with boa.reverts("communities: not a member"):
                    self.communities.leave(cid)
                return
            self.communities.leave(cid)
        del self.model.expiry[(cid, who)]
        self._feed(self.communities, self.members_cache)

    @rule(u=st.integers(0, USERS - 1), lender=st.integers(0, USERS - 2))
    def join_merkle(self, u: int, lender: int) -> None:
        cid, who = self.cids[MERKLE], self.users[u]
        # Users on the list use their own proof; the last user borrows one (never valid for it).
        proof = self.tree.proof(self.users[u if u < USERS - 1 else lender])
        error = "communities: invalid proof" if u == USERS - 1 else self._join_error(cid, who)
        with boa.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.communities.join_with_proof(cid, proof)
                return
            self.communities.join_with_proof(cid, proof)
        self._admit(cid, who)
        self._feed(self.communities, self.members_cache)

    @rule(policy=st.sampled_from([OPEN, INVITE, TOKEN_GATE, ALLOWLIST, MERKLE]), u=st.integers(0, USERS - 1))
    def ban_or_unban(self, policy: int, u: int) -> None:
        cid, who = self.cids[policy], self.users[u]
        with boa.env.prank(self.moderator):
            if (cid, who) in self.model.banned:
                self.communities.unban(cid, who)
                self.model.banned.discard((cid, who))
                self.model.expiry.pop((cid, who), None)  # unban drops the record
            else:
                self.communities.ban(cid, who)
                self.model.banned.add((cid, who))  # the record stays until unbanned or left
        self._feed(self.communities, self.members_cache)

    # ---------------------------------------------------------------- premium rules

    @rule(
        p=st.integers(0, USERS - 1),
        a=st.integers(0, USERS - 1),
        tier=st.integers(1, 2),
        periods=st.integers(1, 3),
    )
    def subscribe(self, p: int, a: int, tier: int, periods: int) -> None:
        payer, account = self.users[p], self.users[a]
        start = max(now(), self.model.subs.get((account, tier), 0))
        with boa.env.prank(payer):
            expires = self.premium.subscribe(account, tier, periods)
        self._feed(self.premium, self.tier_cache)
        cost = self.tiers[tier][0] * periods
        burned = cost * self.burn_bps // 10_000
        assert expires == start + periods * self.period
        self.model.subs[(account, tier)] = expires
        self.model.paid += cost
        self.model.burn_share += burned
        self.model.node_share += cost - burned

    @rule()
    def settle(self) -> None:
        m = self.model
        burn, nodes = (max(p - 1, 0) for p in (m.burn_share - m.settled_burn, m.node_share - m.settled_nodes))
        with boa.env.prank(self.moderator):
            assert tuple(self.premium.settle()) == (burn, nodes)  # one wei of each stays behind
        m.settled_burn += burn
        m.settled_nodes += nodes

    @rule(u=st.integers(0, USERS - 1), tier=st.integers(1, 2), extra=st.sampled_from([0, 1, -1]))
    def lock(self, u: int, tier: int, extra: int) -> None:
        who = self.users[u]
        amount = self.tiers[tier][1] + extra * WAD
        total = self.model.locked.get(who, 0) + amount
        reaches = any(t[1] and total >= t[1] for t in self.tiers[1:])
        with boa.env.prank(who):
            if not reaches:
                with boa.reverts("premium: lock below every tier's threshold"):
                    self.premium.lock(amount)
                return
            self.premium.lock(amount)
        self.model.locked[who] = total
        self.model.unlock_at[who] = 0
        self._feed(self.premium, self.tier_cache)

    @rule(u=st.integers(0, USERS - 1))
    def request_unlock(self, u: int) -> None:
        who = self.users[u]
        if not self.model.locked.get(who):
            error: str | None = "premium: nothing locked"
        elif self.model.unlock_at.get(who, 0):
            error = "premium: unlock already requested"
        else:
            error = None
        with boa.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.premium.request_unlock()
                return
            self.premium.request_unlock()
        self._feed(self.premium, self.tier_cache)
        self.model.unlock_at[who] = now() + self.unlock_delay

    @rule(u=st.integers(0, USERS - 1))
    def unlock(self, u: int) -> None:
        who = self.users[u]
        at = self.model.unlock_at.get(who, 0)
        error = "premium: no unlock requested" if at == 0 else None
        if error is None and now() < at:
            error = "premium: unlock delay not over"
        with boa.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.premium.unlock()
                return
            assert self.premium.unlock() == self.model.locked[who]
        self.model.locked[who] = 0
        self.model.unlock_at[who] = 0
        self._feed(self.premium, self.tier_cache)

    @rule(seconds=st.sampled_from([1, 299, 300, 501, 3 * 86400, 8 * 86400, 31 * 86400]))
    def wait(self, seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)

    # ---------------------------------------------------------------- invariants

    @invariant()
    def membership_agrees(self) -> None:
        if not self.cids:
            return
        t = now()
        for cid in self.cids.values():
            assert self.members_cache.record_count(cid) == self.model.count(cid)
            assert self.members_cache.member_count(cid, t) == self.model.live(cid, t)
            for who in self.users:
                expected = self.model.expiry.get((cid, who), 0)
                assert (
                    self.communities.expiry_of(cid, who) == expected == self.members_cache.expiry_of(cid, who)
                )
                member = expected > t and (cid, who) not in self.model.banned
                assert (
                    self.communities.is_member(cid, who)
                    == member
                    == self.members_cache.is_member(cid, who, t)
                )
                banned = (cid, who) in self.model.banned
                assert (
                    self.communities.is_banned(cid, who) == banned == self.members_cache.is_banned(cid, who)
                )

    @invariant()
    def tiers_agree(self) -> None:
        if not self.cids:
            return
        t, tiers = now(), self.tiers
        for who in self.users:
            expected = self.model.tier_of(who, tiers, t)
            assert self.premium.tier_of(who) == expected == self.tier_cache.tier_of(who, t)

    @invariant()
    def money_adds_up(self) -> None:
        if not self.cids:
            return
        m = self.model
        assert m.burn_share + m.node_share == m.paid
        assert self.token.totalSupply() == self.supply0 - m.settled_burn
        assert self.token.balanceOf(self.registry.address) == self.registry0 + m.settled_nodes
        pending = (m.burn_share - m.settled_burn, m.node_share - m.settled_nodes)
        assert (self.premium.pending_burn(), self.premium.pending_to_nodes()) == pending
        assert self.token.balanceOf(self.premium.address) == sum(m.locked.values()) + sum(pending)


_PROFILE_IS_DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def test_communities_stateful(token, protocol):
    CommunitiesMachine.communities = protocol["Communities"]
    CommunitiesMachine.premium = protocol["Premium"]
    CommunitiesMachine.token = token
    CommunitiesMachine.registry = protocol["NodeRegistry"]
    CommunitiesMachine.governance = str(protocol["Timelock"].address)
    run = CommunitiesMachine.TestCase
    run.settings = settings(
        max_examples=200 if _PROFILE_IS_DEEP else 6,
        stateful_step_count=100 if _PROFILE_IS_DEEP else 30,
        deadline=None,
    )
    run().runTest()
