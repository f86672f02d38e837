"""Contracts in the loop for Premium and community creation: the model's premium flows as subscriptions.

`replay_premium` runs the model (`clubchat.sim.engine`) for `days` days of one (scenario, seed, run),
deploys the protocol with the plan `ape run deploy` uses (titanoboa, `boa_backend.deploy_all`) and,
day by day, does on the real contracts what the model's premium market says happens that day, for a
small panel of subscribers:

* governance (the Timelock, which holds Premium's PARAMETER_ROLE after the deploy) prices every paid
  tier at the model's CLUB per subscriber and period of that day (`set_tier`, limits and lock kept);
* `renewals` subscriptions of one period are paid, round-robin over the paid tiers; every second one
  is a gift (a gifter pays for the subscriber). The subscribers of day d are cohort (d - 1) mod
  `cohorts`, so from day `cohorts + 1` on they renew and their subscriptions stack in time;
* anyone `settle`s: the burn share is burnt, the node share goes to the NodeRegistry;
* a creator pays the creation fee of `creations` communities (`Communities.create`, burnt).

Conversion from the model's floats (stated once, used on both sides):

* the model's CLUB paid for premium on day d is burned_premium increment + fees_premium_to_nodes,
  by users x premium_uptake subscribers, each paying one period every `period_days` days; one
  subscriber's price of a period is (paid / subscribers) x period_days, times 10^18 and rounded
  down to a wei. The panel (`renewals` payments a day) stands for renewals x period_days
  subscribers: the model's float flows are scaled by that over the model's subscribers;
* from that price on both sides are integers: a payment of n periods costs n x price, its burn
  share is cost x burn_bps // 10,000 (rounded down, the node share takes the dust) with the
  model's `premium_burn_share` as bps, and `settle` keeps one wei of each share set aside (so the
  first day burns and pays one wei less), as Premium does;
* the model has no community-creation flow: the replay creates `creations` communities a day and
  the model side expects `model_creation_fee_wei` each (default: parameters.yaml's fee) burnt.

Compared per day: `revenue`, `burned`, `node_share` (the NodeRegistry's CLUB balance change),
`creation_burned`, `supply_change` (ClubToken.totalSupply change, negative: burnt) and the sum of the
new subscription ends (`expires`, seconds after the replay's start: the stacking rule), chain against
the exact integer mirror of the model (to the wei), and the model's float flows scaled to the panel
(`revenue`, `burned`, `node_share`) within `REL_TOL`. `PremiumLoopResult.mismatches()` lists every
comparison outside tolerance, one line each; a model burn share or fee other than the contracts' is
reported there.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.sim import replay_compare
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
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DayFlows:
    """The model's premium market on one day: a period's price per subscriber and its float flows."""

    price_wei: int
    subscribers: float  # the model's subscribers (users x premium_uptake)
    paid_club: float  # the model's CLUB paid for premium that day (whole network)
    node_club: float
    burned_club: float


def day_flows(p: SimParams, path: dict[str, Any], col: int, day: int, period_days: float) -> DayFlows:
    """The model's premium flows of `day` (see the module docstring for the conversion)."""
    node = float(path["fees_premium_to_nodes"][day, col])
    burned = float(path["burned_premium"][day, col] - path["burned_premium"][day - 1, col])
    subscribers = float(path["users"][day, col]) * p.premium_uptake
    paid = node + burned
    price_wei = int(paid / subscribers * period_days * WAD) if subscribers > 0 else 0
    return DayFlows(price_wei, subscribers, paid, node, burned)


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
        self.treasury, self.governance = dep.treasury, str(dep["Timelock"].address)
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

    def price_tiers(self, price: int) -> list[int]:
        """Governance prices every paid tier at `price` (limits and lock unchanged); the paid tiers."""
        paid = []
        for tier in range(1, int(self.premium.tier_count()) + 1):
            t = self.premium.tiers(tier)
            with self.boa.env.prank(self.governance):
                limits = [t.max_message_bytes, t.max_file_bytes, t.max_call_seconds, t.mailbox_quota_bytes]
                self.premium.set_tier(tier, limits, price, int(t.lock_amount))
            paid.append(tier)
        return paid

    def subscribe(self, payer: str, account: str, tier: int, price: int) -> tuple[int, int]:
        """One period of `tier` for `account`, paid by `payer`: (paid, new end) from the event."""
        self.give(payer, price)
        with self.boa.env.prank(payer):
            self.token.approve(self.premium.address, price)
            self.premium.subscribe(account, tier, 1)
        (ev,) = _logs(self.premium, "Subscribed")
        return int(ev.paid), int(ev.expires_at)

    def settle(self) -> int:
        with self.boa.env.prank(self.gifter):
            return int(self.premium.settle()[0])

    def create(self) -> None:
        fee = int(self.communities.creation_fee())
        if fee:
            self.give(self.creator, fee)
            with self.boa.env.prank(self.creator):
                self.token.approve(self.communities.address, fee)
        with self.boa.env.prank(self.creator):
            self.communities.create(self.creator, OPEN, 0, False)


