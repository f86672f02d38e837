"""An eclipse attacker on the real NodeRegistry: the registry's sampler captures victims at the rate the
model's attack costs assume (f^k is an upper bound, exact without replacement), and the attacker earns
its stake share of the rewards, no more."""

from __future__ import annotations

import pytest

from clubchat.sim import adversary


def test_capture_probability_without_replacement():
    # one attacker node, one draw: its weight share
    assert adversary.capture_probability([30], 100, 1) == pytest.approx(0.3)
    # two attacker nodes, two draws: either order
    w1, w2, total = 20, 30, 100
    fair = w1 / total * w2 / (total - w1) + w2 / total * w1 / (total - w2)
    assert adversary.capture_probability([w1, w2], total, 2) == pytest.approx(fair)
    # one node cannot fill two distinct draws
    assert adversary.capture_probability([50], 100, 2) == 0.0
    # many small nodes approach f^k from below
    many = adversary.capture_probability([1] * 8, 16, 2)
    assert many < 0.5**2 and many == pytest.approx(8 / 16 * 7 / 15)


def test_eclipse_attacker_on_the_registry():
    """Ten days, thirty victims, an attacker with half the RELAY stake over four nodes."""
    r = adversary.eclipse_replay(attacker_share=0.5, attacker_nodes=4, honest_nodes=6, epochs=10, victims=30)
    assert r.attacker_share == pytest.approx(0.5, abs=1e-3)
    assert r.exact_share < r.model_share  # the model's f^k over-states the harm of few attacker nodes
    # 300 draws, the sampler's rate: within four standard errors of the exact probability
    assert abs(r.captured_share - r.exact_share) < 4 * r.standard_error
    # the attacker's pools earn its weight share of everything the registry paid (self-stake only)
    assert r.all_earned > 0
    assert r.earned_share == pytest.approx(r.attacker_share, abs=0.01)
