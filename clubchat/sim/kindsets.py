"""Operators that serve several node kinds, as NodeRegistry lets them, and capital as a condition of entry.

The registry identifies a node by its operator and lets it declare any non-empty set of kinds (a
bitmask: RELAY = 1, TURN = 2, NOTIFY = 4). What that does, read from contracts/nodes/NodeRegistry.vy:

* stake: the node bonds at least `min_self_stake` x the number of kinds it declares (one pool);
* rewards: the registry splits what it streams (emission and premium's node share) into one stream
  per kind by the Timelock-set `kind_reward_bps` (`kind_reward_split`), taken over the kinds that
  have reward weight when it finalises (a kind with no nodes leaves its share to the others,
  renormalised by their bps: `active_split`); in each kind it declares a node weighs its weight
  divided by its number of declared kinds, so declaring kinds does not multiply its rewards, and a
  second kind earns it a share of that kind's stream. AdMarket pays the delivering NOTIFY node's
  operator, so declaring NOTIFY adds ad income. Before the per-kind streams the registry paid one
  stream by weight, each node counted once whatever its kinds (a split of all zero: a second kind
  earned nothing from the pool);
* sampling: the node's whole weight sits in the sum tree of every kind it declares, so a tree's
  total is the stake of every node serving that kind, single- or multi-kind.

The model follows operators by kind set (the seven non-empty subsets, indexed bitmask - 1). A set's
per-kind node count is the number of nodes serving that kind. Per node and day:

* reward: each declared kind's stream, in which the node weighs its weight divided by its number of
  declared kinds (deployed: `kind_reward_split`; premium's node share with it, or by
  `premium_fee_routing` in that design), or in the one-stream design (split all zero) the one
  stream by weight (with `kind_reward_multiplier` a node weighs the mean of its kinds' multipliers);
* stake: delegators equalise the yield, so each set holds the share of the stake it earns of the
  rewards; self-stake is the set's minimum (kinds x `min_self_stake`) plus an equal share of what
  operators hold above the minima;
* server cost: the dearest declared kind in full plus `extra_kind_cost_share` of each other kind's
  (one machine, one operator); variable costs of each kind's traffic, shared by its nodes;
* entry and exit: the node count of each set moves by the spread operators' response
  (clubchat.sim.population), entry only from operators whose capital covers the set's minimum
  self-stake (`capital_eligible`); operators of a set add or drop one kind at `kind_switch_speed`
  when the neighbouring set earns the median operator more (`switch_flows`).

Only single-kind sets exist at genesis; with `kind_switch_speed` = 0 they stay the only ones, which
is the single-kind model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from clubchat.sim.parameters import KINDS, SimParams

Array = Any  # numpy scalar or ndarray, as in clubchat.sim.model
N_KINDS = 3
N_SETS = 7
# MEMBERS[i, k] = 1 when the set with bitmask i + 1 declares kind k (RELAY, TURN, NOTIFY = bits 0-2).
MEMBERS: npt.NDArray[np.float64] = np.array(
    [[(i + 1) >> k & 1 for k in range(N_KINDS)] for i in range(N_SETS)], dtype=np.float64
)
SIZE: npt.NDArray[np.float64] = MEMBERS.sum(axis=1)
# Index of the single-kind set of each kind (bitmasks 1, 2, 4).
SINGLE: npt.NDArray[np.int64] = np.array([(1 << k) - 1 for k in range(N_KINDS)])
# NEIGHBOUR[i, j]: set j is set i with one kind added or dropped.
NEIGHBOUR: npt.NDArray[np.bool_] = np.abs(MEMBERS[:, None, :] - MEMBERS[None, :, :]).sum(axis=-1) == 1
MULTI: npt.NDArray[np.float64] = (SIZE > 1).astype(np.float64)
# SHARED[i, k]: the reward weight in kind k's stream of a node of set i, per unit of its weight, under
# per-kind streams: 1 / its number of kinds for each kind it declares (NodeRegistry's weight * 6 // n).
SHARED: npt.NDArray[np.float64] = MEMBERS / SIZE[:, None]
# The moves between neighbouring sets (18 of them): from set _FROM[m] to set _TO[m]; _FROM_SET sums
# per-move values by origin, _NET turns per-move flows into each set's net change.
_FROM, _TO = np.nonzero(NEIGHBOUR)
_FROM_SET: npt.NDArray[np.float64] = (_FROM[:, None] == np.arange(N_SETS)).astype(np.float64)
_NET: npt.NDArray[np.float64] = (_TO[:, None] == np.arange(N_SETS)).astype(np.float64) - _FROM_SET


def label(index: int) -> str:
    """The set's kinds joined by '+', e.g. 'RELAY+NOTIFY'."""
    return "+".join(KINDS[k] for k in range(N_KINDS) if MEMBERS[index, k])


