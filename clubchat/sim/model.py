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
2. supply   - emission epochs: r x (cap - totalSupply) per epoch as Emission mints it, the
              node share capped by the bootstrap guard (multiple x sqrt(stake)) while it lasts;
              vesting unlocks, treasury spending, premium (at the contract's CLUB tier prices,
              clubchat.sim.premium), community creation fees (clubchat.sim.communities) and
              ad-market payments, and burns.
3. staking  - holders compare the delegator yield (node emission + the node share of fees,
              net of commission) with their hurdle rates, spread around outside yield + a
              liquidity premium that grows with the unbonding period (clubchat.sim.population);
              delegation is capped at multiple x the operators' actual self-stake (operators
              add self-stake to take delegation, as the registry allows); unbonding queue;
              slashing.
4. nodes    - operators by the set of kinds they declare (clubchat.sim.kindsets): income (their
              take of the pool's reward from the registry's per-kind streams, split by
              `kind_reward_bps` over the kinds with nodes, or the one stream of the design before
              them, see clubchat.sim.kinds; NOTIFY operators also get AdMarket's node share) vs USD
              costs (the dearest kind's server, a share of the others'), the self-stake priced at
              what the same capital earns delegated → node count per set enters/exits by the average
              of operators spread in costs and capital (clubchat.sim.population), entry only from
              operators whose capital covers the set's minimum; operators add or drop a kind when
              that earns more; each new node bonds its minimum self-stake per kind; capacity vs demand.
5. metrics  - total and circulating supply, stake ratio, attack costs in USD, Nakamoto
              coefficients (operators holding a third of the stake, stake falling with rank).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from clubchat.sim import communities, kindsets, population, premium, schedules, security
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
    panel_shares: npt.NDArray[np.float64]
    fixed_usd_day: npt.NDArray[np.float64]  # per kind set (clubchat.sim.kindsets)
    var_usd: npt.NDArray[np.float64]
    capacity: npt.NDArray[np.float64]
    nodes_min: npt.NDArray[np.float64]
    kind_split: npt.NDArray[np.float64] | None = None
    set_multiplier: npt.NDArray[np.float64] = field(default_factory=lambda: np.ones(kindsets.N_SETS))
    premium_routing: npt.NDArray[np.float64] | None = None
    rank_stake: npt.NDArray[np.float64] = field(default_factory=lambda: np.ones(1))
    operators: population.OperatorSpread = field(
        default_factory=lambda: population.OperatorSpread(np.ones(1), np.ones(1), np.ones(1))
    )
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
        panel_shares=panel_shares(p),
        fixed_usd_day=kindsets.set_fixed_cost(p.node_fixed_usd_month, p.extra_kind_cost_share) / 30.0,
        var_usd=np.asarray(p.node_var_usd_per_unit, dtype=np.float64),
        capacity=np.asarray(p.node_capacity_units_day, dtype=np.float64),
        nodes_min=np.asarray(p.nodes_min, dtype=np.float64),
        kind_split=fractions("kind_reward_split", p.kind_reward_split),
        set_multiplier=kindsets.set_multiplier(p.kind_reward_multiplier),
        premium_routing=fractions("premium_fee_routing", p.premium_fee_routing),
        operators=population.operator_spread(p),
        rank_stake=np.cumsum(np.arange(1.0, NAKAMOTO_MAX_NODES + 1.0) ** -p.stake_rank_exponent),
    )


def panel_shares(p: SimParams) -> npt.NDArray[np.float64]:
    """Entry j: the RELAY draw share an attacker needs to hold at least j of the k seats of a panel
    with probability `panel_capture_prob` (entry 0 is 0: no seat needed)."""
    k = p.panel_size
    shares = [security.stake_share_for_seats(k, j, p.panel_capture_prob) for j in range(1, k + 1)]
    return np.array([0.0, *shares])


