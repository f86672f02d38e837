"""A Sybil ad farmer on the real contracts (titanoboa): what it earns, against `clubchat.sim.sybil`.

The protocol is deployed by the deploy plan; one NOTIFY node is registered; the farmer controls
`accounts` fake accounts, all members of an OPEN community (free to join, the setup of
`clubchat.sim.ads_replay`). It then:

* joins every account to a TOKEN_GATE community (CLUB balance minimum) with ONE balance, moved to
  the next account after each `join_with_token` (the join checks the balance; the balance ends
  back on the first account);
* subscribes `subscribed` of its accounts to Premium tier 1 (one period each);
* signs, per account, a receipt for the full per-user cap of two campaigns: one targeting the
  token-gated community with no other gate, one targeting the open community with `min_tier = 1`;
* has the node settle all receipts in one batch per campaign, as an honest node does: settlement
  checks the gate again (`Communities.is_qualified_member`), so only the account holding the
  balance then is paid and the others are skipped ("ads: community gate not met");
* for a second token-gated campaign the node colludes: it settles one account per transaction,
  twice per account (half the cap, then the rest), and the farmer moves the one balance to each
  account just before its settlement: every account is paid, in one transaction per receipt,
  priced at the receipt gas bench/bench_ads_gas.py measures on anvil (`sybil.colluding_farm_gas`;
  titanoboa keeps slots warm from one call to the next, so its own gas figures are no receipt's);
* for a third campaign (open community, `min_tier = 1`, a month long) qualifies the accounts
  that did not subscribe with ONE tier-1 lock, recycled: lock, settle that account's receipt,
  `request_unlock` (the tier ends), wait the unlock delay, `unlock`, pass the CLUB on.

The result: receipts paid and skipped (with the contract's reasons) and what the accounts earned
per campaign, against `sybil.farm_earnings_wei` (which must agree to the wei), the CLUB the gates
cost (the subscriptions; the gate balance and the recycled lock come back whole) and the gas of the
colluding node's batches of one.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from clubchat.deploy import boa_backend
from clubchat.params import WAD, Parameters
from clubchat.params import load as load_parameters
from clubchat.sim import sybil
from clubchat.sim.ads_replay import CREATIVE, _events, _Market

TOKEN_GATE = 4  # Communities' TOKEN_GATE join policy
HONEST = "token-gated community, honest node"
COLLUDING = "token-gated community, colluding node, batches of one"


@dataclass
class SybilResult:
    """Per campaign: chain and prediction of receipts paid and skipped and the accounts' earnings."""

    accounts: int
    subscribed: int
    cap: int
    price_wei: int
    gate_balance_wei: int
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions_wei: int = 0
    gate_balance_back_wei: int = 0
    lock_wei: int = 0
    lock_back_wei: int = 0
    lock_days: float = 0.0  # how long the recycling took on chain
    colluding_batches: int = 0  # `settle` transactions of one receipt the colluding node sent
    colluding_gas: int = 0  # what they cost at the benchmark's receipt gas (sybil.colluding_farm_gas)

    def mismatches(self) -> list[str]:
        """Every chain figure that differs from the analysis' prediction (empty = agreement)."""
        out = []
        for name, c in self.campaigns.items():
            for key in ("paid", "skipped", "earned"):
                if c[f"{key}_chain"] != c[f"{key}_predicted"]:
                    out.append(
                        f"{name}: {key} chain {c[f'{key}_chain']} vs predicted {c[f'{key}_predicted']}"
                    )
        return out