def from_kinds(per_kind: Any) -> npt.NDArray[np.float64]:
    """Single-kind sets holding `per_kind` nodes each (the genesis operators)."""
    out = np.zeros(N_SETS)
    out[SINGLE] = np.asarray(per_kind, dtype=np.float64)
    return out


def per_kind(nodes_by_set: Array) -> Array:
    """Nodes serving each kind (a multi-kind node counts in every kind it declares)."""
    return np.asarray(nodes_by_set) @ MEMBERS


def set_fixed_cost(fixed_per_kind: Any, extra_share: float) -> npt.NDArray[np.float64]:
    """Server cost of each set per node: its dearest kind in full, each other kind at `extra_share`."""
    f = MEMBERS * np.asarray(fixed_per_kind, dtype=np.float64)
    dearest = f.max(axis=1)
    return dearest + extra_share * (f.sum(axis=1) - dearest)


def set_multiplier(kind_multiplier: Any) -> npt.NDArray[np.float64]:
    """Weight per unit stake of each set in the one-stream design: the mean of its kinds' multipliers
    (its weight split evenly over its kinds, as under per-kind streams, so declaring kinds does not
    multiply it; 1 without multipliers)."""
    return SHARED @ np.asarray(kind_multiplier, dtype=np.float64)


def set_rewards(
    nodes_by_set: Array, pooled: Array, per_kind_streams: Array, multiplier: npt.NDArray[np.float64]
) -> Array:
    """CLUB per node and day of each set: `pooled` (CLUB/day, paid by weight = multiplier x stake once
    per node: the one-stream design) and `per_kind_streams` (CLUB/day per kind; NodeRegistry weighs a
    node in each kind it declares by its weight / its number of kinds, so declaring kinds does not
    multiply its rewards; nodes of a tree weigh alike otherwise)."""
    n = np.asarray(nodes_by_set)
    weight = (n * multiplier).sum(axis=-1, keepdims=True)
    kind_weight = np.maximum(n @ SHARED, 1e-300)
    per_unit = np.asarray(per_kind_streams) / kind_weight
    return np.asarray(pooled)[..., None] * multiplier / weight + per_unit @ SHARED.T


def active_split(kind_split: npt.NDArray[np.float64], nodes_by_set: Array) -> Array:
    """The per-kind split over the kinds some node serves: NodeRegistry takes `kind_reward_bps` over the
    kinds that have reward weight when it finalises (rate_k = rate x bps_k / the active kinds' bps), so a
    kind with no nodes leaves its share to the others instead of stranding it. All zero when no kind with
    a share has nodes (nothing is streamed; it stays in the registry's balance)."""
    share = np.where(per_kind(nodes_by_set) > 0, kind_split, 0.0)
    total = share.sum(axis=-1, keepdims=True)
    return share / np.where(total > 0, total, 1.0)


def pool_economics(
    nodes_by_set: Array, stream: Array, premium: Array, staked: Array,
    kind_split: npt.NDArray[np.float64] | None, premium_routing: npt.NDArray[np.float64] | None,
    multiplier: npt.NDArray[np.float64],
) -> tuple[Array, Array]:  # fmt: skip
    """(CLUB per node and day each set's pool earns, CLUB staked per node of each set).

    `stream` is the registry's emission income and `premium` Premium's node share (CLUB/day). Deployed
    (`kind_split`): both reach the registry and are split by kind over the kinds that have nodes
    (`active_split`), each kind's part shared by the nodes serving it; with `premium_routing` premium
    is split by that instead. With no split (the one-stream design) both are one stream by weight, each
    node counted once. Delegators equalise the yield, so a node holds the share of the stake that it
    earns of the rewards (by node count when nothing is paid).
    """
    stream, premium = np.asarray(stream), np.asarray(premium)
    n = np.asarray(nodes_by_set)
    pooled: Array = 0.0
    by_kind: Array = np.zeros(N_KINDS)
    split = None if kind_split is None else active_split(kind_split, n)
    if split is None:
        pooled = pooled + stream
    else:
        by_kind = by_kind + stream[..., None] * split
    if premium_routing is not None:
        by_kind = by_kind + premium[..., None] * premium_routing
    elif split is None:
        pooled = pooled + premium
    else:
        by_kind = by_kind + premium[..., None] * split
    reward = set_rewards(n, pooled, by_kind, multiplier)
    paid = (n * reward).sum(axis=-1, keepdims=True)
    total = np.asarray(staked)[..., None]
    equal = total / n.sum(axis=-1, keepdims=True)
    return reward, np.where(paid > 0, total * reward / np.where(paid > 0, paid, 1.0), equal)


