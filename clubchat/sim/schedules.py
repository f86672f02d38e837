"""Deterministic schedules of the token contracts: emission epochs and vesting unlocks.

The float versions feed the Monte Carlo model (one value per simulated day); the exact
integer versions mirror the contracts' arithmetic in wei and are what the
contracts-in-the-loop test compares against.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from clubchat.sim.parameters import SimParams

FloatArray = npt.NDArray[np.float64]


def epochs_at(p: SimParams, days: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Number of emission epochs due by day `days` (the first epoch is due one epoch after genesis)."""
    return np.floor(np.asarray(days, dtype=np.float64) / p.epoch_days + 1e-9).astype(np.int64)


def cumulative_emission(p: SimParams, epochs: npt.ArrayLike) -> FloatArray:
    """E(k) = reserve * (1 - (1 - r)^k): CLUB minted by Emission after k epochs (tips included)."""
    k = np.asarray(epochs, dtype=np.float64)
    return p.reserve * -np.expm1(k * np.log1p(-p.rate_per_epoch))


def vested(p: SimParams, days: npt.ArrayLike) -> FloatArray:
    """CLUB unlocked by all vesting allocations at day `days`.

    Linear from the start over the duration, nothing before the cliff (the cliff releases
    the share accrued so far), as in contracts/token/Vesting.vy.
    """
    t = np.asarray(days, dtype=np.float64)
    out = np.zeros_like(t)
    for amount, cliff, duration in zip(
        p.vesting_amounts, p.vesting_cliff_days, p.vesting_duration_days, strict=True
    ):
        share = np.clip(t / duration, 0.0, 1.0)
        out = out + np.where(t >= cliff, amount * share, 0.0)
    return out


def daily_inputs(p: SimParams, n_days: int) -> dict[str, FloatArray]:
    """Deterministic inputs for days 0..n_days: emission minted that day, remaining reserve, vested."""
    days = np.arange(n_days + 1, dtype=np.float64)
    k = epochs_at(p, days)
    cum = cumulative_emission(p, k)
    minted = np.diff(cum, prepend=0.0)
    epochs_today = np.diff(k, prepend=0)
    return {
        "emission_minted": minted,
        "epoch_boundary": (epochs_today > 0).astype(np.float64),
        "reserve_remaining": p.reserve - cum,
        "vested": vested(p, days),
    }


# ---- exact (wei) mirrors of the contracts ------------------------------------------------


RAY = 10**36


def _pow_up(x: int, k: int) -> int:
    """x^k in 1e36 fixed point, every product rounded up (Emission._pow_up, squaring)."""
    result, base, e = RAY, x, k
    while e:  # one iteration per bit of k
        if e & 1:
            result = (result * base + RAY - 1) // RAY
        e >>= 1
        if e:
            base = (base * base + RAY - 1) // RAY
    return result


def cumulative_emission_wei(reserve_wei: int, rate_wad: int, epochs: int) -> int:
    """Exact E(k) of contracts/token/Emission.vy: reserve - ceil(reserve * (1 - r)^k) in wei.

    The contract evaluates the closed form with (1 - r)^k rounded up, so what is left is never
    under-stated and what is minted never over-stated (a few wei below the float value).
    """
    factor = _pow_up((10**18 - rate_wad) * 10**18, epochs)
    left = (reserve_wei * factor + RAY - 1) // RAY
    return reserve_wei - left


def vested_wei(amount_wei: int, start: int, cliff: int, duration: int, now: int) -> int:
    """Vested amount of one allocation at `now` (rounded down, like the escrow)."""
    if now < start + cliff:
        return 0
    if now >= start + duration:
        return amount_wei
    return amount_wei * (now - start) // duration
