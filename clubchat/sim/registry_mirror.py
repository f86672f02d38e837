"""Exact (wei) mirror of NodeRegistry's reward accounting, for the contracts-in-the-loop replay.

Written from contracts/nodes/NodeRegistry.vy (its header's "Rewards" paragraphs and `finalize_epoch`,
`_streamed`, `_accrual`, `_checkpoint`, `_settle`, `_bond`, `_sync`, `claim`): every integer division
rounds where the contract's does, so what the mirror says each claim pays is what the chain pays, to
the wei. The replay (clubchat.sim.loop) applies every registry call it sends to the mirror too, at the
same block time, and compares what was claimed.

What it follows: the reward stream (rate, end, period, epochs finalised), the reward accumulator(s)
and reserve, the principal (bonded + unbonding assets, which `finalize_epoch` subtracts from the
balance), the total weight, and per node its weight, accumulator snapshot, pool accumulator,
commission and bonded pool, per account its shares, pool-accumulator snapshot and settled rewards.
What it leaves out because the replay never does it: slashing, jail, withdrawals, commission changes,
deregistration; the unbonding class is counted only in the principal.

Two reward rules: `PerKindRewards`, the registry's per-kind streams split by `kind_reward_bps`, and
`OnePoolRewards`, the one accumulator it had before (`kind_bps=None`; the replay's test shows that this
mirror no longer matches the chain).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

ACC_SCALE = 10**9
UNIT = 10**18
WAD = 10**18
BPS = 10_000
MASK128 = 2**128 - 1
REWARD_ACC_MASK = 2**120 - 1
KIND_BITS = (1, 2, 4)


def count_kinds(kinds: int) -> int:
    return sum(1 for k in KIND_BITS if kinds & k)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class _Account:
    shares: int = 0
    snapshot: int = 0  # pool accumulator at the last settlement
    rewards: int = 0  # settled, not claimed


@dataclass
class _Node:
    kinds: int
    commission_bps: int
    live_until: int = 0
    weight: int = 0  # whole CLUB in the total weight (0 while not eligible)
    acc_snapshot: int = 0  # reward accumulator at the last checkpoint
    pool_acc: int = 1  # reward per bonded share, 1e18-scaled (starts at 1: `register`)
    bonded_assets: int = 0
    bonded_shares: int = 0
    commission: int = 0  # credited to the operator, not claimed
    accounts: dict[str, _Account] = field(default_factory=dict)


class OnePoolRewards:
    """The one reward accumulator of the registry before per-kind streams (`epoch_word`): a node earns
    weight x (accumulator delta) / ACC_SCALE, the accumulator grows by rate x seconds x ACC_SCALE /
    total weight."""

    def __init__(self) -> None:
        self.acc = self.time = self.reserve = 0
        self.total_weight = 0

    def stream_all(self, now: int, rate: int, end: int) -> None:
        """`_stream`: the accumulator brought up to `now`; the step rounds down, the reserve up."""
        if self.time >= now:
            return
        stop = min(end, now)
        if stop > self.time and self.total_weight > 0:
            step = min(rate * (stop - self.time) * ACC_SCALE // self.total_weight, REWARD_ACC_MASK - self.acc)
            self.acc += step
            self.reserve += _ceil_div(self.total_weight * step, ACC_SCALE)
        self.time = now

    def accrue(self, node: _Node, now: int, rate: int, end: int) -> tuple[int, int]:
        """A checkpoint's part: (the node's accumulator now, its credit since its snapshot)."""
        self.stream_all(now, rate, end)
        if node.weight == 0 or self.acc <= node.acc_snapshot:
            return self.acc, 0
        return self.acc, node.weight * (self.acc - node.acc_snapshot) // ACC_SCALE

    def reweigh(self, node: _Node, target: int) -> None:
        self.total_weight += target - node.weight

    def finalised(self) -> None:
        """Nothing to split: one stream."""

    def take(self, amount: int) -> None:
        """Claims and forfeits come out of the reserve."""
        self.reserve -= amount

    @property
    def owed(self) -> int:
        return self.reserve


REWARD_UNITS = 6  # reward units per whole CLUB of weight: u = weight * 6 // n_kinds, exact for 1-3 kinds


@dataclass
class _KindWord:
    acc: int = 0  # reward per reward unit, ACC_SCALE x REWARD_UNITS-scaled
    time: int = 0
    streamed: int = 0  # wei streamed to the kind so far, rounded up per update (its part of the reserve)


class PerKindRewards:
    """NodeRegistry's per-kind streams (`kind_words`, `spent_word`, the split in `stream_word`).

    * A node's reward weight in each kind it declares is u = weight * 6 // n (n kinds declared);
      W_k is the sum of u over the counted nodes declaring kind k.
    * The stream (one rate for all kinds) is split at each finalisation over the kinds that have
      reward weight then ("active"): rate_k = rate * bps_k // (sum of the active kinds' bps), 0 for a
      kind not active (and nothing streams while the active kinds' bps sum to 0).
    * Each kind's word is brought up to now on its own: step = rate_k * dt * 6e9 // W_k (rounded
      down), its streamed amount grows by ceil(W_k * step / 6e9); a checkpoint brings up to now only
      the node's declared kinds, `finalize_epoch` and `set_kind_reward_bps` all three.
    * A node's snapshot is the sum of its declared kinds' accumulators; its credit is
      u * (sum now - snapshot) // 6e9, rounded down once per checkpoint.
    * Claims and forfeits add to one "spent" counter: reserve = sum of the kinds' streamed - spent.
    """

    def __init__(self, bps: tuple[int, int, int]) -> None:
        self.bps = dict(zip(KIND_BITS, bps, strict=True))
        self.words = {k: _KindWord() for k in KIND_BITS}
        self.weights = dict.fromkeys(KIND_BITS, 0)
        self.spent = 0
        self.active = 0  # kind flags with reward weight at the last finalisation (or split change)
        self.active_bps = 0

    def _stream(self, kind: int, now: int, rate: int, end: int) -> int:
        w = self.words[kind]
        if w.time >= now:
            return w.acc
        stop = min(end, now)
        weight = self.weights[kind]
        if stop > w.time and weight > 0 and self.active & kind:
            kind_rate = rate * self.bps[kind] // self.active_bps if self.active_bps else 0
            step = min(
                kind_rate * (stop - w.time) * REWARD_UNITS * ACC_SCALE // weight, REWARD_ACC_MASK - w.acc
            )
            w.acc += step
            w.streamed += _ceil_div(weight * step, REWARD_UNITS * ACC_SCALE)
        w.time = now
        return w.acc

    def stream_all(self, now: int, rate: int, end: int) -> None:
        for kind in KIND_BITS:
            self._stream(kind, now, rate, end)

    def accrue(self, node: _Node, now: int, rate: int, end: int) -> tuple[int, int]:
        acc_now = sum(self._stream(k, now, rate, end) for k in KIND_BITS if node.kinds & k)
        if node.weight == 0 or acc_now <= node.acc_snapshot:
            return acc_now, 0
        u = node.weight * REWARD_UNITS // count_kinds(node.kinds)
        return acc_now, u * (acc_now - node.acc_snapshot) // (REWARD_UNITS * ACC_SCALE)

    def reweigh(self, node: _Node, target: int) -> None:
        n = count_kinds(node.kinds)
        for k in KIND_BITS:
            if node.kinds & k:
                self.weights[k] += target * REWARD_UNITS // n - node.weight * REWARD_UNITS // n

    def finalised(self) -> None:
        """The split is taken over the kinds that have reward weight now."""
        self.active = sum(k for k in KIND_BITS if self.weights[k])
        self.active_bps = sum(self.bps[k] for k in KIND_BITS if self.active & k)

    def set_bps(self, bps: tuple[int, int, int]) -> None:
        """`set_kind_reward_bps` after every kind was brought up to now: the new split, the active kinds
        taken from the weights now."""
        self.bps = dict(zip(KIND_BITS, bps, strict=True))
        self.finalised()

    def take(self, amount: int) -> None:
        self.spent += amount

    @property
    def owed(self) -> int:
        return sum(w.streamed for w in self.words.values()) - self.spent

    @property
    def total_weight(self) -> int:
        return sum(self.weights.values()) // REWARD_UNITS


class RegistryMirror:
    """NodeRegistry's reward accounting in Python integers; call its methods as the chain's are called."""

    def __init__(
        self, *, min_self_stake_per_kind: int, heartbeat_seconds: int, finalize_tip: int, stream_seconds: int,
        kind_bps: tuple[int, int, int] | None = None,
    ) -> None:  # fmt: skip
        self.min_self = min_self_stake_per_kind
        self.heartbeat_seconds, self.finalize_tip = heartbeat_seconds, finalize_tip
        self.rate = self.end = self.epochs = 0
        self.period = stream_seconds
        self.rewards: OnePoolRewards | PerKindRewards = (
            OnePoolRewards() if kind_bps is None else PerKindRewards(kind_bps)
        )
        self.principal = 0
        self.balance = 0  # the registry's CLUB balance
        self.nodes: dict[str, _Node] = {}
        self.paid = 0  # claims paid in all

    # -- governance and token flows ---------------------------------------------------------------

    def set_timing(self, *, heartbeat_seconds: int, stream_seconds: int) -> None:
        """`set_parameters` with a new heartbeat period and stream period (it touches no reward word)."""
        self.heartbeat_seconds, self.period = heartbeat_seconds, stream_seconds

    def receive(self, amount: int) -> None:
        """CLUB sent to the registry outside staking (Emission's node share, Premium's)."""
        self.balance += amount

    # -- registry calls ---------------------------------------------------------------------------

    def register(self, node: str, kinds: int, commission_bps: int, amount: int, now: int) -> None:
        self.nodes[node] = _Node(kinds=kinds, commission_bps=commission_bps)
        self._bond(node, node, amount, now)

    def delegate(self, node: str, account: str, amount: int, now: int) -> None:
        self._bond(node, account, amount, now)

    def unbond(self, node: str, account: str, share_amount: int, now: int) -> None:
        n = self._checkpoint(node, now)
        self._settle(n, account, pay=False)
        assets = share_amount * (n.bonded_assets + 1) // (n.bonded_shares + 1)
        n.bonded_assets -= assets
        n.bonded_shares -= share_amount
        n.accounts[account].shares -= share_amount
        # the assets move to the unbonding class: the principal is unchanged
        self._sync(node, now)

    def heartbeat(self, node: str, now: int) -> None:
        n = self._checkpoint(node, now)
        n.live_until = now + self.heartbeat_seconds
        self._sync(node, now)

    def set_kind_reward_bps(self, bps: tuple[int, int, int], now: int) -> None:
        """The Timelock's `set_kind_reward_bps` (per-kind streams only): every kind up to now first."""
        if not isinstance(self.rewards, PerKindRewards):
            raise TypeError("the one-pool registry has no kind_reward_bps")
        self.rewards.stream_all(now, self.rate, self.end)
        self.rewards.set_bps(bps)

    def poke(self, node: str, now: int) -> None:
        """`poke(node)`: a checkpoint, then the node's weight set to 0 if it is not eligible."""
        self._checkpoint(node, now)
        self._sync(node, now)

    def finalize_epoch(self, now: int) -> tuple[int, int]:
        """(rewards, tip) as `EpochFinalised` reports them."""
        self.rewards.stream_all(now, self.rate, self.end)
        left = self.rate * (self.end - now) if self.end > now else 0
        owed = self.principal + self.rewards.owed + left
        fresh = max(self.balance - owed, 0)
        tip = min(self.finalize_tip, fresh)
        fresh -= tip
        self.rate = (fresh + left) // self.period
        self.end = now + self.period
        self.epochs += 1
        self.rewards.finalised()
        self.balance -= tip
        return fresh, tip

    def claim(self, node: str, account: str) -> int:
        """What `claim(node)` sent by `account` pays (no checkpoint: what the last one booked)."""
        n = self.nodes[node]
        amount = self._settle(n, account, pay=True)
        if account == node:
            amount += n.commission
            n.commission = 0
        self.rewards.take(amount)
        self.balance -= amount
        self.paid += amount
        return amount

    def pending(self, node: str, account: str) -> int:
        """What `pending_rewards(node, account)` reads: settled rewards, the shares' part up to the node's
        last checkpoint and (the operator) the commission."""
        n = self.nodes[node]
        a = n.accounts.get(account, _Account())
        owed = a.rewards + a.shares * (n.pool_acc - a.snapshot) // WAD
        return owed + (n.commission if account == node else 0)

    def reserve_now(self, now: int) -> int:
        """The `reward_reserve()` view: the reserve with every kind brought up to `now`, computed on a
        copy (a view stores nothing, and bringing a word up in two steps rounds differently)."""
        rewards = copy.deepcopy(self.rewards)
        rewards.stream_all(now, self.rate, self.end)
        return rewards.owed

    @property
    def total_weight(self) -> int:
        return self.rewards.total_weight

    @property
    def rule(self) -> str:
        """The reward rule mirrored: "per-kind streams" or "one pool"."""
        return "per-kind streams" if isinstance(self.rewards, PerKindRewards) else "one pool"

    def assets_of(self, node: str, account: str) -> int:
        """CLUB wei `account`'s bonded shares of `node`'s pool are worth (rounded down, as the view)."""
        n = self.nodes[node]
        a = n.accounts.get(account)
        return 0 if a is None else a.shares * (n.bonded_assets + 1) // (n.bonded_shares + 1)

    # -- internals --------------------------------------------------------------------------------

    def _checkpoint(self, node: str, now: int) -> _Node:
        n = self.nodes[node]
        acc_now, credit = self.rewards.accrue(n, now, self.rate, self.end)
        if acc_now == n.acc_snapshot:
            return n
        n.acc_snapshot = acc_now
        if credit == 0:
            return n
        if n.live_until < now:
            self.rewards.take(credit)  # forfeited: fresh again at the next finalisation
            return n
        commission = credit * n.commission_bps // BPS
        to_pool = credit - commission
        if n.bonded_shares > 0:
            n.pool_acc += min(to_pool * WAD // n.bonded_shares, MASK128 - n.pool_acc)
        else:
            commission += to_pool
        n.commission += commission
        return n

    def _settle(self, n: _Node, account: str, *, pay: bool) -> int:
        a = n.accounts.setdefault(account, _Account())
        owed = a.rewards + a.shares * (n.pool_acc - a.snapshot) // WAD
        a.snapshot = n.pool_acc
        a.rewards = 0 if pay else owed
        return owed

    def _bond(self, node: str, account: str, amount: int, now: int) -> None:
        n = self._checkpoint(node, now)
        self._settle(n, account, pay=False)
        minted = amount * (n.bonded_shares + 1) // (n.bonded_assets + 1)
        n.bonded_assets += amount
        n.bonded_shares += minted
        n.accounts[account].shares += minted
        self.principal += amount
        self.balance += amount
        self._sync(node, now)

    def _sync(self, node: str, now: int) -> None:
        n = self.nodes[node]
        own = n.accounts[node].shares * (n.bonded_assets + 1) // (n.bonded_shares + 1)
        eligible = now <= n.live_until and own >= self.min_self * count_kinds(n.kinds)
        target = n.bonded_assets // UNIT if eligible else 0
        if target != n.weight:
            self.rewards.reweigh(n, target)
        n.weight = target
