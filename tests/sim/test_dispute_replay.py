"""Attackers on the real Disputes contract: the panel draw captures at the exact probability the model
computes for the contract's rules (far above the old binomial), and a flagger without stake loses its
bonds to the reviewers while the flagged nodes lose nothing; a flood of flags leaves later disputes
short of reviewers."""

from __future__ import annotations

import boa
import pytest

from clubchat.params import load as load_parameters
from clubchat.sim import dispute_replay

WAD = 10**18


def test_panel_capture_on_the_contract_matches_the_exact_draw():
    with boa.env.anchor():
        r = dispute_replay.panel_replay(trials=60)
    assert r.weights_match  # every seat weighed min(own stake, reviewer cap)
    assert r.exact == pytest.approx(0.5, abs=0.05)
    assert abs(r.captured_share - r.exact) < 4 * r.standard_error
    # the old binomial majority at the attacker's stake share says a few per cent
    assert r.binomial < 0.05 < r.captured_share


def test_flag_griefer_pays_the_reviewers_and_harms_nobody_but_policing():
    bond = load_parameters().disputes.flag_bond_wei
    with boa.env.anchor():
        r = dispute_replay.griefing_replay(honest_nodes=16, flags=2)
    assert r.flagger_spent == 2 * bond
    assert r.reviewers_paid == 2 * bond  # every bond went to the reviewers who revealed
    assert r.target_stake_lost == 0
    assert r.silent_reviewer_cut == 20_000 * WAD // 1000  # 0.1 % of a 20k pool
    # 16 nodes, panels of 7: of four flags at once at most two get full panels (each seat keeps its
    # reviewer busy), the others short panels or none (which the seeds decide)
    assert r.flood == 4 and 1 <= r.flood_full_panels <= 2
    assert r.flood_short_panels + r.flood_dismissed >= 2
    assert r.flood_full_panels + r.flood_short_panels + r.flood_dismissed == r.flood
    assert r.flood_refunded == r.flood_dismissed * bond
