"""The Sybil ad farmer: what a fake account earns against what AdMarket's gates cost it.

A farmer runs `k` fake accounts that opt in, "see" every paid notification a campaign allows (its
per-user cap) and sign the receipts, which a colluding NOTIFY node settles. Each account earns the
user share of `cap x price`; the campaign's gate decides what the farmer must pay per account.
What the contracts check, and when (read from AdMarket, Communities, Premium and NodeRegistry):

* target communities: `Communities.is_member` at settlement, which reads only the member's expiry
  and ban bit. An OPEN community's `join` is free (the creation fee is the owner's, once).
* TOKEN_GATE community with a CLUB balance minimum: the balance is checked by `join_with_token`
  only. `is_member` does not look at it again, and `evict` (anyone, when the member no longer
  qualifies) is a transaction someone else must send. So one balance joins any number of
  accounts: join, transfer the CLUB to the next account, join, ...; the gate costs gas only.
* minimum Premium tier: `Premium.tier_of` at settlement, by subscription (the price of one
  period, paid per account, not movable) or by a lock (the tier ends at `request_unlock`, the
  CLUB comes back after the unlock delay, then qualifies the next account): one lock serves one
  account per unlock delay, so its cost per account is the lock's outside yield for that delay.
* minimum stake: `NodeRegistry.assets_of(stake_node, user)` at settlement; moving the stake to the
  next account takes the unbonding period, so one stake serves one account per unbonding period
  (cost: its outside yield for that period; the delegation's own reward, which lowers the cost,
  is not counted, so the cost is an upper bound). The farmer may delegate to its own node.
* the delivering node's stake: a dispute about forged receipts slashes it, but the farmer's
  receipts are really signed by the accounts, so they verify: nothing is at risk.

Every account is settled once a month (cumulative receipts), so gate capital is tied up for
one recycling delay per account and month. Gas is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.sim.parameters import SimParams

DAYS_PER_MONTH = 30.0
YEAR_DAYS = 365.0


@dataclass(frozen=True)
class Gate:
    """One gate configuration a campaign can choose, and what it costs one fake account.

    `fee_club` is paid per account and month (burned or paid away for good); `capital_club` must be
    held by the account at the moment the gate is checked, and is tied up for `recycle_days`
    before it can qualify the next account (0: moved at once)."""

    name: str
    fee_club: float
    capital_club: float
    recycle_days: float
    source: str
    does_not_stop: str

    def cost_club_month(self, outside_yield: float) -> float:
        """CLUB one account costs per month: the fee plus the capital's forgone outside yield."""
        return self.fee_club + self.capital_club * outside_yield * self.recycle_days / YEAR_DAYS


def gates(
    params: Parameters, balance_min_club: float = 1_000.0, stake_min_club: float | None = None
) -> list[Gate]:
    """The gate configurations of AdMarket campaigns with their contract values from `params`."""
    tier1 = params.premium.tiers[1]
    unlock_days = params.premium.unlock_delay_seconds / DAY
    unbond_days = params.registry.unbonding_seconds / DAY
    stake = (
        stake_min_club if stake_min_club is not None else params.registry.min_self_stake_per_kind_wei / WAD
    )
    sub = tier1.price_wei / WAD
    lock = tier1.lock_wei / WAD
    by_lock = lock * unlock_days  # CLUB-days one account ties up
    return [
        Gate(
            "none (untargeted)",
            0.0,
            0.0,
            0.0,
            "AdMarket: empty target list pays every account that signs",
            "anything: the per-user cap is the only bound per account",
        ),
        Gate(
            "open community",
            0.0,
            0.0,
            0.0,
            "Communities.join (OPEN) is free; creation_fee "
            f"{params.communities.creation_fee_wei / WAD:,.0f} CLUB is the owner's",
            "fake members: joining costs gas only",
        ),
        Gate(
            f"token-gated community, balance >= {balance_min_club:,.0f} CLUB",
            0.0,
            balance_min_club,
            0.0,
            "Communities.join_with_token checks balanceOf at join; is_member (at settlement) does not",
            "one balance moved from account to account between joins; evict needs someone to send it",
        ),
        Gate(
            f"tier >= 1 ({tier1.name}) by subscription",
            sub,
            0.0,
            0.0,
            f"Premium tier 1 price {sub:,.0f} CLUB per {params.premium.period_seconds / DAY:.0f}-day period",
            "a farmer whose accounts earn more than the subscription",
        ),
        Gate(
            f"tier >= 1 ({tier1.name}) by lock",
            0.0,
            lock,
            unlock_days,
            f"Premium tier 1 lock {lock:,.0f} CLUB; tier ends at request_unlock, CLUB back after "
            f"{unlock_days:.0f} days",
            f"one lock recycled every {unlock_days:.0f} days ({by_lock:,.0f} CLUB-days per account)",
        ),
        Gate(
            f"stake >= {stake:,.0f} CLUB",
            0.0,
            stake,
            unbond_days,
            f"NodeRegistry.assets_of at settlement; unbonding {unbond_days:.0f} days",
            f"one stake recycled every {unbond_days:.0f} days, delegated to the farmer's own node",
        ),
    ]


