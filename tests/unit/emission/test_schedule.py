"""The closed-form schedule E(k) = reserve * (1 - (1 - r)^k): exactness, rounding direction, monotonicity."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from tests.utils.emission_model import RAY, WAD, pow_up

from .conftest import RESERVE, model_of

RATES = [1, 123_456_789, 25 * 10**14, 10**16, 10**17]


@pytest.mark.parametrize("rate", RATES)
def test_scheduled_emitted_matches_model(make_emission: Any, rate: int) -> None:
    """The contract's exponentiation by squaring equals the model's, up to k = 2^255."""
    emission = make_emission(rate=rate)
    model = model_of(emission)
    for k in [0, 1, 2, 3, 7, 8, 100, 1_000, 12_345, 2**20, 2**40, 2**64 - 1, 2**128, 2**255]:
        assert emission.scheduled_emitted(k) == model.scheduled_emitted(k), k
    assert emission.scheduled_emitted(2**255) <= RESERVE - 1


@pytest.mark.parametrize("rate", RATES)
def test_rounding_favours_the_reserve(rate: int) -> None:
    """What is left is never under-stated: ceil(reserve * (1-r)^k) <= computed remainder <= exact + 1."""
    one_minus_r = Fraction(WAD - rate, WAD)
    for k in [1, 2, 5, 52, 260, 1_000]:
        exact = RESERVE * one_minus_r**k
        computed = -(-RESERVE * pow_up((WAD - rate) * WAD, k) // RAY)
        assert exact <= computed <= exact + 1, k


@pytest.mark.parametrize("rate", RATES)
def test_power_is_monotone(rate: int) -> None:
    """(1 - r)^k rounded up never increases with k, so E(k) never decreases: any split of
    `advance` calls mints E(k_now) - E(k_before) and the clamp in `_due_amount` stays idle.
    Checked over the first 4,000 epochs and around powers of two far out."""
    x = (WAD - rate) * WAD
    previous = RAY
    for k in range(1, 4_000):
        current = pow_up(x, k)
        assert current <= previous, k
        previous = current
    for e in range(12, 64):
        ks = [2**e + d for d in range(-3, 4)]
        values = [pow_up(x, k) for k in ks]
        assert values == sorted(values, reverse=True), e
