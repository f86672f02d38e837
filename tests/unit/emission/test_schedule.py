"""The closed form G(k) = ceil(G0 * (1 - r)^k): exactness against the model and the exact rational value,
rounding direction, monotonicity."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from tests.utils.emission_model import RAY, WAD, gap_after, pow_up

from .conftest import GAP, model_of

RATES = [1, 123_456_789, 25 * 10**14, 10**16, 10**17]
KS = [0, 1, 2, 3, 7, 8, 100, 1_000, 12_345, 2**20, 2**40, 2**64 - 1, 2**128, 2**255]


@pytest.mark.parametrize("rate", RATES)
def test_scheduled_gap_matches_model(make_emission: Any, rate: int) -> None:
    """The contract's exponentiation by squaring equals the model's, up to k = 2^255."""
    emission = make_emission(rate=rate)
    model = model_of(emission)
    for k in KS:
        assert emission.scheduled_gap(k) == model.scheduled_gap(k), k
    assert emission.scheduled_gap(2**255) >= 1


@pytest.mark.parametrize("rate", RATES)
def test_closed_form_is_the_exact_geometric_decay(rate: int) -> None:
    """What is left is never under-stated: ceil(G0 (1-r)^k) <= computed gap <= exact + 1 wei, so the
    catch-up mint G0 (1 - (1 - r)^k) is exact to one wei and rounded down."""
    one_minus_r = Fraction(WAD - rate, WAD)
    for k in [1, 2, 5, 52, 260, 1_000]:
        exact = GAP * one_minus_r**k
        computed = gap_after(GAP, rate, k)
        assert exact <= computed <= exact + 1, k
        assert GAP - computed <= GAP * (1 - one_minus_r**k)


@pytest.mark.parametrize("rate", RATES)
def test_power_is_monotone(rate: int) -> None:
    """(1 - r)^k rounded up never increases with k, so the closed-form gap never grows: any split of
    `advance` calls mints G(k_before) - G(k_now) >= 0 and the clamp in `_plan` stays idle.
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
