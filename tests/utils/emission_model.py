"""Python models of the Emission rule (r x (cap - totalSupply) per epoch) and of linear vesting.

Both mirror the contracts' integer maths.

The model is written from the formulas in the contracts' docstrings (not by calling
them), so a test that compares the two catches a drift in either.
"""

from __future__ import annotations

import math
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


def gap_after(gap: int, rate_wad: int, k: int) -> int:
    """gap * (1 - rate)**k, rounded up (in favour of the gap: the mint is rounded down)."""
    return -(-gap * pow_up((WAD - rate_wad) * WAD, k) // RAY)


def split(amount: int, weights: list[int]) -> list[int]:
    """Shares of `amount` by bps weights, rounded down; the last receiver takes the dust."""
    shares = [amount * w // BPS for w in weights[:-1]]
    shares.append(amount - sum(shares))
    return shares


@dataclass
class EmissionModel:
    """Expected state of an Emission contract: r x (cap - totalSupply) per epoch, anchored closed form.

    `supply` is the token's total supply as the model knows it; `burn` lowers it (and so
    refills the gap), `advance` raises it by what it mints.
    """

    cap: int
    supply: int
    rate: int
    epoch_seconds: int
    tip: int
    next_epoch_time: int
    receivers: list[str]
    weights: list[int]
    registry: str = "0x" + "00" * 20
    bootstrap_multiple: int = 0
    bootstrap_end_epoch: int = 0
    stake: int = 0  # registry.total_weight(), whole CLUB
    emitted: int = 0
    withheld: int = 0
    epochs_minted: int = 0
    anchor_epoch: int = 0
    anchor_gap: int = 0
    last_gap: int = 0
    paid: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_contract(cls, emission: Any, token: Any = None, stake: int = 0) -> EmissionModel:
        """A model starting from a deployed Emission's current state (reads its views)."""
        supply = emission.cap() - emission.remaining()
        return cls(
            cap=emission.cap(),
            supply=supply,
            rate=emission.rate_per_epoch(),
            epoch_seconds=emission.epoch_seconds(),
            tip=emission.tip(),
            next_epoch_time=emission.next_epoch_time(),
            receivers=list(emission.receivers()),
            weights=list(emission.weights()),
            registry=str(emission.registry()),
            bootstrap_multiple=emission.bootstrap_multiple(),
            bootstrap_end_epoch=emission.bootstrap_end_epoch(),
            stake=stake,
            emitted=emission.emitted(),
            withheld=emission.withheld(),
            epochs_minted=emission.epochs_minted(),
            anchor_epoch=emission.anchor_epoch(),
            anchor_gap=emission.anchor_gap(),
            last_gap=emission.last_gap(),
        )

    @property
    def gap(self) -> int:
        return self.cap - self.supply

    def scheduled_gap(self, epochs: int) -> int:
        """The closed-form gap after `epochs` epochs under the current anchor."""
        return gap_after(self.anchor_gap, self.rate, epochs - self.anchor_epoch)

    def epochs_due(self, now: int) -> int:
        if now < self.next_epoch_time:
            return 0
        return (now - self.next_epoch_time) // self.epoch_seconds + 1

    def burn(self, amount: int) -> None:
        self.supply -= amount

    def node_cap(self, k: int) -> int:
        return k * self.bootstrap_multiple * math.isqrt(self.stake)

    def advance(self, now: int, caller: str) -> tuple[int, int]:
        """Settle due epochs; returns (amount minted, tip paid) and records every payout."""
        n = self.epochs_due(now)
        if n == 0:
            return 0, 0
        if self.gap != self.last_gap:
            self.anchor_epoch, self.anchor_gap = self.epochs_minted, self.gap
        boot = min(n, max(self.bootstrap_end_epoch - self.epochs_minted, 0))
        minted = tips = 0
        for k, guarded in ((boot, True), (n - boot, False)):
            if k:
                m, t = self._settle(caller, k, guarded)
                minted, tips = minted + m, tips + t
        self.last_gap = self.gap
        return minted, tips

    def _settle(self, caller: str, k: int, guarded: bool) -> tuple[int, int]:
        first = self.epochs_minted
        target = self.scheduled_gap(first + k)
        amount = max(self.gap - target, 0)
        self.epochs_minted += k
        self.next_epoch_time += k * self.epoch_seconds
        tip = min(self.tip * k, amount)
        self._pay(caller, tip)
        allowance = self.node_cap(k) if guarded else None
        held = 0
        if amount - tip:
            for receiver, share in zip(self.receivers, split(amount - tip, self.weights), strict=True):
                if allowance is not None and receiver == self.registry:
                    kept = min(share, allowance)
                    allowance -= kept
                    held += share - kept
                    share = kept
                self._pay(receiver, share)
        minted = amount - held
        self.emitted += minted
        self.supply += minted
        if held:
            self.withheld += held
            self.anchor_epoch, self.anchor_gap = first + k, self.gap
        return minted, tip

    def _reanchor_after_settling(self, now: int, caller: str) -> None:
        self.advance(now, caller)
        self.anchor_epoch, self.anchor_gap = self.epochs_minted, self.gap
        self.last_gap = self.gap

    def set_rate(self, now: int, caller: str, rate: int) -> None:
        self._reanchor_after_settling(now, caller)
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

    def set_bootstrap(self, now: int, caller: str, multiple: int, end_epoch: int) -> None:
        self.advance(now, caller)
        self.bootstrap_multiple, self.bootstrap_end_epoch = multiple, end_epoch

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