def panel_attack_stake(p: SimParams, ctx: Context, s: State, relay_stake: Array) -> Array:
    """CLUB an attacker bonds to kick an honest node with probability `panel_capture_prob`, as
    `Disputes.draw_panel` decides: reviewers are drawn from the RELAY tree by pool weight (own stake
    plus delegations), and a vote weighs the reviewer's own stake capped at `reviewer_cap`. The
    attacker self-stakes nodes of the cap (vote weight = draw weight) against honest reviewers whose
    vote is their own stake only, so it needs `seats_to_win` seats, not a majority; it holds them
    with probability P[Bin(k, f) >= j] at draw share f (many nodes: without replacement is
    close to with; clubchat.sim.disputes has the exact draw and checks this)."""
    own = s["self_stake"] / np.maximum(s["operators"], 1.0)
    honest_vote = np.minimum(own, p.reviewer_cap)
    seats = security.seats_to_win(p.panel_size, p.review_majority, p.reviewer_cap, honest_vote)
    return security.buy_in_multiple(ctx.panel_shares[seats]) * relay_stake


# Node counts above this are counted as this many in the Nakamoto coefficient.
NAKAMOTO_MAX_NODES = 1 << 17
NAKAMOTO_SHARE = 1.0 / 3.0


def nakamoto(ctx: Context, nodes: Array) -> Array:
    """Fewest operators that together hold a third of the stake of `nodes` nodes whose stake falls
    with rank as rank^-exponent (`stake_rank_exponent`): the Nakamoto coefficient."""
    cum = ctx.rank_stake
    n = np.clip(np.floor(nodes), 1, len(cum)).astype(np.int64)
    return (np.searchsorted(cum, cum[n - 1] * NAKAMOTO_SHARE) + 1).astype(np.float64)


def fractions(name: str, values: tuple[float, ...]) -> npt.NDArray[np.float64] | None:
    """A per-kind split: None when all zero (not split by kind), else fractions summing to 1."""
    a = np.asarray(values, dtype=np.float64)
    if not a.any():
        return None
    if a.shape != (3,) or (a < 0).any() or abs(a.sum() - 1.0) > 1e-9:
        raise ValueError(
            f"{name} must be three non-negative fractions summing to 1 (or all zero), got {values}"
        )
    return a


def initial_state(p: SimParams, ctx: Context) -> State:
    """State at genesis (day 0) for one run; the vectorised engine broadcasts it over runs."""
    nodes = np.asarray(p.nodes0, dtype=np.float64)  # single-kind operators at genesis
    vested0 = float(ctx.inputs["vested"][0])
    locked = p.vesting_total - vested0
    total = p.genesis_total
    circulating = total - locked - p.genesis_treasury
    self_stake = float(nodes.sum()) * p.min_self_stake
    staked = self_stake * p.stake0_multiple
    # The rate nodes earn at genesis: what the first epoch will pay them (guard applied).
    first = epoch_mint(p, np.float64(p.cap - total), np.float64(staked), 1.0, 0.0)
    rewards_day = first["node"] / p.epoch_days
    s: State = {
        "price_usd": np.float64(p.price0_usd),
        "users": np.float64(p.users0),
        "emitted": np.float64(0.0),
        "vested": np.float64(vested0),
        "treasury": np.float64(p.genesis_treasury),
        "burned_premium": np.float64(0.0),
        "burned_ads": np.float64(0.0),
        "burned_slashing": np.float64(0.0),
        "burned_creation": np.float64(0.0),
        "premium_subscribers": np.float64(0.0),
        "communities": np.float64(0.0),
        "communities_created": np.float64(0.0),
        "fees_premium_to_nodes": np.float64(0.0),
        "fees_ads_to_nodes": np.float64(0.0),
        "flow_usd": np.float64(0.0),
        "staked": np.float64(staked),
        "self_stake": np.float64(self_stake),
        "withheld": np.float64(0.0),
        "node_rewards_total": np.float64(0.0),
        "node_rewards_day": np.float64(rewards_day),
        "unbonding_queue": np.zeros(p.unbonding_days),
        "unbonding": np.float64(0.0),
        "staking_yield": np.float64(YEAR_DAYS * rewards_day * (1.0 - p.commission) / staked),
        "nodes": nodes,
        "nodes_by_set": kindsets.from_kinds(nodes),
        "operators": np.float64(nodes.sum()),
        "nodes_multi": np.float64(0.0),
        "coverage": nodes * ctx.capacity / _demand(p, np.float64(p.users0)),
        "node_profit_usd_month": np.zeros(nodes.shape),
        "total_supply": np.float64(total),
        "circulating": np.float64(circulating),
        "stake_ratio": np.float64(staked / circulating),
        "gov_attack_usd": np.float64(0.0),
        "panel_attack_usd": np.float64(0.0),
        "relay_attack_usd": np.float64(0.0),
        "targeted_attack_usd": np.float64(0.0),
        "nakamoto_relay": np.float64(0.0),
        "nakamoto": np.float64(0.0),
        "relay_stake": np.float64(0.0),
    }
    s.update(p_metrics(p, ctx, s, 0, None))
    return s


