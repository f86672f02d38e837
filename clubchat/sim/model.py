"""The Club Chat token-economy model in cadCAD form: state, policies, state-update functions.

Every function here is pure and works unchanged on one run (numpy scalars, per-kind
arrays of shape (3,)) and on many runs at once (arrays of shape (R,) and (R, 3)): the
vectorised Monte Carlo engine (clubchat.sim.engine) and the plain radCAD adapter
(clubchat.sim.radcad_model) execute the *same* blocks, so the benchmark compares the
same model, and a test checks both give the same numbers.

One timestep is one day. Units: CLUB (whole tokens), USD, days; per-kind arrays are
ordered like `parameters.KINDS` (RELAY, TURN, NOTIFY).

Blocks (partial state update blocks, run in order each day):
1. market   - CLUB price (geometric Brownian motion, `price_drift` = median log-return)
              and daily active users (noisy logistic).
2. supply   - emission epochs and their split, vesting unlocks, treasury spending,
              premium and ad-market payments and burns.
3. staking  - holders compare the staking yield with outside yield + a liquidity premium
              that grows with the unbonding period; unbonding queue; slashing.
4. nodes    - per kind: operator income (rewards pro rata to stake, commission, fees) vs
              USD costs → node count enters/exits; capacity vs demand.
5. metrics  - total and circulating supply, stake ratio, attack costs in USD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from clubchat.sim import schedules, security
from clubchat.sim.parameters import YEAR_DAYS, SimParams

Array = Any  # numpy scalar or ndarray: the same code runs on one run or on many
State = dict[str, Array]
Signals = dict[str, Array]
Policy = Callable[[SimParams, "Context", State, int, Array], Signals]
Update = Callable[[SimParams, "Context", State, Signals], Array]

N_SHOCKS = 2  # standard normal draws per run and day: price, users
DT = 1.0 / YEAR_DAYS


@dataclass
class Context:
    """What is computed once per parameter set (deterministic schedules, constants)."""

    inputs: dict[str, npt.NDArray[np.float64]]
    panel_share: float
    fixed_usd_day: npt.NDArray[np.float64]
    var_usd: npt.NDArray[np.float64]
    capacity: npt.NDArray[np.float64]
    nodes_min: npt.NDArray[np.float64]
    seed_sequences: dict[int, np.random.SeedSequence] = field(default_factory=dict)
    _generators: dict[int, np.random.Generator] = field(default_factory=dict)

    def generator(self, run: int) -> np.random.Generator:
        """The seeded generator of run `run` (used by the one-run-at-a-time engines)."""
        if run not in self._generators:
            self._generators[run] = np.random.default_rng(self.seed_sequences[run])
        return self._generators[run]


def make_context(p: SimParams, n_days: int) -> Context:
    return Context(
        inputs=schedules.daily_inputs(p, n_days),
        panel_share=security.stake_share_for_panel(p.panel_size, p.panel_capture_prob),
        fixed_usd_day=np.asarray(p.node_fixed_usd_month, dtype=np.float64) / 30.0,
        var_usd=np.asarray(p.node_var_usd_per_unit, dtype=np.float64),
        capacity=np.asarray(p.node_capacity_units_day, dtype=np.float64),
        nodes_min=np.asarray(p.nodes_min, dtype=np.float64),
    )


def initial_state(p: SimParams, ctx: Context) -> State:
    """State at genesis (day 0) for one run; the vectorised engine broadcasts it over runs."""
    nodes = np.asarray(p.nodes0, dtype=np.float64)
    vested0 = float(ctx.inputs["vested"][0])
    locked = p.vesting_total - vested0
    total = p.genesis_total
    circulating = total - locked - p.genesis_treasury
    staked = float(nodes.sum()) * p.min_self_stake * p.stake0_multiple
    s: State = {
        "price_usd": np.float64(p.price0_usd),
        "users": np.float64(p.users0),
        "emitted": np.float64(0.0),
        "vested": np.float64(vested0),
        "treasury": np.float64(p.genesis_treasury),
        "burned_premium": np.float64(0.0),
        "burned_ads": np.float64(0.0),
        "burned_slashing": np.float64(0.0),
        "fees_premium_to_nodes": np.float64(0.0),
        "fees_ads_to_nodes": np.float64(0.0),
        "staked": np.float64(staked),
        "unbonding_queue": np.zeros(p.unbonding_days),
        "unbonding": np.float64(0.0),
        "staking_yield": np.float64(0.0),
        "nodes": nodes,
        "coverage": nodes * ctx.capacity / _demand(p, np.float64(p.users0)),
        "node_profit_usd_month": np.zeros(nodes.shape),
        "total_supply": np.float64(total),
        "circulating": np.float64(circulating),
        "stake_ratio": np.float64(staked / circulating),
        "gov_attack_usd": np.float64(0.0),
        "panel_attack_usd": np.float64(0.0),
        "relay_attack_usd": np.float64(0.0),
    }
    s.update(p_metrics(p, ctx, s, 0, None))
    return s


# ---- helpers -------------------------------------------------------------------------------


def _demand(p: SimParams, users: Array) -> Array:
    """Units demanded per day for each kind: DAU (relay), relayed call-minutes (TURN), messages (notify)."""
    u = np.asarray(users)[..., None]
    per_user = np.array(
        [1.0, p.calls_per_user_day * p.minutes_per_call * p.turn_share, p.offline_msgs_per_user_day]
    )
    return u * per_user


def node_reward_rate(p: SimParams, ctx: Context, t: int) -> float:
    """CLUB per day flowing to node stakers at the current epoch's rate (smoothed over the epoch)."""
    remaining = float(ctx.inputs["reserve_remaining"][t])
    return remaining * p.rate_per_epoch * p.node_rewards_share / p.epoch_days


