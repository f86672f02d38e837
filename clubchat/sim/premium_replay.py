"""Contracts in the loop for Premium and community creation: the model's premium flows as subscriptions.

`replay_premium` runs the model (`clubchat.sim.engine`) for `days` days of one (scenario, seed, run),
deploys the protocol with the plan `ape run deploy` uses (titanoboa, `boa_backend.deploy_all`) and,
day by day, does on the real contracts what the model's premium market says happens that day, for a
small panel of subscribers:

* `renewals` subscriptions of one period are paid each day at the deployed tiers' CLUB prices
  (parameters.yaml's `premium.tiers`, which the model prices premium at: clubchat.sim.premium),
  split over the paid tiers by the model's `premium_tier_mix` (largest remainder); every second
  one is a gift (a gifter pays for the subscriber). The subscribers of day d are cohort
  (d - 1) mod `cohorts`, so from day `cohorts + 1` on they renew and their subscriptions stack in time;
* anyone `settle`s: the burn share is burnt, the node share goes to the NodeRegistry;
* a creator creates the communities the model creates that day (`Communities.create`, the fee
  burnt): the whole communities the model's running total of creations crosses that day.

Conversion from the model's floats (stated once, used on both sides):

* the model's CLUB paid for premium on day d is burned_premium increment + fees_premium_to_nodes,
  by its `premium_subscribers`, each paying one average subscription per period. A tier's price
  as the model's flows imply it is the model's tier price (`premium_tier_prices`) times paid over
  what those subscribers owe at those prices (1 when the model prices premium at its tiers); the
  panel's float revenue is the panel's payments at those implied prices, its burn and node share
  in the model's proportions;
* the exact side pays the model's tier prices x 10^18 (wei): a payment of n periods costs n x
  price, its burn share is cost x burn_bps // 10,000 (rounded down, the node share takes the dust)
  with the model's `premium_burn_share` as bps, and `settle` keeps one wei of each share set aside
  (so the first day burns and pays one wei less), as Premium does;
* creation fees: the exact side burns the model's `community_creation_fee` x 10^18 per community
  the replay creates; the float side that count times the fee the model's flows imply
  (burned_creation increment / communities_created increment).

Compared per day: `revenue`, `burned`, `node_share` (the NodeRegistry's CLUB balance change),
`creation_burned`, `supply_change` (ClubToken.totalSupply change, negative: burnt) and the sum of the
new subscription ends (`expires`, seconds after the replay's start: the stacking rule), chain against
the exact integer mirror of the model (to the wei), and the model's float flows scaled to the panel
(`revenue`, `burned`, `node_share`, `creation_burned`) within `REL_TOL`.
`PremiumLoopResult.mismatches()` lists every comparison outside tolerance, one line each; a model
tier price, burn share or creation fee other than the contracts' is reported there.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.sim import premium, replay_compare
from clubchat.sim.parameters import SimParams

REL_TOL = 1e-9
KEYS = ("revenue", "burned", "node_share", "creation_burned", "supply_change", "expires")
OPEN = 1  # Communities' OPEN join policy


@dataclass
class PremiumLoopResult(replay_compare.DailyRows):
    """One row per replayed day: chain, exact mirror and float model values (wei, seconds)."""

    KEYS = KEYS
    REL_TOL = REL_TOL

    scenario: str
    seed: int
    run: int
    days: int
    renewals: int
    burn_bps: int  # the model's burn share as bps
    creation_fee_wei: int  # the model side's creation fee
    tier_prices_wei: tuple[int, ...]  # the model's price of each paid tier per period
    panel: tuple[int, ...]  # subscriptions paid a day per paid tier
    rows: list[dict[str, Any]] = field(default_factory=list)


def panel(p: SimParams, renewals: int) -> tuple[int, ...]:
    """`renewals` subscriptions a day split over the paid tiers by the model's mix (largest remainder)."""
    want = premium.tier_mix(p) * renewals
    counts = np.floor(want).astype(int)
    for i in np.argsort(-(want - counts), kind="stable")[: renewals - int(counts.sum())]:
        counts[i] += 1
    return tuple(int(c) for c in counts)


@dataclass(frozen=True)
class DayFlows:
    """The model's premium market and community creations on one day (whole-network floats)."""

    subscribers: float  # the model's paying subscribers
    paid_club: float  # CLUB paid for premium that day
    node_club: float
    burned_club: float
    implied: float  # paid_club over what the subscribers owe at the model's tier prices
    created: float  # communities created that day
    creation_burned_club: float
    creations: int  # whole communities the running total of creations crosses that day


