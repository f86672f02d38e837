"""Statistical check of `sample`: first picks proportional to stake (chi-square), k results distinct,
and the inclusion frequencies of k = 3 match exact sequential sampling without replacement."""

from __future__ import annotations

import itertools

import boa
from eth_utils import keccak
from scipy.stats import chisquare

from tests.utils.registry import RELAY, beat, fund, register_node

WAD = 10**18
STAKES = (1, 2, 3, 5, 8, 13)  # x the per-kind minimum
SEEDS = 500


def _inclusion_probabilities(weights: list[int], k: int) -> list[float]:
    """Exact P(node in the sample) for sequential weighted draws without replacement."""
    n = len(weights)
    probs = [0.0] * n
    for order in itertools.permutations(range(n), k):
        p, left = 1.0, float(sum(weights))
        for i in order:
            p *= weights[i] / left
            left -= weights[i]
        for i in order:
            probs[i] += p
    return probs


def test_sample_proportional_and_distinct(registry, token, governance, minimum):
    ops = []
    for i, mult in enumerate(STAKES):
        op = str(boa.env.generate_address(f"stat-op-{i}"))
        key = str(boa.env.generate_address(f"stat-key-{i}"))
        fund(token, registry, governance, op, mult * minimum)
        register_node(registry, op, key, kinds=RELAY, amount=mult * minimum, tag=f"s{i}")
        beat(registry, key)
        ops.append(op)
    index = {op: i for i, op in enumerate(ops)}

    first = [0] * len(ops)
    included = [0] * len(ops)
    for s in range(SEEDS):
        got = registry.sample(RELAY, keccak(s.to_bytes(32, "big")), 3)
        assert len(got) == 3 == len(set(got))
        first[index[got[0]]] += 1
        for op in got:
            included[index[op]] += 1

    total = sum(STAKES)
    expected_first = [SEEDS * m / total for m in STAKES]
    assert chisquare(first, expected_first).pvalue > 0.001

    probs = _inclusion_probabilities(list(STAKES), 3)
    expected_incl = [SEEDS * p for p in probs]
    # Inclusion counts are not multinomial (3 per seed), so compare each with a binomial 4-sigma band.
    for got, exp, p in zip(included, expected_incl, probs, strict=True):
        sigma = (SEEDS * p * (1 - p)) ** 0.5
        assert abs(got - exp) <= 4 * sigma, (got, exp)
