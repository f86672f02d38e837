"""Contracts in the loop for the ad market: the model's ad flows replayed as AdMarket campaigns.

`replay_ads` runs the model (`clubchat.sim.engine`) for `days` days of one (scenario, seed, run),
deploys the protocol with the plan `ape run deploy` uses (titanoboa, `boa_backend.deploy_all`) and,
day by day, does on the real contracts what the model's ad market says happens that day, for a
small panel of `users` simulated opted-in users (the model's network has millions; the panel is
its per-user flow, scaled down):

* an advertiser escrows a one-day campaign targeting one community (every panel user is a member;
  its owner set a payout address) with the model's price per notification, a per-user cap of the
  model's cap, and a budget for what the advertisers want to show (`ads_demand_per_user_day`);
* every user sees min(demand, cap) notifications through one registered NOTIFY node and signs a
  cumulative EIP-712 receipt after each (`clubchat.ads.receipts.sign_receipt`); the node's key
  settles the newest receipts every `settle_every` views (and after the last) in batches of at
  most `batch` receipts;
* users, the node's operator and the community's payout address withdraw; anyone burns the burn
  share; after the end plus the settlement grace the advertiser takes the refund.

Optionally (`replay_ads` arguments): several NOTIFY nodes share the panel, each settling its own
users' receipts; some days' campaigns are untargeted (the community share is burned; the model
pays it to communities, so its float burn is compared with the community share added), paused
and resumed around the first settlement (settlement goes on while paused), or cancelled once half
the views are delivered (nothing delivered after; the receipts up to the cancel settle in the
grace period; the model's float flows are scaled to the views delivered; the refund is the rest).

Conversion from the model's floats (stated once, used on both sides):

* the model's CLUB spent on ads on day d is (fees_ads_to_nodes + burned_ads increment) /
  (ads_split_nodes + ads_split_burn), its notifications users x ads_optin x min(demand, cap);
  the price per notification is their ratio, times 10^18 and rounded down to a wei;
* from that price on both sides are integers: each settled receipt of n new views charges n x
  price, and the model's split (`ads_split_*` as bps) rounds each share down per receipt, the dust
  to the burn, as AdMarket does.

Compared per day: `spent`, `user_share`, `node_share`, `community_share`, `burned`, `refunded`
and `skipped` receipts, chain against the exact integer mirror of the model (to the wei), and the
model's own float flows scaled to the panel (`spent`, `node_share`, `burned`) within `REL_TOL`.
`AdsLoopResult.mismatches()` lists every comparison outside tolerance, one line each; a model
whose split differs from the contract's (the deployed `ads.split`) is reported there.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_utils import keccak

from clubchat.ads.receipts import Receipt, SignedReceipt, sign_receipt
from clubchat.chain.eip712 import Domain
from clubchat.deploy import boa_backend
from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.registry.client import Registration, RegistryActions
from clubchat.registry.kinds import NOTIFY
from clubchat.sim import replay_compare
from clubchat.sim.parameters import SimParams

# The exact mirror must match to the wei; the float model within REL_TOL (price rounding to a wei
# and per-receipt dust are ~1e-13 of the amounts).
REL_TOL = 1e-9
KEYS = ("spent", "user_share", "node_share", "community_share", "burned", "refunded", "skipped")
FLOAT_KEYS = ("spent", "node_share", "burned")
OPEN = 1  # Communities' OPEN join policy
CREATIVE = "data:,club chat replay"
MAX_UINT = 2**256 - 1


@dataclass
class AdsLoopResult(replay_compare.DailyRows):
    """One row per replayed day: chain, exact mirror and float model values (wei, receipts)."""

    KEYS = KEYS
    REL_TOL = REL_TOL

    scenario: str
    seed: int
    run: int
    days: int
    users: int
    split_bps: tuple[int, int, int, int]  # the model's (user, node, community, burn)
    rows: list[dict[str, Any]] = field(default_factory=list)
    nodes: int = 1


@dataclass(frozen=True)
class DayFlows:
    """The model's ad market on one day: per-notification price and views, and its float flows."""

    price_wei: int
    views: int  # notifications each opted-in user sees (the model's min(demand, cap))
    wanted: int  # notifications advertisers pay for per user (the budget)
    opted_in: float  # the model's opted-in users
    spent_club: float  # the model's CLUB spent on ads that day (whole network)
    node_club: float
    burned_club: float


def model_bps(p: SimParams) -> tuple[int, int, int, int]:
    """The model's split as AdMarket's bps (user, node, community, burn)."""
    fractions = (p.ads_split_users, p.ads_split_nodes, p.ads_split_communities, p.ads_split_burn)
    return tuple(round(f * BPS) for f in fractions)  # type: ignore[return-value]


