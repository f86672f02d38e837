"""Python model of the Emission schedule and of linear vesting, mirroring the contracts' integer maths.

The model is written from the formulas in the contracts' docstrings (not by calling
them), so a test that compares the two catches a drift in either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WAD = 10**18
RAY = 10**36
BPS = 10_000


def pow_up(x: int, k: int) -> int:
    """x**k in 1e36 fixed point, exponentiation by squaring, every product rounded up."""
    result, base, e = RAY, x, k
    while e:
        if e & 1:
            result = -(-result * base // RAY)
        e >>= 1
        if e:
            base = -(-base * base // RAY)
    return result


def remaining_after(remaining: int, rate_wad: int, k: int) -> int:
    """remaining * (1 - rate)**k, rounded up (in favour of the reserve)."""
    return -(-remaining * pow_up((WAD - rate_wad) * WAD, k) // RAY)


def split(amount: int, weights: list[int]) -> list[int]:
    """Shares of `amount` by bps weights, rounded down; the last receiver takes the dust."""
    shares = [amount * w // BPS for w in weights[:-1]]
    shares.append(amount - sum(shares))
    return shares


@dataclass
class EmissionModel:
    """Expected state of an Emission contract."""

    reserve: int
    rate: int
    epoch_seconds: int
    tip: int
    next_epoch_time: int
    receivers: list[str]
    weights: list[int]
    emitted: int = 0
    epochs_minted: int = 0
    anchor_epoch: int = 0
    anchor_emitted: int = 0
    paid: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_contract(cls, emission: Any) -> EmissionModel:
        """A model starting from a deployed Emission's current state (reads its views)."""
        return cls(
            reserve=emission.reserve(),
            rate=emission.rate_per_epoch(),
            epoch_seconds=emission.epoch_seconds(),
            tip=emission.tip(),
            next_epoch_time=emission.next_epoch_time(),
            receivers=list(emission.receivers()),
            weights=list(emission.weights()),
            emitted=emission.emitted(),
            epochs_minted=emission.epochs_minted(),
            anchor_epoch=emission.anchor_epoch(),
            anchor_emitted=emission.anchor_emitted(),
        )

    def scheduled_emitted(self, epochs: int) -> int:
        """E(epochs) under the current anchor."""
        base = self.reserve - self.anchor_emitted
        return self.anchor_emitted + base - remaining_after(base, self.rate, epochs - self.anchor_epoch)

    def epochs_due(self, now: int) -> int:
        if now < self.next_epoch_time:
            return 0
        return (now - self.next_epoch_time) // self.epoch_seconds + 1

    def due_amount(self, now: int) -> int:
        n = self.epochs_due(now)
        if n == 0:
            return 0
        return max(0, self.scheduled_emitted(self.epochs_minted + n) - self.emitted)

    def advance(self, now: int, caller: str) -> tuple[int, int]:
        """Settle due epochs; returns (amount minted, tip paid) and records every payout."""
        n = self.epochs_due(now)
        if n == 0:
            return 0, 0
        amount = self.due_amount(now)
        self.epochs_minted += n
        self.next_epoch_time += n * self.epoch_seconds
        self.emitted += amount
        tip = min(self.tip * n, amount)
        self._pay(caller, tip)
        if amount - tip:
            for receiver, share in zip(self.receivers, split(amount - tip, self.weights), strict=True):
                self._pay(receiver, share)
        return amount, tip

    def set_rate(self, now: int, caller: str, rate: int) -> None:
        self.advance(now, caller)
        self.anchor_epoch = self.epochs_minted
        self.anchor_emitted = self.emitted
        self.rate = rate

    def set_tip(self, now: int, caller: str, tip: int) -> None:
        self.advance(now, caller)
        self.tip = tip

    def set_epoch_seconds(self, now: int, caller: str, epoch_seconds: int) -> None:
        self.advance(now, caller)
        self.epoch_seconds = epoch_seconds

    def set_receivers(self, now: int, caller: str, receivers: list[str], weights: list[int]) -> None:
        self.advance(now, caller)
        self.receivers = list(receivers)
        self.weights = list(weights)

    def _pay(self, who: str, amount: int) -> None:
        if amount:
            self.paid[who] = self.paid.get(who, 0) + amount


def vested_at(total: int, start: int, cliff: int, duration: int, t: int, revoked_at: int = 0) -> int:
    """Linear vesting after a cliff, frozen at `revoked_at` when non-zero; rounded down."""
    if revoked_at and t > revoked_at:
        t = revoked_at
    if t < start + cliff:
        return 0
    if t >= start + duration:
        return total
    return total * (t - start) // duration
