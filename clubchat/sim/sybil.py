"""The Sybil ad farmer: what a fake account earns against what AdMarket's gates cost it.

A farmer runs `k` fake accounts that opt in, "see" every paid notification a campaign allows (its
per-user cap) and sign the receipts, which a NOTIFY node settles (any honest node does: the receipts
are really signed). Each account earns the user share of `cap x price`; the campaign's gate decides
what the farmer must pay per account. What the contracts check, and when (read from AdMarket,
Communities, Premium and NodeRegistry):

* target communities: `Communities.is_qualified_member` at settlement: the member's expiry and ban
  bit and, in a TOKEN_GATE community, the community's gate again. An OPEN community's `join` is
  free (the creation fee is the owner's, once).
* TOKEN_GATE community with a CLUB balance minimum: checked by `join_with_token` and again at
  settlement. An honest node settles its users' receipts together when their value pays for the
  gas, a time the farmer neither chooses nor knows, so every account must hold the balance over
  the settlement horizon (a month here): k accounts tie up k balances for the month. One balance
  moved from account to account pays only the account that holds it at settlement. With its own
  (colluding) NOTIFY node the farmer settles one account per transaction and moves the balance
  between them: no capital beyond the node's minimum self-stake (shared by the farm's accounts)
  and the gas of a batch of one per receipt instead of a 100th of a batch (the node share its own
  node earns on the farmed receipts is not counted, so that cost is an upper bound).
* minimum Premium tier: `Premium.tier_of` at settlement, by subscription (the price of one
  period, paid per account, not movable) or by a lock (the tier ends at `request_unlock`, the
  CLUB comes back after the unlock delay, then qualifies the next account): one lock serves one
  account per unlock delay, so its cost per account is the lock's outside yield for that delay.
  The farmer must settle each account while it holds the tier: its own node does, so the row
  assumes one (with only honest nodes, settling when they choose, the lock would have to be held
  over the settlement horizon, as the balance gate's honest row prices). That node's stake and its
  batches of one are counted in the balance gate's colluding row only.
* minimum stake: `NodeRegistry.assets_of(stake_node, user)` at settlement; moving the stake to the
  next account takes the unbonding period, so one stake serves one account per unbonding period
  (cost: its outside yield for that period; the delegation's own reward, which lowers the cost,
  is not counted, so the cost is an upper bound). The farmer may delegate to its own node.
* the delivering node's stake: a dispute about forged receipts slashes it, but the farmer's
  receipts are really signed by the accounts, so they verify: nothing is at risk.

Every account is settled once a month (cumulative receipts), so gate capital is tied up for
one recycling delay per account and month. Gas is counted only where a gate changes it (the
colluding node's batches of one), at `usd_per_million_gas`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clubchat.params import BPS, DAY, WAD, Parameters
from clubchat.sim.parameters import SimParams

DAYS_PER_MONTH = 30.0
YEAR_DAYS = 365.0
# Receipt gas of one settled receipt of a token-gated (CLUB balance) community with the real
# Communities contract, for a user who settled before (bench/results/ads_gas.json): alone in its
# transaction, as a colluding node settles the farm, and per receipt in a batch of 100.
GATED_BATCH_OF_ONE_GAS = 117_223
GATED_IN_BATCH_OF_100_GAS = 24_858
# The same alone in its transaction for a user new to the campaign (it earned before elsewhere).
GATED_BATCH_OF_ONE_NEW_GAS = 134_318
# Assumption: USD per million gas on the chain the protocol runs on (an L2 at 0.01 gwei and
# $3,000 per ETH: 1e6 x 0.01e-9 ETH x 3,000 = $0.03; Ethereum mainnet at 10 gwei would be $30).
USD_PER_MILLION_GAS = 0.03
# Fake accounts one colluding node's stake is shared by.
FARM_ACCOUNTS = 100


@dataclass(frozen=True)
class Gate:
    """One gate configuration a campaign can choose, and what it costs one fake account.

    `fee_club` is paid per account and month (burned or paid away for good); `capital_club` must be
    held by the account at the moment the gate is checked, and is tied up for `recycle_days`
    before it can qualify the next account (0: moved at once); `gas_usd` is the settlement gas the
    gate adds per account and month."""

    name: str
    fee_club: float
    capital_club: float
    recycle_days: float
    source: str
    does_not_stop: str
    gas_usd: float = 0.0

    def cost_club_month(self, outside_yield: float) -> float:
        """CLUB one account costs per month: the fee plus the capital's forgone outside yield."""
        return self.fee_club + self.capital_club * outside_yield * self.recycle_days / YEAR_DAYS

    def cost_usd_month(self, outside_yield: float, price_usd: float) -> float:
        """USD one account costs per month: its CLUB cost at `price_usd`, plus the gas."""
        return self.cost_club_month(outside_yield) * price_usd + self.gas_usd


def colluding_gas_usd(usd_per_million_gas: float = USD_PER_MILLION_GAS) -> float:
    """What settling one account alone costs beyond its share of a batch of 100 (USD, once a month)."""
    return (GATED_BATCH_OF_ONE_GAS - GATED_IN_BATCH_OF_100_GAS) * usd_per_million_gas / 1e6