def day_flows(p: SimParams, path: dict[str, Any], col: int, day: int) -> DayFlows:
    """The model's ad flows of `day` (see the module docstring for the conversion)."""
    views_f = min(p.ads_demand_per_user_day, p.ads_cap_per_user_day)
    if views_f != int(views_f):
        raise ValueError(f"the replay needs whole notifications per user and day, the model shows {views_f}")
    views = int(views_f)
    node = float(path["fees_ads_to_nodes"][day, col])
    burned = float(path["burned_ads"][day, col] - path["burned_ads"][day - 1, col])
    shares = p.ads_split_nodes + p.ads_split_burn
    spent = (node + burned) / shares if shares > 0 else 0.0
    opted_in = float(path["users"][day, col]) * p.ads_optin
    price_wei = int(spent / (opted_in * views) * WAD) if opted_in > 0 and views > 0 else 0
    wanted = max(views, math.ceil(p.ads_demand_per_user_day))
    return DayFlows(price_wei, views, wanted, opted_in, spent, node, burned)


class SplitMirror:
    """The model's side in integers: each settled receipt's amount split with the model's bps,
    every share rounded down, the dust (and, without a community, its share) to the burn."""

    def __init__(self, bps: tuple[int, int, int, int]) -> None:
        self.bps = bps
        self.totals = dict.fromkeys(("spent", "user_share", "node_share", "community_share", "burned"), 0)

    def settle(self, amount: int, targeted: bool = True) -> None:
        user, node, community = (amount * b // BPS for b in self.bps[:3])
        burn = amount - user - node - community + (0 if targeted else community)
        for key, value in (("spent", amount), ("user_share", user), ("node_share", node),
                           ("community_share", community if targeted else 0), ("burned", burn)):  # fmt: skip
            self.totals[key] += value

    def take(self) -> dict[str, int]:
        """The totals since the last call."""
        out, self.totals = self.totals, dict.fromkeys(self.totals, 0)
        return out


def _events(contract: Any, name: str) -> list[Any]:
    return [ev for ev in contract.get_logs() if type(ev).__name__ == name]


class _Market:
    """The actors of the replay on the deployed contracts (titanoboa)."""

    def __init__(self, boa: Any, dep: Any, params: Parameters, users: int, nodes: int = 1) -> None:
        self.boa = boa
        self.token, self.market, self.communities = dep["ClubToken"], dep["AdMarket"], dep["Communities"]
        self.treasury = dep.treasury
        named = (
            boa.env.generate_address(f"ads-replay-{n}")
            for n in ("advertiser", "operator", "key", "owner", "payout")
        )
        self.advertiser, self.operator, self.key, self.owner, self.payout = (str(a) for a in named)
        self.users = [Account.from_key(keccak(text=f"clubchat-ads-replay:{i}")) for i in range(users)]
        self.domain = Domain.of(self.market)
        # NOTIFY nodes as (operator, key); the first is `operator`, `key`.
        self.nodes = [(self.operator, self.key)] + [
            (
                str(boa.env.generate_address(f"ads-replay-operator-{i}")),
                str(boa.env.generate_address(f"ads-replay-key-{i}")),
            )
            for i in range(1, nodes)
        ]
        for operator, key in self.nodes:
            self._register_node(dep, params, operator, key)
        self.community = self._community()

    def _give(self, who: str, amount: int) -> None:
        with self.boa.env.prank(self.treasury):
            self.token.transfer(who, amount)

    def _register_node(self, dep: Any, params: Parameters, operator: str, key: str) -> None:
        stake = params.registry.min_self_stake_per_kind_wei
        self._give(operator, stake)
        self.boa.env.set_balance(key, 10**18)
        spec = Registration(
            kinds=NOTIFY, endpoints={NOTIFY: "https://replay.notify.example"}, node_key=key,
            region="loop", metadata_uri="https://replay.example/meta.json",
        )  # fmt: skip
        port = boa_backend.BoaPort(operator)
        RegistryActions(port, dep["NodeRegistry"], self.token).register(spec, stake, key=key)

    def _community(self) -> int:
        fee = int(self.communities.creation_fee())
        if fee:
            self._give(self.owner, fee)
            with self.boa.env.prank(self.owner):
                self.token.approve(self.communities.address, fee)
        with self.boa.env.prank(self.owner):
            cid = int(self.communities.create(self.owner, OPEN, 0, False))
            self.market.set_community_payout(cid, self.payout)
        for u in self.users:
            with self.boa.env.prank(u.address):
                self.communities.join(cid)
        return cid

    def create_campaign(
        self, budget: int, price: int, cap: int, start: int, end: int, targeted: bool = True
    ) -> int:
        self._give(self.advertiser, budget)
        targets = [self.community] if targeted else []
        with self.boa.env.prank(self.advertiser):
            self.token.approve(self.market.address, budget)
            return int(
                self.market.create_campaign(
                    budget, price, cap, start, end, keccak(text=CREATIVE), CREATIVE, targets, 0, 0
                )
            )

    def advertiser_does(self, action: str, campaign: int) -> None:
        """`pause`, `resume` or `cancel` the campaign, as its advertiser."""
        with self.boa.env.prank(self.advertiser):
            getattr(self.market, action)(campaign)

    def settle(self, receipts: list[SignedReceipt], batch: int, node: int = 0) -> tuple[int, int]:
        """Node `node`'s key settles `receipts` in batches; returns (wei settled, receipts skipped)."""
        operator, key = self.nodes[node]
        settled = skipped = 0
        for i in range(0, len(receipts), batch):
            with self.boa.env.prank(key):
                self.market.settle(operator, [s.settlement() for s in receipts[i : i + batch]])
            settled += sum(int(ev.amount) for ev in _events(self.market, "BatchSettled"))
            skipped += len(_events(self.market, "ReceiptSkipped"))
        return settled, skipped

    def sign(self, campaign: int, user: Any, count: int, node: int = 0) -> SignedReceipt:
        receipt = Receipt(campaign, user.address, self.nodes[node][0], count)
        return SignedReceipt(receipt, sign_receipt(bytes(user.key), self.domain, receipt).packed())

    def withdraw(self, who: str) -> int:
        if int(self.market.balances(who)) == 0:
            return 0
        with self.boa.env.prank(who):
            self.market.withdraw()
        return sum(int(ev.amount) for ev in _events(self.market, "Withdrawn"))

    def burn(self) -> int:
        if int(self.market.burn_pending()) == 0:
            return 0
        with self.boa.env.prank(self.advertiser):
            self.market.burn()
        return sum(int(ev.amount) for ev in _events(self.market, "Burned"))

    def refund(self, campaign: int) -> int:
        with self.boa.env.prank(self.advertiser):
            self.market.refund(campaign)
        return sum(int(ev.amount) for ev in _events(self.market, "CampaignRefunded"))


def replay_ads(
    scenario: str = "baseline",
    *,
    days: int = 3,
    users: int = 4,
    seed: int = 0,
    run: int = 1,
    settle_every: int = 2,
    batch: int = 100,
    nodes: int = 1,
    untargeted_days: tuple[int, ...] = (),
    paused_days: tuple[int, ...] = (),
    cancel_days: tuple[int, ...] = (),
    params: Parameters | None = None,
    model_overrides: dict[str, Any] | None = None,
    deploy: Callable[..., Any] | None = None,
) -> AdsLoopResult:
    """Replay `days` days of the model's ad market for `users` panel users on the real contracts.

    `nodes` NOTIFY nodes share the panel (user i is served by node i mod `nodes`, which settles
    its own users' receipts). On `untargeted_days` the campaign targets no community (its
    community share is burned). On `paused_days` the advertiser pauses the campaign before the
    day's first settlement and resumes it after (settlement is not affected). On `cancel_days`
    the advertiser cancels once half the views (at least one) are delivered; nothing is delivered
    after, the receipts up to the cancel settle, and the refund is the rest. `model_overrides`
    replaces SimParams fields of the model side only (the contracts keep the deployed
    parameters): a perturbed split must show up in `mismatches()`. Run this inside
    `boa.env.anchor()` to leave no state behind.
    """
    import boa

    if settle_every < 1 or not 1 <= batch <= 100 or nodes < 1:
        raise ValueError("settle_every and nodes must be at least 1 and batch between 1 and 100")
    if set(paused_days) & set(cancel_days):
        raise ValueError("a day is either paused or cancelled (a cancelled campaign cannot be paused)")
    params, p, path = replay_compare.model_run(scenario, params, model_overrides, days, seed, run)
    col = run - 1
    bps = model_bps(p)
    res = AdsLoopResult(scenario, seed, run, days, users, bps, nodes=nodes)
    dep = replay_compare.deploy(params, "ads-replay-deployer", deploy)
    actors = _Market(boa, dep, params, users, nodes)
    grace = int(actors.market.settlement_grace_seconds())
    mirror = SplitMirror(bps)
    t0 = int(boa.env.evm.patch.timestamp)
    campaigns: list[tuple[int, int]] = []  # (campaign, refund the mirror expects)
    for day in range(1, days + 1):
        flows = day_flows(p, path, col, day)
        start = t0 + (day - 1) * DAY + 60
        now = int(boa.env.evm.patch.timestamp)
        if start - 30 > now:
            boa.env.time_travel(seconds=start - 30 - now)
        budget = users * flows.wanted * flows.price_wei
        targeted = day not in untargeted_days
        cid = actors.create_campaign(budget, flows.price_wei, flows.views, start, start + DAY - 120, targeted)
        boa.env.time_travel(seconds=60)
        settled_chain = skipped = 0
        done = dict.fromkeys(range(users), 0)  # views settled per user (the mirror's view)
        # the views delivered: all of the model's, or up to the cancel
        delivered = max(flows.views // 2, 1) if day in cancel_days and flows.views else flows.views
        while_paused = 0  # wei settled while the campaign was paused
        paused = day in paused_days
        for k in range(1, delivered + 1):
            if k % settle_every and k != delivered:
                continue
            if k == delivered and day in cancel_days:
                actors.advertiser_does("cancel", cid)  # the receipts up to now still settle
            if paused:
                actors.advertiser_does("pause", cid)
            for node in range(nodes):
                mine = [u for i, u in enumerate(actors.users) if i % nodes == node]
                s, sk = actors.settle([actors.sign(cid, u, k, node) for u in mine], batch, node)
                settled_chain, skipped = settled_chain + s, skipped + sk
                while_paused += s if paused else 0
            if paused:
                actors.advertiser_does("resume", cid)
                paused = False
            for i in range(users):
                mirror.settle((k - done[i]) * flows.price_wei, targeted)
                done[i] = k
        exact = mirror.take()
        # the model's float flows, scaled to the panel and to the views delivered
        scale = (
            users / flows.opted_in * delivered / flows.views if flows.opted_in > 0 and flows.views else 0.0
        )
        # an untargeted campaign burns the community share, which the model pays to communities
        community_burned = 0.0 if targeted else flows.spent_club * p.ads_split_communities
        chain_spent = int(actors.market.campaign(cid).spent)
        res.rows.append(
            {
                "day": day,
                "campaign": cid,
                "price_wei": flows.price_wei,
                "views": flows.views,
                "spent_chain": chain_spent,
                "spent_exact": exact["spent"],
                "spent_model": flows.spent_club * scale * WAD,
                "settled_chain": settled_chain,
                "user_share_chain": sum(actors.withdraw(u.address) for u in actors.users),
                "user_share_exact": exact["user_share"],
                "targeted": targeted,
                "paused": day in paused_days,
                "settled_while_paused": while_paused,
                "cancelled": bool(actors.market.campaign(cid).cancelled),
                "delivered": delivered,
                "node_share_chain": sum(actors.withdraw(op) for op, _ in actors.nodes),
                "node_share_exact": exact["node_share"],
                "node_share_model": flows.node_club * scale * WAD,
                "community_share_chain": actors.withdraw(actors.payout),
                "community_share_exact": exact["community_share"],
                "burned_chain": actors.burn(),
                "burned_exact": exact["burned"],
                "burned_model": (flows.burned_club + community_burned) * scale * WAD,
                "skipped_chain": skipped,
                "skipped_exact": 0,
            }
        )
        campaigns.append((cid, budget - exact["spent"]))
    # Refunds: after the last campaign's end plus the settlement grace.
    now = int(boa.env.evm.patch.timestamp)
    boa.env.time_travel(seconds=max(t0 + days * DAY + grace + 1 - now, 1))
    for row, (cid, want) in zip(res.rows, campaigns, strict=True):
        row["refunded_chain"], row["refunded_exact"] = actors.refund(cid), want
    return res


def replay_with_report(scenario: str = "baseline", **kw: Any) -> AdsLoopResult:
    """`replay_ads` in a throw-away boa state (`boa.env.anchor()`), as the CLI and the whitepaper run it."""
    import boa

    with boa.env.anchor():
        return replay_ads(scenario, **kw)


def report_markdown(result: AdsLoopResult) -> str:
    """The replay as a Markdown paragraph and table: totals over the replayed days, chain vs the
    exact mirror (wei), and the verdict with every mismatch named."""
    kinds = [
        f"{n} {what}"
        for what, n in (
            ("untargeted", sum(not r.get("targeted", True) for r in result.rows)),
            ("paused and resumed", sum(bool(r.get("paused")) for r in result.rows)),
            ("cancelled after half its views", sum(bool(r.get("cancelled")) for r in result.rows)),
        )
        if n
    ]
    nodes = "one NOTIFY node" if result.nodes == 1 else f"{result.nodes} NOTIFY nodes"
    header = (
        f"Ad market in the loop: {result.days} day(s) of {result.scenario} run {result.run}, "
        f"{result.users} opted-in users, one campaign a day on AdMarket"
        + (f" ({', '.join(kinds)})" if kinds else "")
        + f" settled by {nodes} "
        f"(model split {'/'.join(str(b) for b in result.split_bps)} bps user/node/community/burn). "
        f"Contracts and model {result.verdict('spent, node share and burned')}."
    )
    return f"{header}\n\n{result.totals_table('wei or receipts')}\n"