def own_stake(nodes_by_set: Array, self_stake: Array, minimum: float) -> Array:
    """Self-stake per node of each set: its minimum (kinds x minimum) plus an equal share of what the
    operators hold above all the minima."""
    n = np.asarray(nodes_by_set)
    floor = (n * SIZE).sum(axis=-1) * minimum
    extra = np.maximum(np.asarray(self_stake) - floor, 0.0) / n.sum(axis=-1)
    return SIZE * minimum + np.asarray(extra)[..., None]


def capital_eligible(p: SimParams, price: Array) -> Array:
    """Share of would-be operators of each set whose capital covers its minimum self-stake at the price:
    capital is log-normal with median `operator_wealth_usd` and spread `operator_wealth_sigma` (1 for
    everyone when the spread is 0 and the median covers it)."""
    need = SIZE * p.min_self_stake * np.asarray(price)[..., None]
    if p.operator_wealth_sigma <= 0:
        return (need <= p.operator_wealth_usd).astype(np.float64)
    z = np.log(p.operator_wealth_usd / np.maximum(need, 1e-300)) / p.operator_wealth_sigma
    return ndtr(z)


def switch_flows(
    p: SimParams, nodes_by_set: Array, profit: Array, cost: Array, eligible: Array,
    nodes_min: npt.NDArray[np.float64],
) -> Array:  # fmt: skip
    """Net change of each set's node count from operators adding or dropping one kind: from set i to a
    neighbouring set j at `kind_switch_speed` x tanh((profit_j - profit_i) / cost_i) when positive (the
    median operator's profit per node), a share of operators split over the better neighbours by their
    gain; adding a kind also needs the capital for its minimum (eligible_j / eligible_i). The
    community's floor nodes (`nodes_min` single-kind nodes per kind) keep their one kind."""
    n = np.asarray(nodes_by_set)
    if p.kind_switch_speed <= 0:
        return np.zeros_like(n)
    prof, c, e = np.asarray(profit), np.asarray(cost), np.asarray(eligible)
    gain = np.maximum((prof[..., _TO] - prof[..., _FROM]) / c[..., _FROM], 0.0)  # per move
    total = gain @ _FROM_SET  # per set, over its moves
    share = gain / np.where(total > 0, total, 1.0)[..., _FROM]
    can = np.minimum(e[..., _TO] / np.maximum(e[..., _FROM], 1e-300), 1.0)
    rate = p.kind_switch_speed * np.tanh(total)[..., _FROM] * share * can
    movable = np.array(n, copy=True)
    movable[..., SINGLE] = np.maximum(movable[..., SINGLE] - nodes_min, 0.0)
    return (movable[..., _FROM] * rate) @ _NET


def with_floor(nodes_by_set: Array, nodes_min: npt.NDArray[np.float64]) -> Array:
    """Single-kind nodes added where a kind has fewer than its community-run floor of nodes."""
    n = np.array(nodes_by_set, copy=True)
    short = np.maximum(nodes_min - per_kind(n), 0.0)
    n[..., SINGLE] += short
    return n


def where_present(nodes_by_set: Array, per_set: Any) -> Array:
    """`per_set(index)` evaluated only on the sets some run has nodes in (0 elsewhere): a response that
    multiplies a node count of 0 need not be computed (most runs hold three or four sets)."""
    n = np.asarray(nodes_by_set)
    present = np.flatnonzero((n.reshape(-1, N_SETS) > 0).any(axis=0))
    out = np.zeros(n.shape)
    out[..., present] = per_set(present)
    return out
