"""Attack-cost arithmetic: review panels, governance votes, relay selection, Sybil ad farming.

Pure functions of the stake distribution and the parameters; the dynamic model turns them
into USD costs day by day with the simulated price, stake and supply.
"""

from __future__ import annotations

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