@dataclass(frozen=True)
class FarmRow:
    """One gate's economics per fake account and month (USD at `price_usd` per CLUB)."""

    gate: Gate
    revenue_usd: float
    gate_cost_usd: float
    account_cost_usd: float

    @property
    def profit_usd(self) -> float:
        return self.revenue_usd - self.gate_cost_usd - self.account_cost_usd

    @property
    def breakeven_account_usd(self) -> float:
        """The account cost at which the farm stops paying."""
        return self.revenue_usd - self.gate_cost_usd


def farm_table(
    params: Parameters,
    p: SimParams,
    price_usd: float | None = None,
    cap_per_day: float | None = None,
    balance_min_club: float = 1_000.0,
    stake_min_club: float | None = None,
) -> list[FarmRow]:
    """Monthly profit per fake account for each gate: the user share (`ads.split`) of min(cap, demand)
    paid views a day at the model's CPM, minus the gate and the account's own cost."""
    price = p.price0_usd if price_usd is None else price_usd
    cap = p.ads_cap_per_user_day if cap_per_day is None else cap_per_day
    share = params.ads.user_bps / BPS
    revenue = min(cap, p.ads_demand_per_user_day) * DAYS_PER_MONTH * p.ads_cpm_usd / 1000.0 * share
    return [
        FarmRow(g, revenue, g.cost_club_month(p.outside_yield) * price, p.sybil_account_usd_month)
        for g in gates(params, balance_min_club, stake_min_club)
    ]


def breakeven_cap(row: FarmRow, p: SimParams, share: float) -> float:
    """Daily per-user cap at which one account of this gate exactly pays for itself."""
    return (row.gate_cost_usd + row.account_cost_usd) / (DAYS_PER_MONTH * p.ads_cpm_usd / 1000.0 * share)


# ---- the exact integer side, as AdMarket settles -----------------------------------------------


def user_share_wei(views: int, price_wei: int, user_bps: int) -> int:
    """What one settled receipt of `views` new views pays its user (AdMarket rounds each share down)."""
    return views * price_wei * user_bps // BPS


def farm_earnings_wei(
    accounts: int, qualified: int, cap: int, price_wei: int, user_bps: int
) -> dict[str, int]:
    """A farm of `accounts` accounts each signing a receipt for `cap` views, `qualified` of which pass
    the campaign's gate: the receipts paid and skipped and the users' total (wei)."""
    if not 0 <= qualified <= accounts:
        raise ValueError("qualified must be between 0 and accounts")
    return {
        "paid": qualified,
        "skipped": accounts - qualified,
        "earned": qualified * user_share_wei(cap, price_wei, user_bps),
    }


def markdown(rows: list[FarmRow], p: SimParams, share: float, price_usd: float) -> str:
    """The ad-fraud table: per gate, profit per fake account and month, the break-even account cost
    and cap, where the gate's cost comes from and what it does not stop."""
    head = [
        "| gate | gate cost / account-month | profit / account-month | break-even account cost "
        "| break-even cap (views/day) | contract value | does not stop |",
        "|---|---|---|---|---|---|---|",
    ]
    body = [
        f"| {r.gate.name} | ${r.gate_cost_usd:,.3f} | ${r.profit_usd:,.2f} | ${r.breakeven_account_usd:,.2f} "
        f"| {breakeven_cap(r, p, share):.2f} | {r.gate.source} | {r.gate.does_not_stop} |"
        for r in rows
    ]
    note = (
        f"CLUB at ${price_usd:g}, CPM ${p.ads_cpm_usd:g}, cap {p.ads_cap_per_user_day:g} paid views a day, "
        f"user share {share:.0%}, account ${p.sybil_account_usd_month:g}/month, capital priced at the "
        f"{p.outside_yield:.0%} outside yield for each recycling delay."
    )
    return "\n".join([*head, *body, "", note]) + "\n"


def summary(rows: list[FarmRow]) -> dict[str, Any]:
    """The figures the whitepaper quotes."""
    by = {r.gate.name: r for r in rows}
    cheapest_tier = min((r for r in rows if r.gate.name.startswith("tier")), key=lambda r: r.gate_cost_usd)
    return {"rows": by, "cheapest_tier": cheapest_tier}