# ---- helpers -------------------------------------------------------------------------------

_NOTIFY_ONLY = np.array([0.0, 0.0, 1.0])


def _demand(p: SimParams, users: Array) -> Array:
    """Units demanded per day for each kind: DAU (relay), relayed call-minutes (TURN), messages (notify)."""
    u = np.asarray(users)[..., None]
    per_user = np.array(
        [1.0, p.calls_per_user_day * p.minutes_per_call * p.turn_share, p.offline_msgs_per_user_day]
    )
    return u * per_user


def epoch_mint(p: SimParams, gap: Array, staked: Array, k: Array, epochs_before: float) -> Signals:
    """What Emission mints when k epochs fall due with `gap` = cap - totalSupply (CLUB).

    The closed form gap (1 - (1 - r)^k); the keeper tip comes out of it; the node share is
    capped at k x bootstrap_multiple x sqrt(whole CLUB staked) while the bootstrap lasts (the
    contract uses isqrt of the registry's whole-CLUB weight), the excess is not minted.
    Returns minted, node (the node share paid), withheld, treasury (its share).
    """
    full = gap * -np.expm1(k * np.log1p(-p.rate_per_epoch))
    rest = np.maximum(full - p.emission_tip * k, 0.0)
    node = rest * p.node_rewards_share
    withheld = np.zeros_like(node)
    if epochs_before < p.bootstrap_epochs:
        guarded = np.minimum(k, p.bootstrap_epochs - epochs_before)
        limit = guarded * p.bootstrap_multiple * np.floor(np.sqrt(np.floor(staked)))
        # epochs of the same call after the bootstrap's end are not capped
        limit = limit + (k - guarded) * node / np.maximum(k, 1.0)
        withheld = np.maximum(node - limit, 0.0)
    return {
        "minted": full - withheld,
        "node": node - withheld,
        "withheld": withheld,
        "treasury": rest * p.treasury_share,
    }


BURNS = ("burned_premium", "burned_ads", "burned_slashing", "burned_creation")


def burned(s: State) -> Array:
    """CLUB burnt so far: premium's burn share, the ad market's, slashing's and creation fees."""
    return sum((s[k] for k in BURNS[1:]), s[BURNS[0]])


def node_reward_rate(s: State) -> Array:
    """CLUB per day flowing to node stakers: the last epoch's node share spread over the epoch."""
    return s["node_rewards_day"]


def pool_income(s: State) -> Array:
    """CLUB per day reaching the node pools (operators and delegators pro rata): emission plus
    premium's node share, which Premium sends to the registry. AdMarket pays its node share to the
    delivering node's operator, not to the pool, so it is not here."""
    return s["node_rewards_day"] + s["fees_premium_to_nodes"]


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