def replay_premium(
    scenario: str = "baseline",
    *,
    days: int = 3,
    renewals: int = 4,
    cohorts: int = 2,
    creations: int = 1,
    seed: int = 0,
    run: int = 1,
    params: Parameters | None = None,
    model_overrides: dict[str, Any] | None = None,
    model_creation_fee_wei: int | None = None,
    deploy: Callable[..., Any] | None = None,
) -> PremiumLoopResult:
    """Replay `days` days of the model's premium payments (and `creations` community creations a
    day) on the real contracts.

    `model_overrides` replaces SimParams fields of the model side only and `model_creation_fee_wei`
    the fee it expects (the contracts keep the deployed parameters): a perturbed burn share or fee
    must show up in `mismatches()`. Run this inside `boa.env.anchor()` to leave no state behind.
    """
    import boa

    if renewals < 1 or cohorts < 1 or creations < 0:
        raise ValueError("renewals and cohorts must be at least 1, creations at least 0")
    params, p, path = replay_compare.model_run(scenario, params, model_overrides, days, seed, run)
    fee_model = (
        params.communities.creation_fee_wei if model_creation_fee_wei is None else model_creation_fee_wei
    )
    col = run - 1
    bps = round(p.premium_burn_share * BPS)
    res = PremiumLoopResult(scenario, seed, run, days, renewals, bps, fee_model)
    dep = replay_compare.deploy(params, "premium-replay-deployer", deploy)
    actors = _Payers(boa, dep, renewals, cohorts)
    period = int(actors.premium.period_seconds())
    mirror = PremiumMirror(bps, period)
    t0 = int(boa.env.evm.patch.timestamp)
    for day in range(1, days + 1):
        now = int(boa.env.evm.patch.timestamp)
        boa.env.time_travel(seconds=max(t0 + (day - 1) * DAY + 60 - now, 1))
        flows = day_flows(p, path, col, day, period / DAY)
        tiers = actors.price_tiers(flows.price_wei)
        supply0 = int(actors.token.totalSupply())
        registry0 = int(actors.token.balanceOf(actors.registry.address))
        revenue = expires = revenue_exact = expires_exact = 0
        for i, account in enumerate(actors.cohorts[(day - 1) % cohorts]):
            tier, payer = tiers[i % len(tiers)], actors.gifter if i % 2 else account
            paid, end = actors.subscribe(payer, account, tier, flows.price_wei)
            cost, end_exact = mirror.subscribe(
                account, tier, 1, flows.price_wei, int(boa.env.evm.patch.timestamp)
            )
            revenue, expires, revenue_exact, expires_exact = (  # ends in seconds after the start
                revenue + paid, expires + end - t0, revenue_exact + cost, expires_exact + end_exact - t0,
            )  # fmt: skip
        burned = actors.settle()
        burned_exact, nodes_exact = mirror.settle()
        node_share = int(actors.token.balanceOf(actors.registry.address)) - registry0
        before_create = int(actors.token.totalSupply())
        for _ in range(creations):
            actors.create()
        supply1 = int(actors.token.totalSupply())
        scale = renewals * period / DAY / flows.subscribers * WAD if flows.subscribers > 0 else 0.0
        res.rows.append(
            {
                "day": day,
                "price_wei": flows.price_wei,
                "revenue_chain": revenue,
                "revenue_exact": revenue_exact,
                "revenue_model": flows.paid_club * scale,
                "burned_chain": burned,
                "burned_exact": burned_exact,
                "burned_model": flows.burned_club * scale,
                "node_share_chain": node_share,
                "node_share_exact": nodes_exact,
                "node_share_model": flows.node_club * scale,
                "creation_burned_chain": before_create - supply1,
                "creation_burned_exact": creations * fee_model,
                "supply_change_chain": supply1 - supply0,
                "supply_change_exact": -(burned_exact + creations * fee_model),
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
    header = (
        f"Premium in the loop: {result.days} day(s) of {result.scenario} run {result.run}, "
        f"{result.renewals} one-period subscriptions a day (half of them gifts, over the paid tiers, "
        f"priced by governance at the model's CLUB per period) settled daily, and community creations "
        f"(model burn share {result.burn_bps} bps, creation fee {result.creation_fee_wei / WAD:g} CLUB). "
        f"Contracts and model {result.verdict('revenue, burned and node share')}."
    )
    return f"{header}\n\n{result.totals_table('wei; ends in s after the start')}\n"
