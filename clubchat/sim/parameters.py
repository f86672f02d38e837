"""Simulation parameters: protocol values read from deployments/parameters.yaml plus model-only assumptions.

`SimParams` is the one flat, frozen dataclass every model function receives (CADLabs' shape:
each field carries its unit, where it comes from and what it means in its metadata).

* Fields whose `source` is a parameters.yaml key are *never* written here: `from_parameters`
  copies them from `clubchat.params.load()`, so the model, the contracts and the whitepaper
  share one set of tunables.
* Fields whose `source` is ``assumption`` describe the world outside the contracts (prices,
  costs, users, behaviour). Their defaults below are the baseline scenario; the other
  scenarios (clubchat.sim.scenarios) override some of them. Their values are
  assumptions to be argued with, and the whitepaper lists every one of them with its unit.

Token amounts are in whole CLUB (float), money in USD, time in days, fractions as floats
(0.05 = 5 %). Per-node-kind values are tuples ordered like `KINDS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.params import load as load_parameters

KINDS: tuple[str, ...] = ("RELAY", "TURN", "NOTIFY")
YEAR_DAYS = 365


def _p(unit: str, source: str, doc: str) -> Any:
    """A protocol field: filled from parameters.yaml by `from_parameters` (no default on purpose)."""
    return field(metadata={"unit": unit, "source": source, "doc": doc})


def _a(default: Any, unit: str, doc: str, *, why: str) -> Any:
    """A model-only assumption with its baseline value and where the value comes from: a published figure
    ("source: ...") or "assumption: <reason>"."""
    if not why.startswith(("source: ", "assumption: ")):
        raise ValueError(f"assumption {doc!r}: `why` must start with 'source: ' or 'assumption: '")
    return field(default=default, metadata={"unit": unit, "source": "assumption", "doc": doc, "why": why})


@dataclass(frozen=True)
class SimParams:
    # ---- protocol: token and genesis (parameters.yaml) ----
    cap: float = _p("CLUB", "token.cap", "hard cap of CLUB supply")
    genesis_treasury: float = _p("CLUB", "genesis.treasury", "minted to the DAO treasury at genesis")
    genesis_liquidity: float = _p("CLUB", "genesis.liquidity", "minted for market liquidity at genesis")
    vesting_names: tuple[str, ...] = _p("-", "genesis.vesting[].name", "vesting allocations")
    vesting_amounts: tuple[float, ...] = _p("CLUB", "genesis.vesting[].amount", "amount per allocation")
    vesting_cliff_days: tuple[float, ...] = _p("days", "genesis.vesting[].cliff_days", "cliff")
    vesting_duration_days: tuple[float, ...] = _p("days", "genesis.vesting[].duration_days", "duration")
    # ---- protocol: emission ----
    rate_per_epoch: float = _p(
        "fraction/epoch", "emission.rate_per_epoch_wad", "share of the gap cap - totalSupply minted per epoch"
    )
    epoch_days: float = _p("days", "emission.epoch_seconds", "emission epoch length")
    emission_tip: float = _p("CLUB/epoch", "emission.tip", "paid to the caller out of each epoch")
    node_rewards_share: float = _p("fraction", "emission.receivers.node_rewards", "emission to node stakers")
    community_share: float = _p("fraction", "emission.receivers.community_incentives", "to communities")
    treasury_share: float = _p("fraction", "emission.receivers.treasury", "emission to the treasury")
    bootstrap_multiple: float = _p(
        "CLUB/sqrt(CLUB)/epoch", "emission.bootstrap_multiple", "guard: node share <= this x sqrt(stake)"
    )
    bootstrap_epochs: int = _p("epochs", "emission.bootstrap_epochs", "epochs the bootstrap guard lasts")
    # ---- protocol: governance ----
    quorum_fraction: float = _p("fraction of supply", "governance.quorum_numerator/denominator", "quorum")
    proposal_threshold: float = _p("fraction of supply", "governance.proposal_threshold_bps", "to propose")
    # ---- protocol: node registry ----
    min_self_stake: float = _p("CLUB per kind", "registry.min_self_stake_per_kind", "operator self-stake")
    saturation_multiple: float = _p("x self-stake", "registry.saturation_multiple", "delegation cap")
    unbonding_days: int = _p("days", "registry.unbonding_seconds", "delay before unbonded stake is liquid")
    commission_max: float = _p("fraction", "registry.commission_max_bps", "highest operator commission")
    kind_reward_split: tuple[float, ...] = _p(
        "fraction per kind",
        "registry.kind_reward_bps",
        "the registry's income (emission and premium) split into one stream per kind (RELAY, TURN, "
        "NOTIFY), each paid pro rata to reward weight (a node's weight / its number of declared kinds) "
        "over the kinds that have nodes; all zero is the design before it, one stream by weight "
        "whatever the kind",
    )
    # ---- protocol: premium, ad market, disputes ----
    premium_burn_share: float = _p(
        "fraction", "premium.burn_bps", "share of a premium payment burned (the rest streams to node pools)"
    )
    premium_tier_prices: tuple[float, ...] = _p(
        "CLUB/period", "premium.tiers[1:].price", "subscription price of each paid tier per period"
    )
    premium_period_days: float = _p("days", "premium.period_seconds", "one subscription period")
    community_creation_fee: float = _p(
        "CLUB", "communities.creation_fee", "burnt by each community's creation"
    )
    ads_split_users: float = _p("fraction", "ads.split.user_bps", "ad receipt share to the viewing user")
    ads_split_nodes: float = _p(
        "fraction", "ads.split.node_bps", "ad receipt share to the delivering NOTIFY node's operator"
    )
    ads_split_communities: float = _p(
        "fraction", "ads.split.community_bps", "ad receipt share to communities"
    )
    ads_split_burn: float = _p("fraction", "ads.split.burn_bps", "ad receipt share burned")
    panel_size: int = _p("reviewers", "disputes.panel_size", "stake-sampled reviewers per dispute")
    reviewer_cap: float = _p("CLUB", "disputes.reviewer_cap", "largest vote weight of a reviewer (own stake)")
    review_majority: float = _p("fraction", "disputes.majority_bps", "kick needs more of the revealed weight")

    # ---- assumptions: CLUB market ----
    price0_usd: float = _a(
        0.05,
        "USD/CLUB",
        "CLUB price at genesis",
        why="assumption: sets the USD scale only; every CLUB quantity is independent of it",
    )
    price_drift: float = _a(
        0.0,
        "1/year",
        "median log-return of the CLUB price per year",
        why="assumption: no view on the direction (flat median); bear and bull scenarios bracket it",
    )
    price_vol: float = _a(
        0.8,
        "1/sqrt(year)",
        "annualised volatility of the CLUB price",
        why="assumption: realised volatility of mid-cap tokens is typically 0.6-1.2 a year",
    )
    pool_depth_share: float = _a(
        0.02,
        "fraction of circulating",
        "market makers' CLUB in the price-setting pool, besides genesis liquidity",
        why="assumption: on-exchange liquidity of mid-cap tokens is a few % of their float",
    )
    reward_sell_share: float = _a(
        0.5,
        "fraction",
        "share of node emission operators sell for USD",
        why="assumption: operators sell enough to pay servers and keep the rest staked",
    )
    # ---- assumptions: users and usage ----
    users0: float = _a(
        20_000.0,
        "DAU",
        "daily active users at genesis",
        why="assumption: a launch with an existing community of a few ten thousand users",
    )
    users_cap: float = _a(
        5_000_000.0,
        "DAU",
        "saturation level of the logistic user growth",
        why="assumption: a niche messenger, an order of magnitude below Signal's tens of millions",
    )
    users_growth: float = _a(
        1.5,
        "1/year",
        "logistic growth rate of daily active users",
        why="assumption: reaches the cap in about five years in the median",
    )
    users_vol: float = _a(
        0.3,
        "1/sqrt(year)",
        "volatility of user growth",
        why="assumption: unmeasured; keeps runs apart without dominating the price noise",
    )
    users_churn_shortfall: float = _a(
        2.0,
        "1/year per unit shortfall",
        "user loss rate when capacity covers less than demand",
        why="assumption: users quickly leave a messenger that cannot connect them",
    )
    calls_per_user_day: float = _a(
        0.6,
        "calls/DAU/day",
        "audio/video calls per active user",
        why="assumption: calls are a minority use of a messenger",
    )
    minutes_per_call: float = _a(7.0, "min/call", "mean call length", why="assumption: short personal calls")
    turn_share: float = _a(
        0.2,
        "fraction",
        "share of call minutes that need a TURN relay",
        why="assumption: the share of WebRTC sessions that need a TURN relay is commonly put at 10-20 %",
    )
    offline_msgs_per_user_day: float = _a(
        15.0,
        "msgs/DAU/day",
        "messages stored for offline recipients",
        why="assumption: a messaging user with recipients offline part of the day",
    )
    # ---- assumptions: node operators (per kind RELAY, TURN, NOTIFY) ----
    node_fixed_usd_month: tuple[float, ...] = _a(
        (40.0, 80.0, 30.0),
        "USD/node/month",
        "server cost",
        why="assumption: list prices of small cloud VPS (USD 30-80 a month)",
    )
    node_var_usd_per_unit: tuple[float, ...] = _a(
        (0.000005, 0.00005, 0.000002),
        "USD/unit",
        "variable cost per unit served (RELAY: DAU-day ~2 MB, TURN: relayed minute 2 x 11 MB "
        "at 2 USD/TB, NOTIFY: message)",
        why="assumption: bandwidth at about 2 USD/TB and the traffic per unit in the doc",
    )
    node_capacity_units_day: tuple[float, ...] = _a(
        (50_000.0, 150_000.0, 3_000_000.0),
        "units/node/day",
        "what one node serves per day",
        why="assumption: unmeasured; to be replaced by bench/ relay and TURN figures",
    )
    nodes0: tuple[float, ...] = _a(
        (20.0, 10.0, 10.0),
        "nodes",
        "nodes registered at genesis",
        why="assumption: a few dozen launch operators (Livepeer's active orchestrator set is 100)",
    )
    nodes_min: tuple[float, ...] = _a(
        (3.0, 3.0, 3.0),
        "nodes",
        "nodes run regardless of profit",
        why="assumption: the community runs three nodes per kind whatever the profit",
    )
    operator_cost_sigma: float = _a(
        0.5,
        "-",
        "spread (log-normal sigma) of operators' server costs around the kind's server cost",
        why="assumption: home hardware, bare metal and cloud list prices differ by a factor of about "
        "1.6 either side of the median",
    )
    operator_capital_sigma: float = _a(
        0.5,
        "-",
        "spread (log-normal sigma) of what operators' self-stake capital costs them around the "
        "delegator (or outside) yield",
        why="assumption: operators holding CLUB price it at the delegator yield, those who buy or "
        "borrow it pay more; a factor of about 1.6 either side",
    )
    extra_kind_cost_share: float = _a(
        0.3,
        "fraction of the kind's server cost",
        "what declaring one more kind adds to a node's server cost (its dearest kind is paid in full; "
        "clubchat.sim.kindsets)",
        why="assumption: a second kind runs on the same machine under the same operator, monitoring and "
        "uptime work, and adds its own process, ports and bandwidth headroom: about a third of a server",
    )
    kind_switch_speed: float = _a(
        0.03,
        "1/day",
        "max share of a kind set's operators adding or dropping one kind per day (0: every node serves "
        "one kind, the single-kind model)",
        why="assumption: unmeasured speed constant, set like `node_entry_speed`",
    )
    operator_wealth_usd: float = _a(
        5_000.0,
        "USD",
        "median capital a would-be operator can bond as self-stake (log-normal)",
        why="assumption: individuals and small firms running a VPS with crypto savings of a few thousand "
        "dollars; the minimum self-stake (10,000 CLUB, $500 at genesis) is within reach of most",
    )
    operator_wealth_sigma: float = _a(
        1.5,
        "-",
        "spread (log-normal sigma) of would-be operators' capital; one below a set's minimum "
        "self-stake at the price cannot register that set",
        why="assumption: wealth is log-normal in its body with a wide spread; sigma 1.5 puts a tenth of "
        "would-be operators below $730 and a tenth above $34,000",
    )
    node_entry_speed: float = _a(
        0.03,
        "1/day",
        "max relative change of the node count per day",
        why="assumption: unmeasured speed constant (see the sensitivity ranking)",
    )
    commission: float = _a(
        0.10,
        "fraction",
        "typical operator commission on delegators' rewards",
        why="assumption: near the 5-10 % commissions common among proof-of-stake validators",
    )
    # ---- design options: node rewards per kind (registry changes under study; defaults = deployed) ----
    kind_reward_multiplier: tuple[float, ...] = _a(
        (1.0, 1.0, 1.0),
        "x stake",
        "reward weight per unit stake of each kind, in the one stream (used when the split is all zero)",
        why="assumption: a proposed NodeRegistry change; all one is the deployed contract",
    )
    premium_fee_routing: tuple[float, ...] = _a(
        (0.0, 0.0, 0.0),
        "fraction per kind",
        "premium's node share routed to each kind's nodes; all zero: it joins the registry stream "
        "(Premium today)",
        why="assumption: a proposed Premium and NodeRegistry change; all zero is the deployed contracts",
    )
    stake_rank_exponent: float = _a(
        0.8,
        "-",
        "operators' stake falls with rank as rank^-exponent (0: every node holds the same stake)",
        why="assumption: fitted to the Nakamoto coefficients public dashboards report for Cosmos Hub "
        "(about 7 of 180 validators hold a third of the stake) and Solana (a few dozen of about 2,000)",
    )
    # ---- assumptions: staking behaviour ----
    outside_yield: float = _a(
        0.05,
        "1/year",
        "yield holders can earn elsewhere (opportunity cost)",
        why="assumption: dollar and ETH staking yields of 3-5 % a year, rounded up",
    )
    liquidity_premium_base: float = _a(
        0.01,
        "1/year",
        "extra yield holders want for locking at all",
        why="assumption: holders want a little more than the outside yield to lock at all",
    )
    liquidity_premium_per_day: float = _a(
        0.001,
        "1/year per day",
        "extra yield per unbonding day",
        why="assumption: 1.4 % a year for the 14-day unbonding, on top",
    )
    stake_ratio_max: float = _a(
        0.7,
        "fraction",
        "most of the circulating supply that would ever stake",
        why="assumption: proof-of-stake networks stake 30-70 % of supply; the upper end",
    )
    delegator_hurdle_spread: float = _a(
        0.04,
        "1/year",
        "spread (logistic scale) of the yields holders ask to stake, around the outside yield plus "
        "the liquidity premium (clubchat.sim.population)",
        why="assumption: unmeasured; a spread of 4 points puts the holders' hurdles between about "
        "0 and 20 % a year, the range of proof-of-stake yields (see the sensitivity ranking)",
    )
    stake_speed: float = _a(
        0.02,
        "1/day",
        "share of the gap to the desired stake closed per day",
        why="assumption: unmeasured speed constant (see the sensitivity ranking)",
    )
    stake0_multiple: float = _a(
        2.0,
        "x self-stake",
        "stake at genesis per node (self + delegated)",
        why="assumption: launch operators bring one delegator's worth each",
    )
    # ---- assumptions: premium and ad market ----
    premium_uptake: float = _a(
        0.02,
        "fraction of DAU",
        "users on a paid tier when an average subscription costs `premium_usd_month`",
        why="assumption: low end of the 2-5 % usually quoted for freemium conversion",
    )
    premium_usd_month: float = _a(
        3.0,
        "USD/month",
        "users' willingness to pay: the monthly USD cost of an average subscription at which "
        "`premium_uptake` of DAU subscribe",
        why="assumption: below Telegram Premium's list price of about 5 USD a month",
    )
    premium_wtp_sigma: float = _a(
        1.0,
        "-",
        "spread of users' willingness to pay (sigma of its log-normal): uptake falls as the tiers' "
        "price in USD rises above `premium_usd_month`",
        why="assumption: a log-normal spread of e (2.7x) either side of the reference price",
    )
    premium_tier_mix: tuple[float, ...] = _a(
        (0.8, 0.2),
        "fraction of subscribers",
        "subscribers on each paid tier, in the order of parameters.yaml's paid tiers",
        why="assumption: most paying users take the cheapest paid tier, a fifth the dearest",
    )
    # ---- assumptions: communities ----
    communities_per_user: float = _a(
        0.01,
        "communities/DAU",
        "communities that exist per daily active user (each one created by paying the fee)",
        why="assumption: Discord reported about 19 million weekly active servers for 150 million "
        "monthly users (2021), 0.13 a user; a fee-paying creation is rarer, so a tenth of that a DAU",
    )
    community_turnover: float = _a(
        0.5,
        "1/year",
        "share of communities abandoned each year and replaced by newly created ones",
        why="assumption: most chat groups go quiet within a few years",
    )
    ads_optin: float = _a(
        0.3,
        "fraction of DAU",
        "users who opt in to ad notifications",
        why="assumption: opt-in advertising reaches a minority of users",
    )
    ads_demand_per_user_day: float = _a(
        4.0,
        "ads/user/day",
        "ads advertisers want to show per user",
        why="assumption: advertisers would send more than the cap allows",
    )
    ads_cap_per_user_day: float = _a(
        3.0,
        "ads/user/day",
        "per-user cap on paid ad deliveries",
        why="assumption: AdMarket leaves the per-user cap to each campaign; messenger ads cap low",
    )
    ads_cpm_usd: float = _a(
        2.0,
        "USD/1000 ads",
        "price advertisers pay",
        why="assumption: low single-digit USD CPMs of notification advertising",
    )
    market_depth: float = _a(
        0.002,
        "fraction/day",
        "most of the liquid float payments can buy per day",
        why="assumption: payments buy at most 0.2 % of the liquid float a day",
    )
    sybil_account_usd_month: float = _a(
        0.5,
        "USD/account/month",
        "cost of keeping one fake account",
        why="assumption: a phone-verified fake account costs cents to a dollar a month",
    )
    # ---- assumptions: treasury, slashing, security ----
    treasury_spend_rate: float = _a(
        0.08,
        "1/year",
        "share of the treasury spent into circulation",
        why="assumption: a DAO spending its treasury over about 12 years",
    )
    slash_rate: float = _a(
        0.002,
        "1/year",
        "share of stake slashed per year",
        why="assumption: rare faults; the adversarial scenario raises it tenfold",
    )
    slash_burn_share: float = _a(
        0.5,
        "fraction",
        "share of slashed stake burned (rest to the reporter or flagger)",
        why="assumption: Disputes burns 1 - reporter_share (50 %) of an equivocation cut and "
        "1 - flagger_reward (80 %) of a kick; the lower figure",
    )
    panel_capture_prob: float = _a(
        0.01,
        "probability",
        "panel-capture probability the attack targets",
        why="assumption: the capture risk the protocol should price (1 in 100 disputes)",
    )
    against_turnout: float = _a(
        0.03,
        "fraction of circulating",
        "votes cast against a hostile proposal",
        why="assumption: DAO votes commonly draw 1-10 % of supply; a hostile one draws some",
    )
    typical_turnout: float = _a(
        0.08,
        "fraction of votable supply",
        "turnout of an ordinary proposal (votable = circulating + vesting)",
        why="assumption: DAO votes commonly draw 1-10 % of supply",
    )
    dispute_days: float = _a(
        7.0,
        "days",
        "time to detect a fault, probe the node and decide a dispute",
        why="assumption: a week to detect, probe and vote",
    )
    rendezvous_relays: int = _a(
        2,
        "relays/user",
        "rendezvous relays a client samples (client default k)",
        why="source: clubchat/client/session.py (clients sample k = 2 rendezvous relays)",
    )
    eclipse_harm: float = _a(
        0.01,
        "fraction of users",
        "global relay attack: share of users eclipsed",
        why="assumption: the global attack priced (1 % of users cut off)",
    )
    targeted_success: float = _a(
        0.5,
        "probability",
        "targeted attack: chance to eclipse one chosen user",
        why="assumption: the targeted attack priced (even odds on one user)",
    )
    attack_days: float = _a(
        30.0,
        "days",
        "duration of an attack (and fresh relay draws, one a day)",
        why="assumption: a month-long attack, one fresh relay draw a day (daily reward epochs)",
    )
    attack_detect_prob: float = _a(
        0.5,
        "probability",
        "chance an attack is proven and its stake slashed",
        why="assumption: relay equivocation is provable from signed logs; half are caught",
    )
    attack_slash_share: float = _a(
        0.5,
        "fraction",
        "share of an attacker's stake slashed when proven",
        why="assumption: half of the stake of a proven attacker is slashed",
    )
    attack_price_drop: float = _a(
        0.3,
        "fraction",
        "fall of the CLUB price once an attack is known",
        why="assumption: the price falls by a third once an attack on the network is known",
    )
    pool_fee: float = _a(
        0.003,
        "fraction",
        "swap fee of the price-setting pool, each way",
        why="source: Uniswap v2's 0.30 % swap fee",
    )
    borrow_apr: float = _a(
        0.2,
        "1/year",
        "interest a lending market charges to borrow CLUB",
        why="assumption: variable borrow rates of mid-cap volatile tokens on Aave v3 and Compound "
        "run 5-30 %/yr and jump at high utilisation; no market lists CLUB yet",
    )
    lendable_share: float = _a(
        0.02,
        "fraction of circulating",
        "CLUB a lending market could lend out at once",
        why="assumption: money markets' supply caps for mid-cap tokens hold a few % of supply",
    )
    snapshot_hold_days: float = _a(
        1.0 / 24.0,
        "days",
        "how long votes are held across a governance snapshot",
        why="assumption: bought or borrowed in the last block before the snapshot, returned in "
        "the first one after; an hour allows for inclusion",
    )

    @property
    def vesting_total(self) -> float:
        return float(sum(self.vesting_amounts))

    @property
    def genesis_total(self) -> float:
        return self.genesis_treasury + self.genesis_liquidity + self.vesting_total

    @property
    def reserve(self) -> float:
        """The gap cap - supply at genesis (unminted under the cap; Emission mints r of the gap per epoch)."""
        return self.cap - self.genesis_total

    def replace(self, **changes: Any) -> SimParams:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise KeyError(f"unknown simulation parameter(s) {sorted(unknown)}; see `club sim list`")
        return dataclasses.replace(self, **changes)


def _whole(wei: int) -> float:
    return wei / WAD


def from_parameters(params: Parameters | None = None, **assumptions: Any) -> SimParams:
    """Build `SimParams` from the parameters file (default: deployments/parameters.yaml)."""
    p = params if params is not None else load_parameters()
    g, e, gv, r = p.genesis, p.emission, p.governance, p.registry
    weights = {x.name: x.weight_bps / BPS for x in e.receivers}
    known = {"node_rewards", "community_incentives", "treasury"}
    if set(weights) != known:
        raise ValueError(f"emission.receivers: the model knows {sorted(known)}, not {sorted(weights)}")
    protocol: dict[str, Any] = dict(
        cap=_whole(p.token.cap_wei),
        genesis_treasury=_whole(g.treasury_wei),
        genesis_liquidity=_whole(g.liquidity_wei),
        vesting_names=tuple(a.name for a in g.vesting),
        vesting_amounts=tuple(_whole(a.amount_wei) for a in g.vesting),
        vesting_cliff_days=tuple(a.cliff_seconds / DAY for a in g.vesting),
        vesting_duration_days=tuple(a.duration_seconds / DAY for a in g.vesting),
        rate_per_epoch=e.rate_per_epoch_wad / WAD,
        epoch_days=e.epoch_seconds / DAY,
        emission_tip=_whole(e.tip_wei),
        node_rewards_share=weights["node_rewards"],
        community_share=weights["community_incentives"],
        treasury_share=weights["treasury"],
        bootstrap_multiple=e.bootstrap_multiple_wei / WAD,
        bootstrap_epochs=e.bootstrap_epochs,
        quorum_fraction=gv.quorum_numerator / gv.quorum_denominator,
        proposal_threshold=gv.proposal_threshold_bps / BPS,
        min_self_stake=_whole(r.min_self_stake_per_kind_wei),
        saturation_multiple=float(r.saturation_multiple),
        unbonding_days=max(1, round(r.unbonding_seconds / DAY)),
        commission_max=r.commission_max_bps / BPS,
        kind_reward_split=tuple(b / BPS for b in r.kind_reward_bps),
        premium_burn_share=p.premium.burn_bps / BPS,
        premium_tier_prices=tuple(_whole(t.price_wei) for t in p.premium.tiers[1:]),
        premium_period_days=p.premium.period_seconds / DAY,
        community_creation_fee=_whole(p.communities.creation_fee_wei),
        ads_split_users=p.ads.user_bps / BPS,
        ads_split_nodes=p.ads.node_bps / BPS,
        ads_split_communities=p.ads.community_bps / BPS,
        ads_split_burn=p.ads.burn_bps / BPS,
        panel_size=p.disputes.panel_size,
        reviewer_cap=_whole(p.disputes.reviewer_cap_wei),
        review_majority=p.disputes.majority_bps / BPS,
    )
    return SimParams(**protocol).replace(**assumptions) if assumptions else SimParams(**protocol)


def describe() -> list[dict[str, str]]:
    """One row per field: name, unit, source, meaning (for `club sim list` and the whitepaper)."""
    return [
        {
            "name": f.name,
            "unit": f.metadata["unit"],
            "source": f.metadata["source"],
            "doc": f.metadata["doc"],
            "why": f.metadata.get("why", f"source: deployments/parameters.yaml {f.metadata['source']}"),
        }
        for f in dataclasses.fields(SimParams)
    ]


def coerce(name: str, text: str) -> Any:
    """Parse a command-line value for field `name` (`--sweep name=v1,v2`)."""
    kinds = {f.name: f for f in dataclasses.fields(SimParams)}
    if name not in kinds:
        raise KeyError(f"unknown simulation parameter {name!r}; `club sim list --params` shows them all")
    default = getattr(from_parameters(), name)
    if isinstance(default, tuple):
        return tuple(float(x) for x in text.split("/"))
    if isinstance(default, int) and not isinstance(default, bool):
        return int(float(text))
    return float(text)