def pool_club(p: SimParams, circulating: Array) -> Array:
    """CLUB in the constant-product pool that sets the price (its USD side is worth the same): the
    genesis liquidity allocation, deployed there, plus market makers' `pool_depth_share` of the float."""
    return p.genesis_liquidity + p.pool_depth_share * np.maximum(circulating, 1.0)


def p_market(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    zp, zu = z[..., 0], z[..., 1]
    # The price responds to yesterday's net USD flow through the pool (users and advertisers buy CLUB
    # to pay, operators sell rewards to pay their servers, the treasury sells what it spends): a
    # constant-product pool with USD side Y moves the price by (1 + flow / Y)^2. The exogenous
    # drift and volatility carry everything else (sentiment, the wider market).
    y_usd = pool_club(p, s["circulating"]) * s["price_usd"]
    impact = 2.0 * np.log1p(np.clip(s["flow_usd"] / y_usd, -0.5, 1.0))
    price = s["price_usd"] * np.exp(p.price_drift * DT + p.price_vol * np.sqrt(DT) * zp + impact)
    u = s["users"]
    # Users leave when the network cannot serve them (the scarcest kind's capacity / demand).
    shortfall = np.maximum(1.0 - np.min(s["coverage"], axis=-1), 0.0)
    growth = (
        p.users_growth * (1.0 - u / p.users_cap) - p.users_churn_shortfall * shortfall - 0.5 * p.users_vol**2
    )
    users = u * np.exp(growth * DT + p.users_vol * np.sqrt(DT) * zu)
    return {"price_usd": price, "users": users}


# ---- block 2: supply -------------------------------------------------------------------------


def p_emission(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    k = float(ctx.inputs["epochs_today"][t])
    vested = float(ctx.inputs["vested"][t])
    if k == 0:
        zero = s["emitted"] * 0.0
        return {"minted": zero, "node_paid": zero, "withheld": zero, "treasury_in": zero,
                "node_day": s["node_rewards_day"], "vested": vested}  # fmt: skip
    # Emission settles against the supply at the end of the previous day (burns included).
    m = epoch_mint(p, p.cap - s["total_supply"], s["staked"], k, float(ctx.inputs["epochs_before"][t]))
    return {
        "minted": m["minted"],
        "node_paid": m["node"],
        "withheld": m["withheld"],
        "treasury_in": m["treasury"],
        "node_day": m["node"] / (k * p.epoch_days),
        "vested": vested,
    }


def p_usage(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    price, users = s["price_usd"], s["users"]
    # Premium is paid at the contract's CLUB tier prices (clubchat.sim.premium); communities are
    # created as users come (clubchat.sim.communities), each burning the creation fee.
    subscribers, premium_club = premium.demand(p, users, price)
    premium_usd = premium_club * price
    creations = communities.wanted(p, s)
    creation_usd = creations * p.community_creation_fee * price
    ads_per_user = min(p.ads_demand_per_user_day, p.ads_cap_per_user_day)
    ads_usd = users * p.ads_optin * ads_per_user * p.ads_cpm_usd / 1e3
    # Payments are made in USD and settled by buying CLUB: at most `market_depth` of the liquid
    # float can be bought per day (when the price collapses the USD buys fewer tokens, not more
    # than exist); every flow is scaled down by the same factor.
    buy_usd = premium_usd + creation_usd + ads_usd * (p.ads_split_burn + p.ads_split_nodes)
    liquid = np.maximum(s["circulating"] - s["staked"] - s["unbonding"], 0.0)
    served = np.minimum(1.0, p.market_depth * liquid / np.maximum(buy_usd / price, 1e-12))
    scale = served / price
    # Sold for USD: what operators need (the share of emission they sell and every fee they receive)
    # and the treasury's spending.
    fees_club = (premium_usd * (1.0 - p.premium_burn_share) + ads_usd * p.ads_split_nodes) * scale
    sold_club = (
        s["node_rewards_day"] * p.reward_sell_share + fees_club + s["treasury"] * p.treasury_spend_rate * DT
    )
    return {
        "burn_premium": premium_usd * p.premium_burn_share * scale,
        "fees_premium": premium_usd * (1.0 - p.premium_burn_share) * scale,
        "premium_subscribers": subscribers * served,
        "created": creations * served,
        "burn_ads": ads_usd * p.ads_split_burn * scale,
        "fees_ads": ads_usd * p.ads_split_nodes * scale,
        "flow_usd": buy_usd * served - sold_club * price,
    }


def u_emitted(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["emitted"] + sig["minted"]


def u_withheld(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["withheld"] + sig["withheld"]


def u_node_rewards_total(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["node_rewards_total"] + sig["node_paid"]


def u_node_rewards_day(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["node_rewards_day"] * 0.0 + sig["node_day"]


def u_vested(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["vested"] * 0.0 + sig["vested"]


def u_treasury(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["treasury"] * (1.0 - p.treasury_spend_rate * DT) + sig["treasury_in"]


def u_burned_premium(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["burned_premium"] + sig["burn_premium"]


def u_burned_ads(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["burned_ads"] + sig["burn_ads"]


# ---- block 3: staking ------------------------------------------------------------------------


def delegator_yield(p: SimParams, s: State) -> Array:
    """Delegators' yield per year: the pools' emission and fee income net of commission, per unit staked."""
    return YEAR_DAYS * pool_income(s) * (1.0 - p.commission) / np.maximum(s["staked"], 1.0)


def p_staking(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    staked, own = s["staked"], s["self_stake"]
    y = delegator_yield(p, s)
    desired = population.share_wanting_to_stake(p, y) * s["circulating"]
    # The registry caps delegation at saturation_multiple x the operator's ACTUAL self-stake and puts
    # no upper limit on self-stake: operators top up self-stake to take the delegation holders want
    # (it earns the full pool yield, commission-free), never below the nodes' minimum.
    floor = s["nodes"].sum(axis=-1) * p.min_self_stake
    own_target = np.maximum(floor, desired / (1.0 + p.saturation_multiple))
    new_own = np.maximum(own + p.stake_speed * (own_target - own), floor)
    delegated = staked - own
    delegated_target = np.minimum(np.maximum(desired - own_target, 0.0), p.saturation_multiple * new_own)
    new_delegated = np.minimum(
        delegated + p.stake_speed * (delegated_target - delegated), p.saturation_multiple * new_own
    )
    delta = (new_own + new_delegated) - staked
    slash = p.slash_rate * DT
    return {
        "bond": np.maximum(delta, 0.0),
        "unbond": np.maximum(-delta, 0.0),
        "slashed": (staked + delta) * slash,
        "self_stake": new_own * (1.0 - slash),
        "yield": y,
        "slot": t % p.unbonding_days,
    }


def u_staked(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["staked"] + sig["bond"] - sig["unbond"] - sig["slashed"]


def u_self_stake(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["self_stake"]


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


def set_economics(p: SimParams, ctx: Context, s: State) -> tuple[Array, Array]:
    """(CLUB per node and day each kind set's pool earns, CLUB staked per node of each set)."""
    return kindsets.pool_economics(
        s["nodes_by_set"], s["node_rewards_day"], s["fees_premium_to_nodes"], s["staked"],
        ctx.kind_split, ctx.premium_routing, ctx.set_multiplier,
    )  # fmt: skip


def relay_tree_stake(p: SimParams, ctx: Context, s: State) -> Array:
    """CLUB in RELAY's sum tree: the whole stake of every node that declares RELAY."""
    _, stake = set_economics(p, ctx, s)
    return (s["nodes_by_set"] * stake * kindsets.MEMBERS[:, 0]).sum(axis=-1)


def p_nodes(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    n = s["nodes_by_set"]
    nodes = kindsets.per_kind(n)
    price = np.asarray(s["price_usd"])[..., None]
    demand = _demand(p, s["users"])
    capacity = nodes * ctx.capacity
    served = np.minimum(demand, capacity)
    # Per node of each kind set: its pool's reward and stake, the operator taking its commission plus
    # its own stake's share; AdMarket pays the delivering NOTIFY node's operator (not the pool).
    reward, stake = set_economics(p, ctx, s)
    own = kindsets.own_stake(n, s["self_stake"], p.min_self_stake)
    self_frac = np.minimum(own / np.maximum(stake, 1e-300), 1.0)
    ads = (np.asarray(s["fees_ads_to_nodes"])[..., None] * _NOTIFY_ONLY / nodes) @ kindsets.MEMBERS.T
    income = (operator_take(reward, self_frac, p.commission) + ads) * price
    # The self-stake is priced at what the same capital earns delegated (or outside, if more): the
    # part of the operator's take that is its own stake's yield is not a reward for running a node.
    y_capital = np.asarray(np.maximum(delegator_yield(p, s), p.outside_yield))[..., None]
    var = (ctx.var_usd * served / nodes) @ kindsets.MEMBERS.T
    capital = own * price * y_capital * DT
    cost = ctx.fixed_usd_day + var + capital  # the median operator's (clubchat.sim.population)
    response = kindsets.where_present(
        n, lambda i: population.entry_response(ctx.operators, income[..., i], ctx.fixed_usd_day[i],
                                               var[..., i], capital[..., i]),
    )  # fmt: skip
    # Only operators whose capital covers a set's minimum self-stake can register it.
    eligible = kindsets.capital_eligible(p, s["price_usd"])
    response = np.where(response > 0, eligible * response, response)
    grown = n * (1.0 + p.node_entry_speed * response)
    grown = grown + kindsets.switch_flows(p, n, income - cost, cost, eligible, ctx.nodes_min)
    new_n = kindsets.with_floor(grown, ctx.nodes_min)
    new_nodes = kindsets.per_kind(new_n)
    # A new node bonds its minimum self-stake (per declared kind) the day it registers.
    add = np.maximum(new_nodes.sum(axis=-1) * p.min_self_stake - s["self_stake"], 0.0)
    return {
        "nodes": new_nodes,
        "nodes_by_set": new_n,
        "operators": new_n.sum(axis=-1),
        "nodes_multi": (new_n * kindsets.MULTI).sum(axis=-1),
        "coverage": capacity / demand,
        # per kind: the single-kind operators' profit (USD per node and month)
        "profit": (income - cost)[..., kindsets.SINGLE] * 30.0,
        "self_bond": add,
    }


def u_nodes(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["nodes"]


def u_node_self_bond(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["self_stake"] + sig["self_bond"]


def u_node_staked(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return s["staked"] + sig["self_bond"]


def u_coverage(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["coverage"]


def u_node_profit(p: SimParams, ctx: Context, s: State, sig: Signals) -> Array:
    return sig["profit"]


# ---- block 5: metrics ------------------------------------------------------------------------


def p_metrics(p: SimParams, ctx: Context, s: State, t: int, z: Array) -> Signals:
    total = p.genesis_total + s["emitted"] - burned(s)
    circulating = total - (p.vesting_total - s["vested"]) - s["treasury"]
    price = s["price_usd"]
    nodes = s["nodes"]
    relay_stake = relay_tree_stake(p, ctx, s)
    votes = security.governance_votes_to_pass(total, circulating, p.quorum_fraction, p.against_turnout)
    pool = pool_club(p, circulating)

    def staked_attack(x: Array) -> Array:
        return staked_attack_usd(p, x, price, circulating, s["staking_yield"])

    f_global = security.eclipse_share_global(p.eclipse_harm, p.rendezvous_relays)
    f_target = security.eclipse_share_targeted(p.targeted_success, p.rendezvous_relays, p.attack_days)
    return {
        "total_supply": total,
        "circulating": circulating,
        "stake_ratio": s["staked"] / circulating,
        # votes are bought on the pool and sold back after the vote (no slashing; one week held)
        "gov_attack_usd": security.attack_cost(
            votes,
            price,
            pool,
            expected_slash=0.0,
            hold_days=7.0,
            yield_gap=p.outside_yield,
            price_drop=p.attack_price_drop,
            fee=p.pool_fee,
        ),
        # kick an honest node through a review panel, drawn and weighed as Disputes does
        "panel_attack_usd": staked_attack(panel_attack_stake(p, ctx, s, relay_stake)),
        # global: eclipse `eclipse_harm` of users (each draws k relays: f^k of them see only the attacker)
        "relay_attack_usd": staked_attack(float(security.buy_in_multiple(f_global)) * relay_stake),
        # targeted: one chosen user over `attack_days` daily draws, 1 - (1 - f^k)^T = targeted_success
        "targeted_attack_usd": staked_attack(float(security.buy_in_multiple(f_target)) * relay_stake),
        "nakamoto_relay": nakamoto(ctx, nodes[..., 0]),
        "nakamoto": nakamoto(ctx, s["operators"]),
        "relay_stake": relay_stake,  # what review panels and relay selection draw from
    }


def staked_attack_usd(
    p: SimParams, x: Array, price: Array, circulating: Array, staking_yield: Array
) -> Array:
    """USD an attacker loses holding x CLUB staked through an attack and its unbonding: bought on the
    pool, slashed with the detection probability, sold back after the price fall, the better outside
    yield forgone (`security.attack_cost`)."""
    return security.attack_cost(
        x, price, pool_club(p, circulating),
        expected_slash=p.attack_detect_prob * p.attack_slash_share,
        hold_days=p.attack_days + p.unbonding_days,
        # the attacker's capital would otherwise earn the better of the outside and the staking yield
        yield_gap=np.maximum(p.outside_yield - staking_yield, 0.0),
        price_drop=p.attack_price_drop, fee=p.pool_fee,
    )  # fmt: skip


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
            "withheld": u_withheld,
            "node_rewards_total": u_node_rewards_total,
            "node_rewards_day": u_node_rewards_day,
            "vested": u_vested,
            "treasury": u_treasury,
            "burned_premium": u_burned_premium,
            "burned_ads": u_burned_ads,
            "fees_premium_to_nodes": _copy("fees_premium"),
            "fees_ads_to_nodes": _copy("fees_ads"),
            "flow_usd": _copy("flow_usd"),
            "premium_subscribers": _copy("premium_subscribers"),
            "communities": communities.u_communities,
            "communities_created": communities.u_communities_created,
            "burned_creation": communities.u_burned_creation,
        },
    ),
    Block(
        "staking",
        {"staking": p_staking},
        {
            "staked": u_staked,
            "self_stake": u_self_stake,
            "unbonding_queue": u_unbonding_queue,
            "unbonding": u_unbonding,
            "staking_yield": u_staking_yield,
            "burned_slashing": u_burned_slashing,
        },
    ),
    Block(
        "nodes",
        {"nodes": p_nodes},
        {
            "nodes": u_nodes,
            "nodes_by_set": _copy("nodes_by_set"),
            "operators": _copy("operators"),
            "nodes_multi": _copy("nodes_multi"),
            "coverage": u_coverage,
            "node_profit_usd_month": u_node_profit,
            "self_stake": u_node_self_bond,
            "staked": u_node_staked,
        },
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
                "targeted_attack_usd",
                "nakamoto_relay",
                "nakamoto",
                "relay_stake",
            )
        },
    ),
)

# State variables written to results (the unbonding ring buffer, the last epoch's rate and the nodes by
# kind set are internal; the per-kind node counts are recorded).
_INTERNAL = frozenset({"unbonding_queue", "node_rewards_day", "nodes_by_set"})
RECORDED: tuple[str, ...] = tuple(dict.fromkeys(k for b in BLOCKS for k in b.updates if k not in _INTERNAL))
PER_KIND: frozenset[str] = frozenset({"nodes", "coverage", "node_profit_usd_month"})
