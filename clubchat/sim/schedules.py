"""Schedules of the token contracts: emission epochs, the no-burn emission closed form, vesting.

Emission mints r x (cap - totalSupply) per epoch, so what it mints depends on the burns and is
computed by the model day by day; here are the epoch calendar, the closed form without burns
(cap - S0)(1 - (1 - r)^k) the whitepaper's schedule figures use, and vesting. The exact integer
mirror `EmissionMirror` reproduces the contract's arithmetic in wei (the contracts-in-the-loop
test compares the chain against it).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from clubchat.sim.parameters import SimParams

FloatArray = npt.NDArray[np.float64]


def epochs_at(p: SimParams, days: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Number of emission epochs due by day `days` (the first epoch is due one epoch after genesis)."""
    return np.floor(np.asarray(days, dtype=np.float64) / p.epoch_days + 1e-9).astype(np.int64)


def cumulative_emission(p: SimParams, epochs: npt.ArrayLike) -> FloatArray:
    """(cap - S0)(1 - (1 - r)^k): CLUB minted by Emission after k epochs when nothing is burned and the
    bootstrap guard does not bind (tips included). Burns raise it: see the model."""
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
    """Deterministic inputs for days 0..n_days: epochs falling due that day, epochs settled before, vested."""
    days = np.arange(n_days + 1, dtype=np.float64)
    k = epochs_at(p, days)
    epochs_today = np.diff(k, prepend=0)
    return {
        "epochs_today": epochs_today.astype(np.float64),
        "epochs_before": (k - epochs_today).astype(np.float64),
        "epoch_boundary": (epochs_today > 0).astype(np.float64),
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


class EmissionMirror:
    """Exact (wei) mirror of contracts/token/Emission.vy: r x (cap - totalSupply) per epoch.

    Written from the contract's docstring: the closed form anchored at (anchor_epoch, anchor_gap),
    re-anchored when the gap moved since the last settlement (a burn), the registry's share
    capped at bootstrap_multiple x isqrt(stake) per epoch before `bootstrap_end_epoch`.
    """

    def __init__(
        self, cap: int, supply: int, rate_wad: int, tip_wei: int, weights: list[int], node_index: int,
        bootstrap_multiple_wei: int, bootstrap_end_epoch: int,
    ) -> None:  # fmt: skip
        self.cap, self.supply, self.rate, self.tip = cap, supply, rate_wad, tip_wei
        self.weights, self.node_index = list(weights), node_index
        self.multiple, self.end = bootstrap_multiple_wei, bootstrap_end_epoch
        self.epochs = self.anchor_epoch = 0
        self.anchor_gap = self.last_gap = cap - supply
        self.emitted = self.withheld = self.node_rewards = 0

    @property
    def gap(self) -> int:
        return self.cap - self.supply

    def burn(self, amount: int) -> None:
        self.supply -= amount

    def advance(self, n: int, stake_whole: int) -> int:
        """Settle n epochs with `stake_whole` CLUB in the registry; returns the wei minted."""
        if n == 0:
            return 0
        if self.gap != self.last_gap:
            self.anchor_epoch, self.anchor_gap = self.epochs, self.gap
        boot = min(n, max(self.end - self.epochs, 0))
        minted = 0
        for k, guarded in ((boot, True), (n - boot, False)):
            if k:
                minted += self._settle(k, guarded, stake_whole)
        self.last_gap = self.gap
        return minted

    def _settle(self, k: int, guarded: bool, stake_whole: int) -> int:
        target = -(
            -self.anchor_gap
            * _pow_up((10**18 - self.rate) * 10**18, self.epochs + k - self.anchor_epoch)
            // RAY
        )
        amount = max(self.gap - target, 0)
        self.epochs += k
        rest = amount - min(self.tip * k, amount)
        shares = [rest * w // 10_000 for w in self.weights[:-1]]
        shares.append(rest - sum(shares))
        node = shares[self.node_index]
        held = max(node - k * self.multiple * math.isqrt(stake_whole), 0) if guarded else 0
        minted = amount - held
        self.node_rewards += node - held
        self.emitted += minted
        self.supply += minted
        if held:
            self.withheld += held
            self.anchor_epoch, self.anchor_gap = self.epochs, self.gap
        return minted


def vested_wei(amount_wei: int, start: int, cliff: int, duration: int, now: int) -> int:
    """Vested amount of one allocation at `now` (rounded down, like the escrow)."""
    if now < start + cliff:
        return 0
    if now >= start + duration:
        return amount_wei
    return amount_wei * (now - start) // duration