def day_flows(p: SimParams, path: dict[str, Any], col: int, day: int) -> DayFlows:
    """The model's flows of `day` (see the module docstring for the conversion)."""

    def diff(key: str) -> float:
        return float(path[key][day, col] - path[key][day - 1, col])

    node, burned = float(path["fees_premium_to_nodes"][day, col]), diff("burned_premium")
    subscribers = float(path["premium_subscribers"][day, col])
    owed = float(premium.tier_club_per_day(p, subscribers).sum())
    total = path["communities_created"][:, col]
    return DayFlows(
        subscribers=subscribers,
        paid_club=node + burned,
        node_club=node,
        burned_club=burned,
        implied=(node + burned) / owed if owed > 0 else 0.0,
        created=diff("communities_created"),
        creation_burned_club=diff("burned_creation"),
        creations=math.floor(total[day]) - math.floor(total[day - 1]),
    )


class PremiumMirror:
    """Premium in integers with the model's burn share: shares per payment, rounded down, and
    `settle`'s one wei of each share left set aside; subscription ends stack per (account, tier)."""

    def __init__(self, burn_bps: int, period_seconds: int) -> None:
        self.burn_bps, self.period = burn_bps, period_seconds
        self.pending = [0, 0]  # burn, nodes
        self.ends: dict[tuple[str, int], int] = {}

    def subscribe(self, account: str, tier: int, periods: int, price: int, now: int) -> tuple[int, int]:
        """(cost, new end) of a payment; its shares are set aside."""
        cost = price * periods
        burn = cost * self.burn_bps // BPS
        self.pending[0] += burn
        self.pending[1] += cost - burn
        end = max(now, self.ends.get((account, tier), 0)) + periods * self.period
        self.ends[(account, tier)] = end
        return cost, end

    def settle(self) -> tuple[int, int]:
        """(burnt, sent to nodes): all but one wei of each set-aside share."""
        out = tuple(v - 1 if v > 1 else 0 for v in self.pending)
        self.pending = [v - o for v, o in zip(self.pending, out, strict=True)]
        return out[0], out[1]


def _logs(contract: Any, name: str) -> list[Any]:
    return [ev for ev in contract.get_logs() if type(ev).__name__ == name]


class _Payers:
    """The actors of the replay on the deployed contracts (titanoboa)."""

    def __init__(self, boa: Any, dep: Any, renewals: int, cohorts: int) -> None:
        self.boa = boa
        self.token, self.premium = dep["ClubToken"], dep["Premium"]
        self.communities, self.registry = dep["Communities"], dep["NodeRegistry"]
        self.treasury = dep.treasury
        self.gifter, self.creator = (
            str(boa.env.generate_address(f"premium-replay-{n}")) for n in ("gifter", "creator")
        )
        self.cohorts = [
            [str(boa.env.generate_address(f"premium-replay-{c}-{i}")) for i in range(renewals)]
            for c in range(cohorts)
        ]

    def give(self, who: str, amount: int) -> None:
        with self.boa.env.prank(self.treasury):
            self.token.transfer(who, amount)

    def subscribe(self, payer: str, account: str, tier: int) -> tuple[int, int]:
        """One period of `tier` at its deployed price for `account`, paid by `payer`: (paid, new end)."""
        price = int(self.premium.tiers(tier).price_per_period)
        self.give(payer, price)
        with self.boa.env.prank(payer):
            self.token.approve(self.premium.address, price)
            self.premium.subscribe(account, tier, 1)
        (ev,) = _logs(self.premium, "Subscribed")
        return int(ev.paid), int(ev.expires_at)

    def settle(self) -> int:
        with self.boa.env.prank(self.gifter):
            return int(self.premium.settle()[0])

    def create(self, count: int) -> None:
        """`count` communities created by the creator, each paying the deployed creation fee."""
        fee = int(self.communities.creation_fee())
        if fee and count:
            self.give(self.creator, fee * count)
            with self.boa.env.prank(self.creator):
                self.token.approve(self.communities.address, fee * count)
        with self.boa.env.prank(self.creator):
            for _ in range(count):
                self.communities.create(self.creator, OPEN, 0, False)