class _Farm(_Market):
    """The replay's actors (node, OPEN community, accounts) plus the farmer's gated moves."""

    def token_gated_community(self, balance: int) -> int:
        """A TOKEN_GATE community (balance >= `balance`) every account joins with one moved balance."""
        fee = int(self.communities.creation_fee())
        self._give(self.owner, fee)
        with self.boa.env.prank(self.owner):
            self.token.approve(self.communities.address, fee)
            cid = int(self.communities.create(self.owner, TOKEN_GATE, 0, False))
            self.communities.set_token_gate(cid, balance, self.operator, 0, 0)
        self._give(self.users[0].address, balance)
        for i, u in enumerate(self.users):
            with self.boa.env.prank(u.address):
                self.communities.join_with_token(cid)
                nxt = self.users[(i + 1) % len(self.users)].address
                if nxt != u.address:
                    self.token.transfer(nxt, balance)
        return cid

    def subscribe(self, premium: Any, accounts: list[Any]) -> int:
        """Tier 1 for one period for each of `accounts`, paid by the farmer; returns the CLUB paid."""
        price = int(premium.tiers(1).price_per_period)
        total = price * len(accounts)
        if not accounts:
            return 0
        payer = str(self.boa.env.generate_address("sybil-farmer"))
        self._give(payer, total)
        with self.boa.env.prank(payer):
            self.token.approve(premium.address, total)
            for u in accounts:
                premium.subscribe(u.address, 1, 1)
        return total

    def recycled_lock(self, premium: Any, accounts: list[Any], cid: int, cap: int) -> tuple[int, list[str]]:
        """Qualify `accounts` one after the other with one tier-1 lock, settling each account's receipt
        for `cid` while it holds the tier; returns (the lock, skip reasons)."""
        amount = int(premium.tiers(1).lock_amount)
        delay = int(premium.unlock_delay_seconds())
        reasons: list[str] = []
        if not accounts:
            return amount, reasons
        self._give(accounts[0].address, amount)
        for i, u in enumerate(accounts):
            with self.boa.env.prank(u.address):
                self.token.approve(premium.address, amount)
                premium.lock(amount)
            reasons += self.settle_campaign(cid, cap, [u])[1]
            with self.boa.env.prank(u.address):
                premium.request_unlock()
            self.boa.env.time_travel(seconds=delay)
            with self.boa.env.prank(u.address):
                premium.unlock()
                if i + 1 < len(accounts):
                    self.token.transfer(accounts[i + 1].address, amount)
        return amount, reasons

    def colluding_batches(self, cid: int, cap: int, holder: Any, balance: int) -> tuple[list[str], int]:
        """Settle every account alone, twice (half the cap, then all of it), moving the one gate
        balance to it first; returns (skip reasons, `settle` transactions sent)."""
        reasons: list[str] = []
        sent = 0
        for count in (cap // 2, cap):
            for u in self.users:
                if u.address != holder.address:
                    with self.boa.env.prank(holder.address):
                        self.token.transfer(u.address, balance)
                    holder = u
                reasons += self.settle_campaign(cid, count, [u])[1]
                sent += 1
        return reasons, sent

    def campaign(self, budget: int, price: int, cap: int, target: int, min_tier: int, days: int = 1) -> int:
        now = int(self.boa.env.evm.patch.timestamp)
        self._give(self.advertiser, budget)
        with self.boa.env.prank(self.advertiser):
            self.token.approve(self.market.address, budget)
            cid = int(
                self.market.create_campaign(
                    budget, price, cap, now + 60, now + days * 86_400, keccak(text=CREATIVE), CREATIVE,
                    [target], min_tier, 0,
                )
            )  # fmt: skip
        return cid

    def settle_campaign(self, cid: int, cap: int, users: list[Any] | None = None) -> tuple[int, list[str]]:
        """One batch: each account's receipt for `cap` views; returns (wei spent, skip reasons)."""
        receipts = [self.sign(cid, u, cap) for u in (self.users if users is None else users)]
        with self.boa.env.prank(self.key):
            self.market.settle(self.operator, [s.settlement() for s in receipts])
        spent = sum(int(ev.amount) for ev in _events(self.market, "BatchSettled"))
        return spent, [str(ev.reason) for ev in _events(self.market, "ReceiptSkipped")]


def _entry(cid: int, receipts: int, earned: int, reasons: list[str], want: dict[str, int]) -> dict[str, Any]:
    """One campaign's chain figures beside the analysis' prediction."""
    chain = {"paid_chain": receipts - len(reasons), "skipped_chain": len(reasons), "earned_chain": earned}
    predicted = {f"{k}_predicted": v for k, v in want.items()}
    return {"campaign": cid, **chain, "reasons": sorted(set(reasons)), **predicted}


def replay_farm(
    *,
    accounts: int = 6,
    subscribed: int = 2,
    cap: int = 90,
    price_wei: int = WAD // 100,
    gate_balance_wei: int = 1_000 * WAD,
    params: Parameters | None = None,
    deploy: Callable[..., Any] | None = None,
) -> SybilResult:
    """Run the farm once on freshly deployed contracts (inside `boa.env.anchor()` to leave no state)."""
    import boa

    if not 0 <= subscribed <= accounts or accounts < 1:
        raise ValueError("need 1 <= accounts and 0 <= subscribed <= accounts")
    if cap < 2:
        raise ValueError("cap must be at least 2 (the colluding node settles each account twice)")
    params = params or load_parameters()
    deployer = str(boa.env.generate_address("sybil-deployer"))
    with warnings.catch_warnings():  # escrows are proxies of VestingEscrow (see clubchat.sim.loop)
        warnings.filterwarnings("ignore", message="casted bytecode does not match", category=UserWarning)
        dep = (deploy or boa_backend.deploy_all)(params, deployer)
    farm = _Farm(boa, dep, params, accounts)
    res = SybilResult(accounts, subscribed, cap, price_wei, gate_balance_wei)
    gated_cid = farm.token_gated_community(gate_balance_wei)
    res.subscriptions_wei = farm.subscribe(dep["Premium"], farm.users[:subscribed])
    budget = accounts * cap * price_wei
    # The honest node settles after the joins: the balance is back on the first account only.
    plan = {
        HONEST: (farm.campaign(budget, price_wei, cap, gated_cid, 0), 1),
        "open community, tier >= 1": (farm.campaign(budget, price_wei, cap, farm.community, 1), subscribed),
    }
    colluding_cid = farm.campaign(budget, price_wei, cap, gated_cid, 0)
    lock_cid = farm.campaign(budget, price_wei, cap, farm.community, 1, days=30)
    boa.env.time_travel(seconds=61)
    user_bps = int(farm.market.user_bps())

    def earned_since(balances: list[int]) -> int:
        return sum(
            int(farm.market.balances(u.address)) - b for u, b in zip(farm.users, balances, strict=True)
        )

    def balances_now() -> list[int]:
        return [int(farm.market.balances(u.address)) for u in farm.users]

    for name, (cid, qualified) in plan.items():
        before = balances_now()
        _, reasons = farm.settle_campaign(cid, cap)
        want = sybil.farm_earnings_wei(accounts, qualified, cap, price_wei, user_bps)
        res.campaigns[name] = _entry(cid, accounts, earned_since(before), reasons, want)
    # The colluding node: one account per transaction, the one balance moved in between.
    before = balances_now()
    reasons, res.colluding_batches = farm.colluding_batches(
        colluding_cid, cap, farm.users[0], gate_balance_wei
    )
    res.colluding_gas = sybil.colluding_farm_gas(accounts, rounds=2)
    rounds = (cap // 2, cap - cap // 2)
    want = sybil.farm_earnings_wei(accounts, accounts, cap, price_wei, user_bps, settlements=rounds)
    res.campaigns[COLLUDING] = _entry(colluding_cid, 2 * accounts, earned_since(before), reasons, want)
    res.gate_balance_back_wei = int(farm.token.balanceOf(farm.users[-1].address))  # the loop ends there
    # The recycled lock: the subscribed accounts still hold the tier, the others borrow the one lock.
    before = balances_now()
    last_before = int(farm.token.balanceOf(farm.users[-1].address))
    t0 = int(boa.env.evm.patch.timestamp)
    _, reasons = farm.settle_campaign(lock_cid, cap, farm.users[:subscribed])
    res.lock_wei, more = farm.recycled_lock(dep["Premium"], farm.users[subscribed:], lock_cid, cap)
    reasons += more
    res.lock_days = (int(boa.env.evm.patch.timestamp) - t0) / 86_400
    res.lock_back_wei = int(farm.token.balanceOf(farm.users[-1].address)) - last_before
    want = sybil.farm_earnings_wei(accounts, accounts, cap, price_wei, user_bps)
    res.campaigns["open community, tier >= 1, one recycled lock"] = _entry(
        lock_cid, accounts, earned_since(before), reasons, want
    )
    return res


def report_markdown(res: SybilResult) -> str:
    """The farm on chain as a Markdown table, chain against the analysis."""
    head = (
        f"Sybil farmer on the contracts: {res.accounts} fake accounts, receipts for the full cap "
        f"({res.cap} views at {res.price_wei / WAD:g} CLUB); one {res.gate_balance_wei / WAD:,.0f} CLUB "
        f"balance joined all {res.accounts} accounts to the token-gated community, but settlement checks "
        f"the balance again: the honest node's batch paid only the account holding it. The colluding "
        f"node settled each account alone, twice, with the balance moved to it first: all were paid, "
        f"in {res.colluding_batches} transactions of one receipt, {res.colluding_gas:,} gas at the "
        f"benchmark's receipt gas ({sybil.GATED_BATCH_OF_ONE_NEW_GAS:,} a receipt new to the campaign, "
        f"{sybil.GATED_BATCH_OF_ONE_GAS:,} settled before, against {sybil.GATED_IN_BATCH_OF_100_GAS:,} "
        f"in a batch of 100). {res.subscribed} accounts subscribed to "
        f"tier 1 for {res.subscriptions_wei / WAD:,.0f} CLUB; one {res.lock_wei / WAD:,.0f} CLUB tier-1 "
        f"lock, recycled over {res.lock_days:.0f} days, qualified the other "
        f"{res.accounts - res.subscribed}. "
        + (
            "Chain and analysis agree to the wei."
            if not res.mismatches()
            else "DISAGREE: " + "; ".join(res.mismatches())
        )
    )
    rows = [
        "| campaign gate | paid / skipped (chain) | predicted | earned on chain (wei) | predicted (wei) |",
        "|---|---|---|---|---|",
    ]
    for name, c in res.campaigns.items():
        rows.append(
            f"| {name} | {c['paid_chain']} / {c['skipped_chain']} "
            f"| {c['paid_predicted']} / {c['skipped_predicted']} "
            f"| {c['earned_chain']:,} | {c['earned_predicted']:,} |"
        )
    return head + "\n\n" + "\n".join(rows) + "\n"
