"""Stateful fuzzing of NodeRegistry against a small Python model of its pools.

Operators and delegators stake, delegate, unbond, rebond, withdraw and claim while
rewards arrive, epochs are finalised, nodes beat or expire, and the slasher jails and
slashes. The model mirrors the pool arithmetic exactly (same integer formulas), so
every withdrawal is checked to the wei, including withdrawals of slashed unbonding
entries. Invariants: token balance >= everything owed; principal == sum over pools;
total weight == sum of node weights; each kind's tree total == the sum of its leaves, which
hold the counted weight except lazy ones (a jailed node's, counted 0); no account withdraws
more principal than it put in; claims + tips <= rewards sent; sampled nodes are
eligible, distinct and of the right kind; stake bonded just around a finalisation earns at most
its time share of its kinds' streams. The nodes declare mixed kind sets (RELAY, RELAY+TURN, NOTIFY,
RELAY+NOTIFY) and the stream is split between the kinds: the reserve covers every checkpoint across
kinds, each kind's reward weight is the sum of u = weight * 6 // kinds declared over its counted
nodes, total_weight is their sum / 6; the Timelock changes the split (zero shares included, bad
splits refused) and kinds empty (every node of a kind jailed). Operators deregister and register
again: the model keeps each kind's slots (owner per slot, a queue of freed slots with the epoch
they were freed in) and the listing, and the draws are mirrored over those slots.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

import boa
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.utils.registry import NOTIFY, RELAY, TURN, beat, fund, mirror_draws, register_node

WAD = 10**18
MASK120 = 2**120 - 1
MASK128 = 2**128 - 1
KINDS = (RELAY, RELAY | TURN, NOTIFY, RELAY | NOTIFY)


@dataclass
class Pool:
    kinds: int
    ba: int = 0
    bs: int = 0
    ua: int = 0
    us: int = 0
    jailed_until: int = 0
    jailed: bool = False
    closed: bool = False  # a 100 % slash closed the node: no new stake, ever
    registered: bool = True  # False after `deregister` (the pool stays: entries, delegators)
    shares: dict[str, int] = field(default_factory=dict)


@dataclass
class Entry:
    node: str
    shares: int
    release: int


def _down(a: int, num: int, den: int) -> int:
    return a * (num + 1) // (den + 1)


def _bond_failure(dead: bool, minted: int) -> str:
    """Why the registry refuses new bonded shares, in the order it checks (dead pool, dust, saturation)."""
    if dead:
        return "registry: pool slashed out"
    return "registry: amount too small" if minted == 0 else "registry: pool over-saturated"


class RegistryMachine(RuleBasedStateMachine):
    registry = token = governance = directory = None
    minimum = 0

    def __init__(self) -> None:
        super().__init__()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.pools: dict[str, Pool] = {}
        self.keys: dict[str, str] = {}
        self.rekeys = 0  # new keys handed to returning operators
        self.entries: dict[str, list[Entry | None]] = {}
        self.deposited: dict[str, int] = {}
        self.withdrawn: dict[str, int] = {}
        self.sent = 0
        self.paid_out = 0  # claims + tips
        self.keeper = str(boa.env.generate_address("keeper"))
        # Sum-tree slots per kind: the owner of each slot (kept while the slot is free) and the
        # queue of freed slots with the sampling epoch they were freed in; the listing's order.
        self.slots: dict[int, list[str]] = {k: [] for k in (RELAY, TURN, NOTIFY)}
        self.slot_of: dict[int, dict[str, int]] = {k: {} for k in (RELAY, TURN, NOTIFY)}  # held now
        self.free: dict[int, deque[tuple[int, int]]] = {k: deque() for k in (RELAY, TURN, NOTIFY)}
        self.listing: list[str] = []

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    # ---------------------------------------------------------------- setup

    @initialize()
    def setup(self) -> None:
        m = self.minimum
        for i, kinds in enumerate(KINDS):
            op = str(boa.env.generate_address(f"sm-op-{i}"))
            key = str(boa.env.generate_address(f"sm-key-{i}"))
            fund(self.token, self.registry, self.governance, op, 10_000_000 * WAD)
            amount = (i + 1) * m * bin(kinds).count("1")
            register_node(
                self.registry, op, key, kinds=kinds, amount=amount, commission_bps=500 * i, tag=f"sm{i}"
            )
            pool = Pool(kinds=kinds)
            self.pools[op] = pool
            self._take_slots(op, kinds)
            self._mint(pool, op, amount)
            self.keys[op] = key
            self.deposited[op] = amount
            beat(self.registry, key)
        self.delegators = []
        for i in range(3):
            d = str(boa.env.generate_address(f"sm-dl-{i}"))
            fund(self.token, self.registry, self.governance, d, 10_000_000 * WAD)
            self.delegators.append(d)
        self.accounts = list(self.pools) + self.delegators
        # Bonds only around finalisations (`jit_around_finalisation`), never through other rules.
        self.jit = str(boa.env.generate_address("sm-jit"))
        fund(self.token, self.registry, self.governance, self.jit, 10_000_000 * WAD)
        # Every delegator starts with a delegation and an unbonding entry, so withdrawals,
        # rebonds and slashes of unbonding stake are reachable from the first step.
        for i in range(len(self.delegators)):
            self.delegate(i, i, 3 * (i + 1) * m // WAD)
            self.unbond(4 + i, i, 50)
        self.unbond(0, 0, 10)  # operator 0 leaves 0.9 x 1 minimum: reverts (below minimum)

    # ---------------------------------------------------------------- model

    def _take_slots(self, op: str, kinds: int) -> None:
        """The slots `register` hands out: the oldest freed slot unless it was freed this epoch."""
        epoch = self._sampling_epoch()
        for kind in (RELAY, TURN, NOTIFY):
            if kinds & kind:
                queue = self.free[kind]
                if queue and queue[0][1] != epoch:
                    slot = queue.popleft()[0]
                    self.slots[kind][slot] = op
                else:
                    slot = len(self.slots[kind])
                    self.slots[kind].append(op)
                self.slot_of[kind][op] = slot
        self.listing.append(op)

    def _registered_ops(self) -> list[str]:
        return [op for op, p in self.pools.items() if p.registered]

    def _mint(self, pool: Pool, who: str, amount: int) -> int:
        minted = _down(amount, pool.bs, pool.ba)
        pool.ba += amount
        pool.bs += minted
        pool.shares[who] = pool.shares.get(who, 0) + minted
        return minted

    def _self_assets(self, op: str) -> int:
        p = self.pools[op]
        return _down(p.shares.get(op, 0), p.ba, p.bs)

    @staticmethod
    def _dead(pool: Pool) -> bool:
        """A 100 % slash closed the node: the pool takes no new stake."""
        return pool.closed

    def _now(self) -> int:
        return int(boa.env.evm.patch.timestamp)

    # ---------------------------------------------------------------- rules

    @rule(i=st.integers(0, 3), whole=st.integers(1, 50_000))
    def stake(self, i: int, whole: int) -> None:
        op = list(self.pools)[i]
        if not self.pools[op].registered:
            with boa.env.prank(op), boa.reverts("registry: not registered"):
                self.registry.stake(whole * WAD)
            return
        if self._dead(self.pools[op]):
            with boa.env.prank(op), boa.reverts("registry: pool slashed out"):
                self.registry.stake(whole * WAD)
            return
        with boa.env.prank(op):
            minted = self.registry.stake(whole * WAD)
        assert minted == self._mint(self.pools[op], op, whole * WAD)
        self.deposited[op] += whole * WAD

    @rule(d=st.integers(0, 2), i=st.integers(0, 3), whole=st.integers(1, 200_000))
    def delegate(self, d: int, i: int, whole: int) -> None:
        dl, op = self.delegators[d], list(self.pools)[i]
        p = self.pools[op]
        if not p.registered:
            with boa.env.prank(dl), boa.reverts("registry: not registered"):
                self.registry.delegate(op, whole * WAD)
            return
        minted = _down(whole * WAD, p.bs, p.ba)
        own = p.shares.get(op, 0)
        saturated = p.bs + minted - own > own * self.registry.saturation_multiple()
        if saturated or minted == 0 or self._dead(p):
            with boa.env.prank(dl), boa.reverts(_bond_failure(self._dead(p), minted)):
                self.registry.delegate(op, whole * WAD)
            return
        with boa.env.prank(dl):
            assert self.registry.delegate(op, whole * WAD) == minted
        self._mint(p, dl, whole * WAD)
        self.deposited[dl] = self.deposited.get(dl, 0) + whole * WAD

    @rule(a=st.integers(0, 6), i=st.integers(0, 3), part=st.integers(1, 100))
    def unbond(self, a: int, i: int, part: int) -> None:
        who, op = self.accounts[a], list(self.pools)[i]
        p = self.pools[op]
        held = p.shares.get(who, 0)
        amount = held * part // 100
        if amount == 0:
            return
        assets = _down(amount, p.ba, p.bs)
        if who == op and amount < held:
            left = held - amount
            self_after = _down(left, p.ba - assets, p.bs - amount)
            need = self.minimum * bin(p.kinds).count("1")
            if self_after < need or (p.bs - amount - left) > left * self.registry.saturation_multiple():
                # The contract checks the amount first, then the self-stake, then saturation.
                reason = (
                    "registry: amount too small"
                    if assets == 0
                    else "registry: self-stake too low"
                    if self_after < need
                    else "registry: pool over-saturated"
                )
                with boa.env.prank(who), boa.reverts(reason):
                    self.registry.unbond(op, amount)
                return
        if assets == 0:
            return
        with boa.env.prank(who):
            entry_id = self.registry.unbond(op, amount)
        p.ba -= assets
        p.bs -= amount
        p.shares[who] = held - amount
        minted = _down(assets, p.us, p.ua)
        p.ua += assets
        p.us += minted
        lst = self.entries.setdefault(who, [])
        assert entry_id == len(lst)
        lst.append(Entry(op, minted, self._now() + self.registry.unbonding_seconds()))

    def _open_entries(self) -> list[tuple[str, int]]:
        return [(w, j) for w, lst in self.entries.items() for j, e in enumerate(lst) if e is not None]

    @precondition(lambda self: bool(self._open_entries()))
    @rule(pick=st.integers(0, 10_000))
    def withdraw(self, pick: int) -> None:
        opened = self._open_entries()
        who, j = opened[pick % len(opened)]
        e = self.entries[who][j]
        if self._now() < e.release:
            with boa.env.prank(who), boa.reverts("registry: still unbonding"):
                self.registry.withdraw(j)
            return
        p = self.pools[e.node]
        assets = _down(e.shares, p.ua, p.us)
        before = self.token.balanceOf(who)
        with boa.env.prank(who):
            assert self.registry.withdraw(j) == assets
        assert self.token.balanceOf(who) == before + assets
        p.ua -= assets
        p.us -= e.shares
        self.entries[who][j] = None
        self.withdrawn[who] = self.withdrawn.get(who, 0) + assets

    @precondition(lambda self: bool(self._open_entries()))
    @rule(pick=st.integers(0, 10_000))
    def rebond(self, pick: int) -> None:
        opened = self._open_entries()
        who, j = opened[pick % len(opened)]
        e = self.entries[who][j]
        p = self.pools[e.node]
        if not p.registered:
            with boa.env.prank(who), boa.reverts("registry: not registered"):
                self.registry.rebond(j)
            return
        assets = _down(e.shares, p.ua, p.us)
        minted = _down(assets, p.bs, p.ba)
        own = p.shares.get(e.node, 0) + (minted if who == e.node else 0)
        over = who != e.node and p.bs + minted - own > own * self.registry.saturation_multiple()
        if minted == 0 or over or self._dead(p):
            with boa.env.prank(who), boa.reverts(_bond_failure(self._dead(p), minted)):
                self.registry.rebond(j)
            return
        with boa.env.prank(who):
            assert self.registry.rebond(j) == minted
        p.ua -= assets
        p.us -= e.shares
        self._mint(p, who, assets)
        self.entries[who][j] = None

    @rule(i=st.integers(0, 3))
    def heartbeat(self, i: int) -> None:
        op = list(self.pools)[i]
        if not self.pools[op].registered:  # deregistering released the key
            with boa.env.prank(self.keys[op]), boa.reverts("registry: not a node key"):
                self.registry.heartbeat()
            return
        beat(self.registry, self.keys[op])

    @rule(seconds=st.sampled_from([60, 3601, 43_200, 86_400, 604_800, 1_209_600, 1_209_600]))
    def time_passes(self, seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)

    @rule(whole=st.integers(0, 5_000))
    def rewards_arrive(self, whole: int) -> None:
        with boa.env.prank(self.governance):
            self.token.transfer(self.registry.address, whole * WAD)
        self.sent += whole * WAD

    @rule(whole=st.integers(1, 5_000), beating=st.sets(st.integers(0, 3)))
    def epoch_with_rewards(self, whole: int, beating: set[int]) -> None:
        """Rewards arrive, some node keys beat just before the epoch ends, the epoch is finalised."""
        self.rewards_arrive(whole)
        r = self.registry
        end = r.EPOCH_START() + (r.epochs_finalised() + 1) * r.EPOCH_SECONDS()
        if self._now() < end - 60:
            boa.env.time_travel(seconds=end - 60 - self._now())
        for i in sorted(beating):
            self.heartbeat(i)
        boa.env.time_travel(seconds=max(end - self._now(), 0) + 1)
        self.finalize()

    @precondition(lambda self: bool(self._open_entries()))
    @rule()
    def unbonding_period_passes(self) -> None:
        boa.env.time_travel(seconds=self.registry.unbonding_seconds() + 1)

    @rule()
    def finalize(self) -> None:
        r = self.registry
        due = self._now() >= r.EPOCH_START() + (r.epochs_finalised() + 1) * r.EPOCH_SECONDS()
        if not due:
            with boa.env.prank(self.keeper), boa.reverts("registry: epoch not over"):
                r.finalize_epoch()
            return
        with boa.env.prank(self.keeper):
            self.paid_out += r.finalize_epoch()

    @rule(a=st.integers(0, 6), i=st.integers(0, 3))
    def claim(self, a: int, i: int) -> None:
        who, op = self.accounts[a], list(self.pools)[i]
        expected = self.directory.pending_rewards(op, who)
        before = self.token.balanceOf(who)
        with boa.env.prank(who):
            assert self.registry.claim(op) == expected
        assert self.token.balanceOf(who) == before + expected
        self.paid_out += expected

    @rule(i=st.integers(0, 3), hours=st.integers(1, 72))
    def jail(self, i: int, hours: int) -> None:
        op = list(self.pools)[i]
        p = self.pools[op]
        # Like slash: a deregistered node can be jailed while its pool holds anything.
        if not p.registered and p.ba == p.bs == p.ua == p.us == 0:
            with boa.env.prank(self.governance), boa.reverts("registry: not registered"):
                self.registry.jail(op, self._now() + hours * 3600)
            return
        with boa.env.prank(self.governance):
            self.registry.jail(op, self._now() + hours * 3600)
        p.jailed = True
        p.jailed_until = max(p.jailed_until, self._now() + hours * 3600)

    @rule(i=st.integers(0, 3))
    def unjail(self, i: int) -> None:
        op = list(self.pools)[i]
        p = self.pools[op]
        if not p.registered:
            with boa.env.prank(op), boa.reverts("registry: not registered"):
                self.registry.unjail()
            return
        if not p.jailed or self._now() < p.jailed_until:
            with (
                boa.env.prank(op),
                boa.reverts("registry: still jailed" if p.jailed else "registry: not jailed"),
            ):
                self.registry.unjail()
            return
        with boa.env.prank(op):
            self.registry.unjail()
        p.jailed = False

    @rule(i=st.integers(0, 3), pct=st.integers(1, 100), share=st.integers(0, 100))
    def slash(self, i: int, pct: int, share: int) -> None:
        op = list(self.pools)[i]
        p = self.pools[op]
        fraction = pct * WAD // 100

        def cut(assets: int) -> int:
            # Rounds up; a partial slash leaves a non-empty pool at least 1 wei.
            if pct == 100:
                return assets
            return min(assets - min(assets, 1), (assets * fraction + WAD - 1) // WAD)

        cut_b, cut_u = cut(p.ba), cut(p.ua)
        if not p.registered and p.ba == p.bs == p.ua == p.us == 0:
            with boa.env.prank(self.governance), boa.reverts("registry: not registered"):
                self.registry.slash(op, fraction, self.keeper, share * WAD // 100)
            return
        with boa.env.prank(self.governance):
            assert self.registry.slash(op, fraction, self.keeper, share * WAD // 100) == cut_b + cut_u
        p.ba -= cut_b
        p.ua -= cut_u
        p.closed = p.closed or pct == 100

    @rule(i=st.integers(0, 3))
    def poke(self, i: int) -> None:
        op = list(self.pools)[i]
        # The leaves, not the counted weight: a jailed node's lazy leaves are poked out too.
        if self._leaves(op)[0] != 0 and not self.directory.is_eligible(op):
            self.registry.poke(op)
            assert self.directory.nodes(op).weight == 0
            assert self._leaves(op) == (0, False)

    def _leaves(self, op: str) -> tuple[int, bool]:
        """The weight the node's sum-tree leaves hold and whether they are lazy (jailed, the
        weight already out of total_weight; the node's next sync moves them)."""
        word = self.registry.eval(f"self.meta[{op}]")
        return (word >> 204) & (2**32 - 1), bool((word >> 5) & 1)

    # ------------------------------------------- multi-epoch gaps

    @rule(epochs=st.integers(2, 5), beating=st.lists(st.sets(st.integers(0, 3)), min_size=5, max_size=5))
    def epochs_pass_unfinalised(self, epochs: int, beating: list[set[int]]) -> None:
        """Several epochs end with nobody finalising; before each end a different set of node
        keys beats, so nodes go down and come back between their checkpoints."""
        r = self.registry
        first = max(r.epochs_finalised(), (self._now() - r.EPOCH_START()) // r.EPOCH_SECONDS())
        for e in range(epochs):
            end = r.EPOCH_START() + (first + e + 1) * r.EPOCH_SECONDS()
            if self._now() < end - 60:
                boa.env.time_travel(seconds=end - 60 - self._now())
            for i in sorted(beating[e]):
                self.heartbeat(i)
        boa.env.time_travel(seconds=60 + 1)

    @rule(whole=st.integers(0, 5_000))
    def finalize_all_due(self, whole: int) -> None:
        """Rewards arrive before each of the due finalisations, so every epoch has its own step."""
        r = self.registry
        while self._now() >= r.EPOCH_START() + (r.epochs_finalised() + 1) * r.EPOCH_SECONDS():
            self.rewards_arrive(whole)
            whole = (whole * 7 + 1) % 5_001
            with boa.env.prank(self.keeper):
                self.paid_out += r.finalize_epoch()

    @invariant()
    def reserve_covers_every_checkpoint(self) -> None:
        """The reserve covers, exactly (no rounding), what every node's next checkpoint may take across
        its kinds (credit plus forfeit: u * (sum of its kinds' accumulator deltas) / 6e9, u = weight * 6
        // kinds declared) plus the commission already credited; and then every node can checkpoint and
        every account claim, with the token balance still covering what is owed. The kinds' words are
        brought up to now by re-setting the split in force (the setter streams every kind first)."""
        live = self._registered_ops()
        if not live:
            return
        r = self.registry
        with boa.env.anchor():
            with boa.env.prank(self.governance):
                r.set_kind_reward_bps([r.kind_reward_bps(k) for k in (RELAY, TURN, NOTIFY)])
            words = {
                k: r._storage.kind_words.get()[k]
                for k in (RELAY, TURN, NOTIFY)
                if k in r._storage.kind_words.get()
            }
            acc = {k: words.get(k, 0) & MASK120 for k in (RELAY, TURN, NOTIFY)}
            reserve = sum(w >> 160 for w in words.values()) - (r._storage.spent_word.get() >> 128)
            assert reserve == r.reward_reserve()
            nodes = {op: self.directory.nodes(op) for op in self.pools}

            def acc_now(op: str) -> int:
                return sum(acc[k] for k in (RELAY, TURN, NOTIFY) if nodes[op].kinds & k)

            takes = sum(
                n.weight * 6 // max(bin(n.kinds).count("1"), 1) * (acc_now(op) - n.acc_snapshot)
                for op, n in nodes.items()
                if n.weight
            )
            credited = sum(n.commission_accrued for n in nodes.values())
            assert reserve * 6 * 10**9 >= takes + credited * 6 * 10**9
            for op in live:
                beat(r, self.keys[op])  # a checkpoint of every node
            # A deregistered node has weight 0: nothing accrues to it.
            assert all(self.directory.nodes(op).acc_snapshot == acc_now(op) for op in live)
            for op in self.pools:
                for who in self.accounts:
                    with boa.env.prank(who):
                        r.claim(op)
            assert self.token.balanceOf(r.address) >= r.principal() + r.reward_reserve()

    @invariant()
    def per_kind_weights_match_the_nodes(self) -> None:
        """W_k (stake_word) is the sum of u = weight * 6 // kinds declared over the counted nodes that
        declare kind k, and total_weight is (W_RELAY + W_TURN + W_NOTIFY) / 6, i.e. each node once."""
        if not self.pools:
            return
        r = self.registry
        word = r._storage.stake_word.get()
        w = {k: (word >> (96 + 53 * i)) & (2**53 - 1) for i, k in enumerate((RELAY, TURN, NOTIFY))}
        nodes = {op: self.directory.nodes(op) for op in self.pools}
        for k in (RELAY, TURN, NOTIFY):
            assert w[k] == sum(
                n.weight * 6 // bin(self.pools[op].kinds).count("1")
                for op, n in nodes.items()
                if self.pools[op].kinds & k
            )
        assert r.total_weight() * 6 == sum(w.values())
        assert word & (2**96 - 1) == r.principal()

    # ------------------------------------------- the split between the kinds

    @rule(relay=st.integers(0, 10_000), turn=st.integers(0, 10_000), valid=st.booleans())
    def set_split(self, relay: int, turn: int, valid: bool) -> None:
        """The Timelock sets a new split (a share may be 0), or a bad one that must be refused."""
        r = self.registry
        turn = min(turn, 10_000 - relay)
        notify = 10_000 - relay - turn
        if not valid:
            with boa.env.prank(self.governance), boa.reverts("registry: kind bps sum not 10000"):
                r.set_kind_reward_bps([relay, turn, notify + 1])
            return
        with boa.env.prank(self.governance):
            r.set_kind_reward_bps([relay, turn, notify])
        assert [r.kind_reward_bps(k) for k in (RELAY, TURN, NOTIFY)] == [relay, turn, notify]

    @rule(kind=st.sampled_from([RELAY, TURN, NOTIFY]))
    def a_kind_empties(self, kind: int) -> None:
        """The slasher jails every node declaring `kind`: the kind's reward weight drops to 0 and
        what streams to it from now on is fresh again at the next finalisation."""
        for i, op in enumerate(list(self.pools)):
            if self.pools[op].kinds & kind and self.pools[op].registered:
                self.jail(i, 24)
        word = self.registry._storage.stake_word.get()
        i = (RELAY, TURN, NOTIFY).index(kind)
        assert (word >> (96 + 53 * i)) & (2**53 - 1) == 0

    # ------------------------------------------- time-weighted rewards

    @rule(i=st.integers(0, 3), whole=st.integers(1, 200_000), hold=st.sampled_from([0, 0, 1, 60, 1800]))
    def jit_around_finalisation(self, i: int, whole: int, hold: int) -> None:
        """`jit` delegates one block before a (due) finalisation and unbonds everything `hold`
        seconds after it. The stream pays rate * hold wei in all during its stay, of which its
        node gets at most its weight share and `jit` at most its share of the pool: the bound of
        its earnings (0 for a stay of 0 s; before the fix it earned its share of the whole epoch)."""
        r, jit, op = self.registry, self.jit, list(self.pools)[i]
        p = self.pools[op]
        minted = _down(whole * WAD, p.bs, p.ba)
        own = p.shares.get(op, 0)
        saturated = p.bs + minted - own > own * r.saturation_multiple()
        if not p.registered or self._dead(p) or minted == 0 or saturated:
            return
        end = r.EPOCH_START() + (r.epochs_finalised() + 1) * r.EPOCH_SECONDS()
        boa.env.time_travel(seconds=max(end - self._now(), 0))  # the finalisation is due
        before = self.directory.pending_rewards(op, jit)
        with boa.env.prank(jit):
            assert r.delegate(op, whole * WAD) == minted
        self._mint(p, jit, whole * WAD)
        self.deposited[jit] = self.deposited.get(jit, 0) + whole * WAD
        with boa.env.prank(self.keeper):
            self.paid_out += r.finalize_epoch()
        stream, totals = r._storage.stream_word.get(), r._storage.stake_word.get()
        n = self.directory.nodes(op)
        u = n.weight * 6 // bin(p.kinds).count("1")
        boa.env.time_travel(seconds=hold)
        held = p.shares[jit]
        assets = _down(held, p.ba, p.bs)
        with boa.env.prank(jit):
            entry_id = r.unbond(op, held)  # checkpoints the node and settles jit first
        earned = self.directory.pending_rewards(op, jit) - before
        # Per declared kind k: rate_k * hold * u / W_k to the node, held / bs of it to jit (+1 per kind
        # for the roundings); rate_k = rate * bps_k // (sum of the active kinds' bps), 0 if not active.
        bound = 0
        for i, k in enumerate((RELAY, TURN, NOTIFY)):
            w_k = (totals >> (96 + 53 * i)) & (2**53 - 1)
            if p.kinds & k and w_k and (stream >> 204) & k:
                rate_k = (stream & (2**90 - 1)) * ((stream >> (162 + 14 * i)) & (2**14 - 1))
                rate_k //= max((stream >> 207) & (2**14 - 1), 1)
                bound += rate_k * hold * u * held // (w_k * p.bs) + 1
        assert earned <= (bound if hold else 0), (earned, bound, hold)
        p.ba -= assets
        p.bs -= held
        p.shares[jit] = 0
        u_minted = _down(assets, p.us, p.ua)
        p.ua += assets
        p.us += u_minted
        lst = self.entries.setdefault(jit, [])
        assert entry_id == len(lst)
        lst.append(Entry(op, u_minted, self._now() + r.unbonding_seconds()))

    # ------------------------------------------- exits and returns

    @rule(i=st.integers(0, 3), exit_first=st.booleans())
    def deregister(self, i: int, exit_first: bool) -> None:
        """An operator whose own stake is unbonded (or slashed out) leaves: its slots are queued
        for reuse from the next epoch and the last listed node takes its listing index. With
        `exit_first` it unbonds all its own shares first (as `club node exit` does)."""
        op = list(self.pools)[i]
        p = self.pools[op]
        if exit_first and p.registered:
            self.unbond(i, i, 100)  # accounts[i] is operator i
        reason = None
        if not p.registered:
            reason = "registry: not registered"
        elif not p.closed and p.shares.get(op, 0) > 0:
            reason = "registry: self-stake still bonded"
        if reason:
            with boa.env.prank(op), boa.reverts(reason):
                self.registry.deregister()
            return
        assert self.directory.nodes(op).weight == 0
        with boa.env.prank(op):
            self.registry.deregister()
        epoch = self._sampling_epoch()
        for kind in (RELAY, TURN, NOTIFY):
            if p.kinds & kind:
                self.free[kind].append((self.slot_of[kind].pop(op), epoch))
        index = self.listing.index(op)
        last = self.listing.pop()
        if last != op:
            self.listing[index] = last
        p.registered = False

    @rule(i=st.integers(0, 3), whole=st.integers(1, 3))
    def register_again(self, i: int, whole: int) -> None:
        """A deregistered operator comes back with the same kinds and a new key (its old key stays
        retired, attributed to it for evidence, and can never be bound again)."""
        op = list(self.pools)[i]
        p = self.pools[op]
        if p.registered:
            return
        self.rekeys += 1
        self.keys[op] = str(boa.env.generate_address(f"rekey{self.rekeys}"))
        amount = whole * self.minimum * bin(p.kinds).count("1")
        minted = _down(amount, p.bs, p.ba)
        register = lambda: register_node(  # noqa: E731
            self.registry, op, self.keys[op], kinds=p.kinds, amount=amount, tag=f"again{i}"
        )
        if self._dead(p) or minted == 0:
            with boa.reverts(_bond_failure(self._dead(p), minted)):
                register()
            return
        register()
        p.registered = True
        self._take_slots(op, p.kinds)
        self._mint(p, op, amount)
        self.deposited[op] += amount
        beat(self.registry, self.keys[op])

    @invariant()
    def listing_matches_model(self) -> None:
        r = self.registry
        assert r.node_count() == len(self.listing)
        assert [str(self.directory.node_at(j)[0]) for j in range(len(self.listing))] == self.listing

    # ---------------------------------------------------------------- invariants

    @invariant()
    def pools_match_model(self) -> None:
        if not self.pools:
            return
        for op, p in self.pools.items():
            n = self.directory.nodes(op)
            assert (n.bonded_assets, n.bonded_shares, n.unbonding_assets, n.unbonding_shares) == (
                p.ba,
                p.bs,
                p.ua,
                p.us,
            )
            assert n.weight in (0, n.bonded_assets // WAD)  # whole CLUB
            if n.jailed:
                assert n.weight == 0
            if n.weight:
                assert self._self_assets(op) >= self.minimum * bin(p.kinds).count("1")

    @invariant()
    def solvent_and_totals(self) -> None:
        if not self.pools:
            return
        r = self.registry
        principal = sum(p.ba + p.ua for p in self.pools.values())
        assert r.principal() == principal
        assert self.token.balanceOf(r.address) >= r.principal() + r.reward_reserve()
        weights = {op: self.directory.nodes(op).weight for op in self.pools}
        assert r.total_weight() == sum(weights.values())
        leaves = {op: self._leaves(op) for op in self.pools}
        for op, (leaf, lazy) in leaves.items():
            # Lazy leaves belong to a jailed node whose counted weight is already 0; other
            # leaves hold exactly the counted weight.
            assert (weights[op] == 0 and self.directory.nodes(op).jailed) if lazy else weights[op] == leaf
        for kind in (RELAY, TURN, NOTIFY):
            assert r.total_stake(kind) == WAD * sum(
                leaf for op, (leaf, _) in leaves.items() if self.pools[op].kinds & kind
            )
        assert self.paid_out <= self.sent
        for who, out in self.withdrawn.items():
            assert out <= self.deposited.get(who, 0)

    @invariant()
    def rewards_never_over_distributed(self) -> None:
        """Everything every account could claim right now is covered by the reward reserve, and
        what was paid plus what is claimable never exceeds what was sent (claims settle against
        the pool accumulator and commission booked by the node's last checkpoint)."""
        if not self.pools:
            return
        r = self.registry
        claimable = sum(
            self.directory.pending_rewards(op, who) for op in self.pools for who in [*self.accounts, self.jit]
        )
        assert claimable <= r.reward_reserve()
        assert self.paid_out + claimable <= self.sent

    @invariant()
    def sampled_nodes_are_eligible(self) -> None:
        if not self.pools:
            return
        seed = self._now().to_bytes(32, "big")
        for kind in (RELAY, TURN, NOTIFY):
            got = self.registry.sample(kind, seed, 4)
            assert len(got) == len(set(got))
            for op in got:
                assert self.pools[str(op)].kinds & kind
                assert self.directory.is_eligible(op)

    # ------------------------------------------- sampling epochs (security review, finding 1)
    # The model's copy of the weights frozen at the start of the sampling epoch it last saw begin
    # (`sampling_epoch_begins` snapshots them just before the boundary); None when another rule
    # crossed a boundary unobserved. While it is known, every draw must equal a Python mirror of
    # the sampler over those frozen weights, whatever stake, unbond, slash or jail did since.

    frozen_epoch: int | None = None
    frozen: dict[int, list[int]] | None = None  # kind -> leaf per slot at the epoch's start

    def _leaf(self, kind: int, slot: int) -> int:
        """A slot's live leaf: its owner's weight while the owner holds it, else 0 (a free slot;
        its last owner may hold another slot by now)."""
        op = self.slots[kind][slot]
        return self._leaves(op)[0] if self.slot_of[kind].get(op) == slot else 0

    def _sampling_epoch(self) -> int:
        r = self.registry
        return max(self._now() - r.EPOCH_START(), 0) // r.EPOCH_SECONDS()

    @rule()
    def sampling_epoch_begins(self) -> None:
        r = self.registry
        leaves = {k: [self._leaf(k, j) for j in range(len(self.slots[k]))] for k in (RELAY, TURN, NOTIFY)}
        epoch = self._sampling_epoch() + 1
        boa.env.time_travel(seconds=r.EPOCH_START() + epoch * r.EPOCH_SECONDS() - self._now())
        assert r.sampling_epoch() == epoch
        self.frozen, self.frozen_epoch = leaves, epoch
        for kind in (RELAY, TURN, NOTIFY):
            frozen = sum(leaves[kind])
            assert r.sampling_stake(kind) == WAD * frozen or frozen == 0
        if not r.epoch_seed()[1]:
            fallback = r.epoch_seed()[0]
            with boa.env.prank(self.keeper):
                assert r.record_epoch_seed()
                ev = r.get_logs()[-1]
            assert ev.epoch == epoch and r.epoch_seed() == (ev.seed, True) and ev.seed != fallback
        with boa.env.prank(self.keeper):
            assert not r.record_epoch_seed()

    def _mirror(self, kind: int, seed: bytes, k: int) -> list[str]:
        """`sample` in Python over the frozen model weights (the live ones if none is frozen)."""
        assert self.frozen is not None
        r = self.registry
        ops = self.slots[kind]  # slot order; a free slot's owner is its last one
        frozen = self.frozen.get(kind, [])
        weights = [frozen[j] if j < len(frozen) else 0 for j in range(len(ops))]
        if sum(weights) == 0:
            weights = [self._leaf(kind, j) for j in range(len(ops))]
        mixed = keccak(bytes(r.epoch_seed()[0]) + seed)
        return [ops[j] for j in mirror_draws(weights, mixed, k, lambda j: self.directory.is_eligible(ops[j]))]

    @invariant()
    def draws_follow_the_frozen_weights(self) -> None:
        if not self.pools or self.frozen_epoch != self._sampling_epoch():
            return
        for kind in (RELAY, TURN, NOTIFY):
            for n in range(3):
                seed = keccak(n.to_bytes(32, "big"))
                assert [str(a) for a in self.registry.sample(kind, seed, 3)] == self._mirror(kind, seed, 3)


_PROFILE_IS_DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def test_registry_stateful(token, protocol, params):
    RegistryMachine.registry = protocol["NodeRegistry"]
    RegistryMachine.directory = protocol["NodeDirectory"]
    RegistryMachine.token = token
    RegistryMachine.governance = str(protocol["Timelock"].address)
    RegistryMachine.minimum = params.registry.min_self_stake_per_kind_wei
    run = RegistryMachine.TestCase
    run.settings = settings(
        max_examples=200 if _PROFILE_IS_DEEP else 4,
        stateful_step_count=100 if _PROFILE_IS_DEEP else 40,
        deadline=None,
    )
    run().runTest()
