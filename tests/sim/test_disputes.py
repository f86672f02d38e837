"""Disputes in the model with the contract's rules: the panel draw (RELAY tree, without replacement,
exclusions, spares, own-stake votes with a cap), flag griefing and equivocation, from the real
parameters; the model's panel-capture cost follows the same rules."""

from __future__ import annotations

import re

import numpy as np
import pytest

from clubchat.params import REPO_ROOT
from clubchat.params import load as load_parameters
from clubchat.sim import disputes, engine, model, security
from clubchat.sim.parameters import from_parameters

DISPUTES_VY = (REPO_ROOT / "contracts" / "disputes" / "Disputes.vy").read_text()


@pytest.fixture(scope="module")
def rules() -> disputes.DisputeRules:
    return disputes.DisputeRules.from_params(load_parameters())


def _constant(name: str) -> int:
    m = re.search(rf"^{name}: constant\(uint256\) = (\d+)", DISPUTES_VY, re.M)
    assert m, name
    return int(m.group(1))


def test_constants_and_parameters_are_the_contracts(rules):
    assert _constant("SPARE") == disputes.SPARE
    assert _constant("MAX_PANEL") == disputes.MAX_PANEL
    d = load_parameters().disputes
    assert rules.panel_size == d.panel_size == 7
    assert rules.reviewer_cap == d.reviewer_cap_wei / 10**18 == 100_000
    assert (rules.quorum, rules.majority) == (0.5, 0.5)
    assert rules.flag_bond == 1_000
    assert (rules.kick_fraction, rules.flagger_reward_share) == (0.05, 0.2)
    assert (rules.equivocation_fraction, rules.reporter_share) == (0.1, 0.5)
    assert rules.vote_seconds == d.vote_commit_seconds + d.vote_reveal_seconds
    p = from_parameters()
    assert (p.reviewer_cap, p.review_majority, p.panel_size) == (100_000, 0.5, 7)


def test_seats_to_win_follows_the_vote_weights(rules):
    # equal weights: a strict majority of seats
    assert disputes.seats_to_win(rules, 50_000, 50_000) == 4
    # capped attacker seats against reviewers with a quarter of the cap: two seats carry the vote
    # (200k > 0.5 x (200k + 5 x 25k) = 162.5k; one seat: 100k < 0.5 x 250k)
    assert disputes.seats_to_win(rules, 100_000, 25_000) == 2
    # heavier honest reviewers: more seats
    assert disputes.seats_to_win(rules, 25_000, 100_000) == 6


def test_exact_probability_matches_the_contracts_draw_simulated(rules):
    """Wallenius with the flagged node removed == Gumbel-key panels with exclusion and spares."""
    honest = disputes.Reviewers(nodes=30, pool=100_000, own=20_000)
    attacker_nodes, size = 4, 100_000
    exact = disputes.capture_probability(rules, honest, attacker_nodes, size)
    w = np.array([honest.pool] * honest.nodes + [size] * attacker_nodes)
    own = np.array([honest.own] * honest.nodes + [size] * attacker_nodes)
    attacker = np.array([False] * honest.nodes + [True] * attacker_nodes)
    excluded = np.zeros(len(w), dtype=bool)
    excluded[0] = True  # the flagged honest node
    trials = 4000
    seen = disputes.simulate_capture(rules, w, own, attacker, excluded, trials, np.random.default_rng(7))
    se = (exact * (1 - exact) / trials) ** 0.5
    assert 0.05 < exact < 0.5
    assert abs(seen - exact) < 4 * se
    # the model's old binomial (majority of seats at the attacker's stake share) is far below
    share = attacker_nodes * size / (attacker_nodes * size + honest.stake)
    assert disputes.binomial_capture_probability(rules, share) < exact / 3


def test_vote_cap_limits_a_heavy_reviewer(rules):
    """Own stake above the cap adds draw weight, not vote weight: one node of 400k loses to what four
    nodes of 100k win."""
    honest = disputes.Reviewers(nodes=30, pool=100_000, own=20_000)
    one = disputes.capture_probability(rules, honest, 1, 400_000)
    four = disputes.capture_probability(rules, honest, 4, 100_000)
    assert one < four