def operator_take(reward: Array, self_frac: Array, commission: float) -> Array:
    """Operator's part of a pool's reward: its own stake's share plus commission on the delegators' part.

    Equal to commission x reward + (1 - commission) x reward x self_frac, NodeRegistry's split
    (commission first, the rest per share): the contracts-in-the-loop test checks it on chain.
    """
    return reward * (self_frac + commission * (1.0 - self_frac))


def delegator_take(reward: Array, self_frac: Array, commission: float) -> Array:
    """Delegators' part of a pool's reward (all delegators together)."""
    return reward * (1.0 - commission) * (1.0 - self_frac)


# ---- block 1: market -------------------------------------------------------------------------


def p_market(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    zp, zu = z[..., 0], z[..., 1]
    price = s["price_usd"] * np.exp(p.price_drift * DT + p.price_vol * np.sqrt(DT) * zp)
    u = s["users"]
    growth = p.users_growth * (1.0 - u / p.users_cap) - 0.5 * p.users_vol**2
    users = u * np.exp(growth * DT + p.users_vol * np.sqrt(DT) * zu)
    return {"price_usd": price, "users": users}


# ---- block 2: supply -------------------------------------------------------------------------


def p_emission(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    minted = float(ctx.inputs["emission_minted"][t])
    tip = p.emission_tip * float(ctx.inputs["epoch_boundary"][t])
    distributable = max(minted - tip, 0.0)  # the tip comes out of the epoch's emission
    return {
        "minted": minted,
        "treasury_in": distributable * p.treasury_share,
        "vested": float(ctx.inputs["vested"][t]),
    }


def p_usage(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    price, users = s["price_usd"], s["users"]
    premium_usd = users * p.premium_uptake * p.premium_usd_month / 30.0
    ads_per_user = min(p.ads_demand_per_user_day, p.ads_cap_per_user_day)
    ads_usd = users * p.ads_optin * ads_per_user * p.ads_cpm_usd / 1e3
    # Payments are made in USD and settled by buying CLUB: at most `market_depth` of the liquid
    # float can be bought per day (when the price collapses the USD buys fewer tokens, not more
    # than exist); every flow is scaled down by the same factor.
    liquid = np.maximum(s["circulating"] - s["staked"] - s["unbonding"], 0.0)
    wanted = (premium_usd + ads_usd * (p.ads_split_burn + p.ads_split_nodes)) / price
    scale = np.minimum(1.0, p.market_depth * liquid / np.maximum(wanted, 1e-12)) / price
    return {
        "burn_premium": premium_usd * p.premium_burn_share * scale,
        "fees_premium": premium_usd * (1.0 - p.premium_burn_share) * scale,
        "burn_ads": ads_usd * p.ads_split_burn * scale,
        "fees_ads": ads_usd * p.ads_split_nodes * scale,
    }


def u_emitted(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["emitted"] + sig["minted"]


def u_vested(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["vested"] * 0.0 + sig["vested"]


def u_treasury(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["treasury"] * (1.0 - p.treasury_spend_rate * DT) + sig["treasury_in"]


def u_burned_premium(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["burned_premium"] + sig["burn_premium"]


def u_burned_ads(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["burned_ads"] + sig["burn_ads"]


def u_fees_premium(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["fees_premium"]


def u_fees_ads(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["fees_ads"]


# ---- block 3: staking ------------------------------------------------------------------------


def liquidity_premium(p: SimParams) -> float:
    """Extra yield holders ask for locking stake; grows with the unbonding period."""
    return p.liquidity_premium_base + p.liquidity_premium_per_day * p.unbonding_days


def p_staking(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    staked = s["staked"]
    y = YEAR_DAYS * node_reward_rate(p, ctx, t) * (1.0 - p.commission) / np.maximum(staked, 1.0)
    gap = y - p.outside_yield - liquidity_premium(p)
    ratio = p.stake_ratio_max / (1.0 + np.exp(-p.stake_steepness * gap))
    # Delegation is capped by saturation: at most (1 + multiple) x self-stake per node and kind.
    stake_capacity = s["nodes"].sum(axis=-1) * p.min_self_stake * (1.0 + p.saturation_multiple)
    desired = np.minimum(ratio * s["circulating"], stake_capacity)
    delta = p.stake_speed * (desired - staked)
    return {
        "bond": np.maximum(delta, 0.0),
        "unbond": np.maximum(-delta, 0.0),
        "slashed": staked * p.slash_rate * DT,
        "yield": y,
        "slot": t % p.unbonding_days,
    }


def u_staked(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["staked"] + sig["bond"] - sig["unbond"] - sig["slashed"]


def u_unbonding_queue(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    """Ring buffer of unbonding days: the slot written today is released `unbonding_days` later."""
    queue = np.array(s["unbonding_queue"], copy=True)
    queue[..., sig["slot"]] = sig["unbond"]
    return queue


def u_unbonding(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    queue = np.array(s["unbonding_queue"], copy=True)
    queue[..., sig["slot"]] = sig["unbond"]
    return queue.sum(axis=-1)


def u_staking_yield(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["yield"]


def u_burned_slashing(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["burned_slashing"] + sig["slashed"] * p.slash_burn_share


# ---- block 4: nodes --------------------------------------------------------------------------


def p_nodes(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    nodes = s["nodes"]
    price = np.asarray(s["price_usd"])[..., None]
    n_total = nodes.sum(axis=-1)
    pool = np.asarray(s["staked"] / n_total)[..., None]  # equal stake per node: rewards pro rata to stake
    self_frac = np.minimum(p.min_self_stake / pool, 1.0)
    reward = np.asarray(node_reward_rate(p, ctx, t) / n_total)[..., None]
    operator_club = operator_take(reward, self_frac, p.commission)
    demand = _demand(p, s["users"])
    capacity = nodes * ctx.capacity
    served = np.minimum(demand, capacity)
    # Fees pay for work: premium's node share goes to RELAY and TURN in proportion to the cost
    # of what they serve; the ad market's node share goes to the NOTIFY nodes that deliver ads.
    work = served * ctx.var_usd * np.array([1.0, 1.0, 0.0])
    work_share = work / np.maximum(work.sum(axis=-1, keepdims=True), 1e-12)
    fees = np.asarray(s["fees_premium_to_nodes"])[..., None] * work_share / nodes
    fees = fees + np.asarray(s["fees_ads_to_nodes"])[..., None] * np.array([0.0, 0.0, 1.0]) / nodes
    income = (operator_club + fees) * price
    cost = ctx.fixed_usd_day + ctx.var_usd * served / nodes + p.min_self_stake * price * p.outside_yield * DT
    margin = income / cost - 1.0
    return {
        "nodes": np.maximum(ctx.nodes_min, nodes * (1.0 + p.node_entry_speed * np.tanh(margin))),
        "coverage": capacity / demand,
        "profit": (income - cost) * 30.0,
    }


def u_nodes(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["nodes"]


def u_coverage(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["coverage"]


def u_node_profit(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["profit"]


# ---- block 5: metrics ------------------------------------------------------------------------


def p_metrics(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    burned = s["burned_premium"] + s["burned_ads"] + s["burned_slashing"]
    total = p.genesis_total + s["emitted"] - burned
    circulating = total - (p.vesting_total - s["vested"]) - s["treasury"]
    price = s["price_usd"]
    nodes = s["nodes"]
    relay_stake = s["staked"] * nodes[..., 0] / nodes.sum(axis=-1)
    votes = security.governance_votes_to_pass(total, circulating, p.quorum_fraction, p.against_turnout)
    return {
        "total_supply": total,
        "circulating": circulating,
        "stake_ratio": s["staked"] / circulating,
        "gov_attack_usd": votes * price,
        "panel_attack_usd": float(security.buy_in_multiple(ctx.panel_share)) * s["staked"] * price,
        # a majority (50 %) of relay selection weight: match the honest relay stake once
        "relay_attack_usd": relay_stake * price,
    }


def _copy(name: str) -> Update:
    def update(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
        return sig[name]

    update.__name__ = f"u_{name}"
    return update


@dataclass(frozen=True)
class Block:
    """A partial state update block: policies whose signals are summed, then state updates."""

    label: str
    policies: dict[str, Policy]
    updates: dict[str, Update]


BLOCKS: tuple[Block, ...] = (
    Block("market", {"market": p_market}, {"price_usd": _copy("price_usd"), "users": _copy("users")}),
    Block(
        "supply",
        {"emission": p_emission, "usage": p_usage},
        {
            "emitted": u_emitted,
            "vested": u_vested,
            "treasury": u_treasury,
            "burned_premium": u_burned_premium,
            "burned_ads": u_burned_ads,
            "fees_premium_to_nodes": u_fees_premium,
            "fees_ads_to_nodes": u_fees_ads,
        },
    ),
    Block(
        "staking",
        {"staking": p_staking},
        {
            "staked": u_staked,
            "unbonding_queue": u_unbonding_queue,
            "unbonding": u_unbonding,
            "staking_yield": u_staking_yield,
            "burned_slashing": u_burned_slashing,
        },
    ),
    Block(
        "nodes",
        {"nodes": p_nodes},
        {"nodes": u_nodes, "coverage": u_coverage, "node_profit_usd_month": u_node_profit},
    ),
    Block(
        "metrics",
        {"metrics": p_metrics},
        {
            k: _copy(k)
            for k in (
                "total_supply",
                "circulating",
                "stake_ratio",
                "gov_attack_usd",
                "panel_attack_usd",
                "relay_attack_usd",
            )
        },
    ),
)

# State variables written to results (the unbonding ring buffer is internal).
RECORDED: tuple[str, ...] = tuple(k for b in BLOCKS for k in b.updates if k != "unbonding_queue")
PER_KIND: frozenset[str] = frozenset({"nodes", "coverage", "node_profit_usd_month"})
