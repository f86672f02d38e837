"""Attack-cost arithmetic: review panels, governance votes, relay selection, Sybil ad farming.

Pure functions of the stake distribution and the parameters; the dynamic model turns them
into USD costs day by day with the simulated price, stake and supply.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats


def panel_capture_prob(stake_share: npt.ArrayLike, k: int) -> npt.NDArray[np.float64]:
    """P(attacker holds a strict majority of a k-reviewer panel) when reviewers are drawn
    independently with probability proportional to stake (binomial; sampling with replacement)."""
    f = np.asarray(stake_share, dtype=np.float64)
    need = k // 2 + 1
    return np.asarray(stats.binom.sf(need - 1, k, f), dtype=np.float64)


def panel_capture_prob_without_replacement(attacker_nodes: int, total_nodes: int, k: int) -> float:
    """Same with k distinct nodes drawn from equal-stake nodes (hypergeometric)."""
    need = k // 2 + 1
    return float(stats.hypergeom.sf(need - 1, total_nodes, attacker_nodes, k))


def panel_seats_prob(stake_share: npt.ArrayLike, k: int, seats: int) -> npt.NDArray[np.float64]:
    """P(attacker holds at least `seats` of k reviewers drawn independently by stake share)."""
    f = np.asarray(stake_share, dtype=np.float64)
    return np.asarray(stats.binom.sf(seats - 1, k, f), dtype=np.float64)


def stake_share_for_seats(k: int, seats: int, p: float) -> float:
    """Smallest stake share f with P(at least `seats` of k reviewers) >= p."""
    if not 0 < p < 1:
        raise ValueError("panel capture probability must be strictly between 0 and 1")
    return float(optimize.brentq(lambda f: float(panel_seats_prob(f, k, seats)) - p, 1e-12, 1 - 1e-12))


def seats_to_win(k: int, majority: float, attacker_vote: npt.ArrayLike, honest_vote: npt.ArrayLike) -> Any:
    """Fewest attacker seats of a full k-panel whose vote weight carries a kick when every reviewer
    reveals and the honest ones vote against: j a > majority (j a + (k - j) h), i.e.
    j > majority k h / ((1 - majority) a + majority h)."""
    a = np.asarray(attacker_vote, dtype=np.float64)
    h = np.asarray(honest_vote, dtype=np.float64)
    bound = majority * k * h / ((1.0 - majority) * a + majority * h)
    return np.minimum(np.floor(bound + 1e-12) + 1, k).astype(np.int64)


def stake_share_for_panel(k: int, p: float) -> float:
    """Smallest stake share f with P(majority of k reviewers) >= p."""
    if not 0 < p < 1:
        raise ValueError("panel capture probability must be strictly between 0 and 1")
    return float(optimize.brentq(lambda f: float(panel_capture_prob(f, k)) - p, 1e-12, 1 - 1e-12))


def buy_in_multiple(share: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Stake an attacker must add, per unit of honest stake, to hold `share` of the total: s / (1 - s)."""
    s = np.asarray(share, dtype=np.float64)
    return s / (1.0 - s)


def governance_votes_to_pass(
    total_supply: npt.ArrayLike, circulating: npt.ArrayLike, quorum: float, against_turnout: float
) -> npt.NDArray[np.float64]:
    """CLUB a lone proposer must vote with: reach quorum and outvote the holders who turn out against."""
    return np.maximum(
        quorum * np.asarray(total_supply, dtype=np.float64),
        against_turnout * np.asarray(circulating, dtype=np.float64),
    )


def sybil_profit_per_account_month(
    cap_per_day: npt.ArrayLike,
    demand_per_day: float,
    cpm_usd: float,
    user_share: float,
    account_cost_usd_month: float,
) -> npt.NDArray[np.float64]:
    """Monthly profit of one fake account that views every paid ad it is allowed to (USD)."""
    ads = np.minimum(np.asarray(cap_per_day, dtype=np.float64), demand_per_day) * 30.0
    return ads * cpm_usd / 1000.0 * user_share - account_cost_usd_month


def sybil_breakeven_cap(cpm_usd: float, user_share: float, account_cost_usd_month: float) -> float:
    """Per-user daily cap at which a fake account exactly pays for itself."""
    return account_cost_usd_month / (30.0 * cpm_usd / 1000.0 * user_share)


# ---- attacks as (harm, cost) on the market's liquidity curve ---------------------------------

# Beyond this share of the pool's CLUB the attacker buys over the counter at the pool's marginal price
# there (1 / (1 - 0.9)^2 = 100x the spot price): a constant-product pool is never fully drained.
POOL_DRAIN_LIMIT = 0.9