def colluding_farm_gas(accounts: int, rounds: int = 1) -> int:
    """Receipt gas of a colluding node settling `accounts` accounts alone, `rounds` times each: the
    first settlement of each account is new to the campaign, the later ones settled before."""
    if accounts < 0 or rounds < 1:
        raise ValueError("accounts must be >= 0 and rounds >= 1")
    return accounts * (GATED_BATCH_OF_ONE_NEW_GAS + (rounds - 1) * GATED_BATCH_OF_ONE_GAS)


def gates(
    params: Parameters,
    balance_min_club: float = 1_000.0,
    stake_min_club: float | None = None,
    *,
    farm_accounts: int = FARM_ACCOUNTS,
    usd_per_million_gas: float = USD_PER_MILLION_GAS,
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
    node_stake = params.registry.min_self_stake_per_kind_wei / WAD
    balance = f"balance >= {balance_min_club:,.0f} CLUB"
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
            f"token-gated community, {balance}, honest node",
            0.0,
            balance_min_club,
            DAYS_PER_MONTH,
            "Communities.is_qualified_member reads balanceOf again at settlement, when an honest node "
            "settles the batch",
            f"a farmer who holds the balance on every account for the month ({balance_min_club:,.0f} "
            "CLUB per account)",
        ),
        Gate(
            f"token-gated community, {balance}, colluding node",
            0.0,
            node_stake / farm_accounts,
            DAYS_PER_MONTH,
            f"the farmer's own NOTIFY node (minimum self-stake {node_stake:,.0f} CLUB, shared by "
            f"{farm_accounts} accounts) settles one account per transaction: {GATED_BATCH_OF_ONE_GAS:,} "
            f"gas instead of {GATED_IN_BATCH_OF_100_GAS:,} in a batch of 100",
            "one balance moved between the node's batches of one",
            colluding_gas_usd(usd_per_million_gas),
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
            f"one lock recycled every {unlock_days:.0f} days ({by_lock:,.0f} CLUB-days per account), each "
            "account settled while it holds the tier (a colluding node)",
        ),
        Gate(
            f"stake >= {stake:,.0f} CLUB",
            0.0,
            stake,
            unbond_days,
            f"NodeRegistry.assets_of at settlement; unbonding {unbond_days:.0f} days",
            f"one stake recycled every {unbond_days:.0f} days, delegated to the farmer's own node, which "
            "settles each account while it holds the stake",
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
    *,
    farm_accounts: int = FARM_ACCOUNTS,
    usd_per_million_gas: float = USD_PER_MILLION_GAS,
) -> list[FarmRow]:
    """Monthly profit per fake account for each gate: the user share (`ads.split`) of min(cap, demand)
    paid views a day at the model's CPM, minus the gate and the account's own cost."""
    price = p.price0_usd if price_usd is None else price_usd
    cap = p.ads_cap_per_user_day if cap_per_day is None else cap_per_day
    share = params.ads.user_bps / BPS
    revenue = min(cap, p.ads_demand_per_user_day) * DAYS_PER_MONTH * p.ads_cpm_usd / 1000.0 * share
    return [
        FarmRow(g, revenue, g.cost_usd_month(p.outside_yield, price), p.sybil_account_usd_month)
        for g in gates(
            params,
            balance_min_club,
            stake_min_club,
            farm_accounts=farm_accounts,
            usd_per_million_gas=usd_per_million_gas,
        )
    ]


def breakeven_cap(row: FarmRow, p: SimParams, share: float) -> float:
    """Daily per-user cap at which one account of this gate exactly pays for itself."""
    return (row.gate_cost_usd + row.account_cost_usd) / (DAYS_PER_MONTH * p.ads_cpm_usd / 1000.0 * share)


# ---- the exact integer side, as AdMarket settles -----------------------------------------------


def user_share_wei(views: int, price_wei: int, user_bps: int) -> int:
    """What one settled receipt of `views` new views pays its user (AdMarket rounds each share down)."""
    return views * price_wei * user_bps // BPS


def farm_earnings_wei(
    accounts: int,
    qualified: int,
    cap: int,
    price_wei: int,
    user_bps: int,
    settlements: tuple[int, ...] | None = None,
) -> dict[str, int]:
    """A farm of `accounts` accounts each signing receipts up to `cap` views, `qualified` of which pass
    the campaign's gate: the receipts paid and skipped and the users' total (wei). `settlements`
    are the new views each settlement of an account pays (default: all `cap` at once); each is
    rounded down on its own, as AdMarket does."""
    if not 0 <= qualified <= accounts:
        raise ValueError("qualified must be between 0 and accounts")
    views = (cap,) if settlements is None else settlements
    if sum(views) != cap or any(v < 1 for v in views):
        raise ValueError("settlements must be positive and sum to cap")
    return {
        "paid": qualified * len(views),
        "skipped": (accounts - qualified) * len(views),
        "earned": qualified * sum(user_share_wei(v, price_wei, user_bps) for v in views),
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
        f"{p.outside_yield:.0%} outside yield for each recycling delay, gas at "
        f"${USD_PER_MILLION_GAS:g} per million (an L2)."
    )
    return "\n".join([*head, *body, "", note]) + "\n"


def summary(rows: list[FarmRow]) -> dict[str, Any]:
    """The figures the whitepaper quotes."""
    by = {r.gate.name: r for r in rows}
    cheapest_tier = min((r for r in rows if r.gate.name.startswith("tier")), key=lambda r: r.gate_cost_usd)
    return {"rows": by, "cheapest_tier": cheapest_tier}