def replay_premium(
    scenario: str = "baseline",
    *,
    days: int = 3,
    renewals: int = 4,
    cohorts: int = 2,
    seed: int = 0,
    run: int = 1,
    params: Parameters | None = None,
    model_overrides: dict[str, Any] | None = None,
    deploy: Callable[..., Any] | None = None,
) -> PremiumLoopResult:
    """Replay `days` days of the model's premium payments and community creations on the real contracts.

    `model_overrides` replaces SimParams fields of the model side only (the contracts keep the
    deployed parameters): a perturbed tier price, burn share or creation fee must show up in
    `mismatches()`. Run this inside `boa.env.anchor()` to leave no state behind.
    """
    import boa

    if renewals < 1 or cohorts < 1:
        raise ValueError("renewals and cohorts must be at least 1")
    params, p, path = replay_compare.model_run(scenario, params, model_overrides, days, seed, run)
    col = run - 1
    bps = round(p.premium_burn_share * BPS)
    fee_model = int(p.community_creation_fee * WAD)
    prices = tuple(int(x * WAD) for x in p.premium_tier_prices)
    counts = panel(p, renewals)
    res = PremiumLoopResult(scenario, seed, run, days, renewals, bps, fee_model, prices, counts)
    dep = replay_compare.deploy(params, "premium-replay-deployer", deploy)
    actors = _Payers(boa, dep, renewals, cohorts)
    period = int(actors.premium.period_seconds())
    mirror = PremiumMirror(bps, period)
    tiers = [tier for tier, n in enumerate(counts, start=1) for _ in range(n)]  # one per payment
    t0 = int(boa.env.evm.patch.timestamp)
    for day in range(1, days + 1):
        now = int(boa.env.evm.patch.timestamp)
        boa.env.time_travel(seconds=max(t0 + (day - 1) * DAY + 60 - now, 1))
        flows = day_flows(p, path, col, day)
        supply0 = int(actors.token.totalSupply())
        registry0 = int(actors.token.balanceOf(actors.registry.address))
        revenue = expires = revenue_exact = expires_exact = 0
        for i, (account, tier) in enumerate(zip(actors.cohorts[(day - 1) % cohorts], tiers, strict=True)):
            paid, end = actors.subscribe(actors.gifter if i % 2 else account, account, tier)
            cost, end_exact = mirror.subscribe(
                account, tier, 1, prices[tier - 1], int(boa.env.evm.patch.timestamp)
            )
            revenue, expires, revenue_exact, expires_exact = (  # ends in seconds after the start
                revenue + paid, expires + end - t0, revenue_exact + cost, expires_exact + end_exact - t0,
            )  # fmt: skip
        burned = actors.settle()
        burned_exact, nodes_exact = mirror.settle()
        node_share = int(actors.token.balanceOf(actors.registry.address)) - registry0
        before_create = int(actors.token.totalSupply())
        actors.create(flows.creations)
        supply1 = int(actors.token.totalSupply())
        # the panel's payments at the tier prices the model's flows imply, split as the model splits
        revenue_model = sum(n * x for n, x in zip(counts, p.premium_tier_prices, strict=True))
        revenue_model *= flows.implied * WAD
        share = 1.0 / flows.paid_club if flows.paid_club > 0 else 0.0
        fee_implied = flows.creation_burned_club / flows.created if flows.created > 0 else 0.0
        res.rows.append(
            {
                "day": day,
                "subscribers_model": flows.subscribers,
                "revenue_chain": revenue,
                "revenue_exact": revenue_exact,
                "revenue_model": revenue_model,
                "burned_chain": burned,
                "burned_exact": burned_exact,
                "burned_model": revenue_model * flows.burned_club * share,
                "node_share_chain": node_share,
                "node_share_exact": nodes_exact,
                "node_share_model": revenue_model * flows.node_club * share,
                "creations": flows.creations,
                "creation_burned_chain": before_create - supply1,
                "creation_burned_exact": flows.creations * fee_model,
                "creation_burned_model": flows.creations * fee_implied * WAD,
                "supply_change_chain": supply1 - supply0,
                "supply_change_exact": -(burned_exact + flows.creations * fee_model),
                "expires_chain": expires,
                "expires_exact": expires_exact,
            }
        )
    return res


def replay_with_report(scenario: str = "baseline", **kw: Any) -> PremiumLoopResult:
    """`replay_premium` in a throw-away boa state (`boa.env.anchor()`), as the CLI and whitepaper run it."""
    import boa

    with boa.env.anchor():
        return replay_premium(scenario, **kw)


def report_markdown(result: PremiumLoopResult) -> str:
    """The replay as a Markdown paragraph and table: totals over the replayed days, chain vs the
    exact mirror (wei; subscription ends in seconds), and the verdict with every mismatch named."""
    prices = " / ".join(f"{x / WAD:g}" for x in result.tier_prices_wei)
    panel_text = " / ".join(str(n) for n in result.panel)
    created = sum(int(r["creations"]) for r in result.rows)
    header = (
        f"Premium in the loop: {result.days} day(s) of {result.scenario} run {result.run}, "
        f"{result.renewals} one-period subscriptions a day ({panel_text} on the paid tiers, by the "
        f"model's tier mix; half of them gifts) at the tiers' CLUB prices ({prices} CLUB a period), "
        f"settled daily, and the {created:,} communities the model creates over those days (model burn "
        f"share {result.burn_bps} bps, creation fee {result.creation_fee_wei / WAD:g} CLUB). "
        f"Contracts and model {result.verdict('revenue, burned, node share and creation burned')}."
    )
    return f"{header}\n\n{result.totals_table('wei; ends in s after the start')}\n"