def amm_buy_cost(x: npt.ArrayLike, price: npt.ArrayLike, pool_club: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """USD to buy x CLUB from a constant-product pool holding pool_club CLUB at spot `price`.

    The pool's USD side is pool_club x price; buying x < pool_club costs Y x / (C - x). Past
    POOL_DRAIN_LIMIT of the pool the rest is bought at the marginal price there.
    """
    x, p, c = (np.asarray(a, dtype=np.float64) for a in (x, price, pool_club))
    y = c * p
    head = np.minimum(x, POOL_DRAIN_LIMIT * c)
    tail = x - head
    marginal = p / (1.0 - POOL_DRAIN_LIMIT) ** 2
    return np.asarray(y * head / np.maximum(c - head, 1e-12) + tail * marginal, dtype=np.float64)


def amm_sell_proceeds(
    x: npt.ArrayLike, pool_usd: npt.ArrayLike, pool_club: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """USD received for selling x CLUB into a constant-product pool (Y x / (C + x))."""
    x, y, c = (np.asarray(a, dtype=np.float64) for a in (x, pool_usd, pool_club))
    return np.asarray(y * x / (c + x), dtype=np.float64)


def attack_cost(
    x: npt.ArrayLike,
    price: npt.ArrayLike,
    pool_club: npt.ArrayLike,
    *,
    expected_slash: float,
    hold_days: float,
    yield_gap: npt.ArrayLike,
    price_drop: float = 0.0,
    fee: float = 0.0,
) -> npt.NDArray[np.float64]:
    """USD an attacker loses for holding x CLUB (staked) through an attack, on the liquidity curve:

    buy on the pool (paying `fee`), lose `expected_slash` of it (detection probability x slashed
    share), sell the rest back into the moved pool after the attack, when the price has fallen by
    `price_drop` (a constant-product round trip alone is lossless: the loss is the fees, the fall
    and the slashing), and forgo `yield_gap` (the better outside yield) on the capital for
    `hold_days` (attack plus unbonding).
    """
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(pool_club, dtype=np.float64)
    bought = amm_buy_cost(x, price, c) * (1.0 + fee)
    pool_usd = (c * np.asarray(price, dtype=np.float64) + bought) * (1.0 - price_drop)
    pool_left = np.maximum(c - np.minimum(x, POOL_DRAIN_LIMIT * c), 1e-12)
    back = amm_sell_proceeds(x * (1.0 - expected_slash), pool_usd, pool_left) * (1.0 - fee)
    carry = bought * np.asarray(yield_gap, dtype=np.float64) * hold_days / 365.0
    return np.asarray(bought - back + carry, dtype=np.float64)


def snapshot_vote_cost(
    votes: npt.ArrayLike,
    price: npt.ArrayLike,
    pool_club: npt.ArrayLike,
    lendable: npt.ArrayLike,
    *,
    borrow_apr: float,
    hold_days: float,
    fee: float,
) -> npt.NDArray[np.float64]:
    """USD to hold `votes` CLUB across a governance snapshot and no longer: what a lending market can
    lend (`lendable`) is borrowed for `hold_days` at `borrow_apr`, the rest bought on the pool and
    sold back right after the snapshot (the votes stay counted: they are read at the snapshot), which
    on a constant-product pool loses the fees. A flash loan gives nothing: it is repaid in the same
    block, so the checkpoint at the snapshot's timestamp holds the balance after repayment."""
    v = np.asarray(votes, dtype=np.float64)
    p = np.asarray(price, dtype=np.float64)
    borrowed = np.minimum(v, np.asarray(lendable, dtype=np.float64))
    bought = v - borrowed
    interest = borrowed * p * borrow_apr * hold_days / 365.0
    round_trip = attack_cost(
        bought, p, pool_club, expected_slash=0.0, hold_days=hold_days, yield_gap=0.0, price_drop=0.0, fee=fee
    )
    return np.asarray(interest + round_trip, dtype=np.float64)


def eclipse_share_global(harm: float, k: int) -> float:
    """Selection share f an attacker needs so that a share `harm` of users draw only its relays (f^k)."""
    return float(harm ** (1.0 / k))


def eclipse_share_targeted(success: float, k: int, epochs: float) -> float:
    """Selection share f at which one chosen user is eclipsed in at least one of `epochs` fresh draws
    with probability `success`: 1 - (1 - f^k)^T = success (the sampler fixed: no grinding)."""
    per_epoch = 1.0 - (1.0 - success) ** (1.0 / epochs)
    return float(per_epoch ** (1.0 / k))