def test_capture_stake_on_the_contract_is_below_the_binomial_figure(rules):
    """RELAY reviewers with small own stakes and large delegations: the contract's draw lets a
    self-staked attacker win with two seats of seven, so it needs a fraction of the old figure."""
    honest = disputes.Reviewers(nodes=300, pool=150_000, own=25_000)
    found = disputes.stake_for_capture(rules, honest, 0.01, min_node_stake=25_000)
    assert found.probability >= 0.01
    assert found.seats_needed == 2 and found.node_stake == rules.reviewer_cap
    # one node fewer misses the target
    assert disputes.capture_probability(rules, honest, found.nodes - 1, found.node_stake) < 0.01
    old = disputes.binomial_stake_for_capture(rules, honest.stake, 0.01)
    assert found.stake < old / 4


def test_model_panel_cost_uses_the_contract_rules():
    """The daily model prices the panel attack on RELAY stake with the seats the vote weights ask for:
    below the old binomial-majority-on-all-stake figure, and dearer when the cap is lowered to the
    honest reviewers' own stake (then a majority of seats is needed again)."""
    p = from_parameters()
    out = engine.simulate(p, runs=16, days=365, seed=3, record_every=365)
    ctx = model.make_context(p, 366)
    old_share = security.stake_share_for_panel(p.panel_size, p.panel_capture_prob)
    assert ctx.panel_shares[4] == pytest.approx(old_share)  # a majority of 7 is the old figure
    assert ctx.panel_shares[2] < ctx.panel_shares[4]
    capped = engine.simulate(
        p.replace(reviewer_cap=p.min_self_stake), runs=16, days=365, seed=3, record_every=365
    )
    # never cheaper, dearer on the whole (runs whose operators hold only the minimum are unchanged)
    assert (capped["panel_attack_usd"][-1] >= out["panel_attack_usd"][-1] * (1 - 1e-12)).all()
    assert np.mean(out["panel_attack_usd"][-1]) < np.mean(capped["panel_attack_usd"][-1])


def test_flag_griefing_loses_bonds(rules):
    honest = disputes.Reviewers(nodes=350, pool=150_000, own=25_000)
    g = disputes.flag_griefing(rules, honest, capture=0.0, target_pool=150_000)
    assert g.bond_lost_per_flag == 1_000 and g.frozen_hours == 2
    assert g.reviewer_busy_hours == 26
    # 350 / 7 panels every 26 hours keep every reviewer busy
    assert g.flags_per_day_to_block_all == pytest.approx(50 * 24 / 26)
    assert g.bonds_per_day_to_block_all == pytest.approx(50 * 24 / 26 * 1_000)
    assert g.flagger_value_per_flag == -1_000
    # a flagger whose own reviewers capture panels half the time earns the flagger share of the cut
    half = disputes.flag_griefing(rules, honest, capture=0.5, target_pool=150_000)
    assert half.flagger_value_per_flag == pytest.approx(0.5 * 0.2 * 0.05 * 150_000 - 0.5 * 1_000)


def test_equivocation_expected_loss(rules):
    e = disputes.equivocation(rules, pool=150_000, own=25_000, reward_per_day=40.0, detect_prob=0.5)
    assert e.cut == pytest.approx(15_000)
    assert e.self_report_cut == pytest.approx(7_500)  # a friend proves it and keeps the reporter half
    assert e.jail_days == 1 and e.rewards_lost == pytest.approx(40)
    assert e.expected_loss == pytest.approx(0.5 * (7_500 + 40))
    assert e.delegators_share == pytest.approx(125 / 150)
    assert [disputes.jail_days(rules, n) for n in (1, 2, 3, 6, 9)] == [1, 2, 4, 30, 30]


def test_a_network_smaller_than_the_panel_seats_everyone(rules):
    """Three honest RELAY nodes (one flagged) and five attacker nodes: all seven sit, and five capped
    seats outweigh two honest ones; four attacker seats of own stake 20k do not."""
    honest = disputes.Reviewers(nodes=3, pool=900_000, own=90_000)
    assert disputes.capture_probability(rules, honest, 5, 100_000) == 1.0
    assert disputes.capture_probability(rules, honest, 1, 20_000) == 0.0
    small = disputes.Reviewers(nodes=3, pool=900_000, own=90_000)
    assert disputes.capture_probability(rules, small, 2, 100_000) == 1.0  # 200k > 0.5 x 380k
