"""finalize: kick (slash + graduated jail + bond back + reward), no kick (bond to voters), nobody
voting, non-voters slashed, the freeze lifted; deadlines and the panel check."""

from __future__ import annotations

import boa
import pytest

from tests.utils.disputes import after_reveal, draw, finalize, open_flag, set_params, vote
from tests.utils.registry import now

WAD = 10**18


@pytest.fixture
def drawn(disputes, token, governance, target, flagger):
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    return dispute_id, draw(disputes, dispute_id)


def _pools(directory, registry, nodes):
    return {n: directory.nodes(n).bonded_assets + directory.nodes(n).unbonding_assets for n in nodes}


def _finalize_logged(disputes, dispute_id, panel):
    with boa.env.prank(str(boa.env.generate_address("finaliser"))):
        cut = disputes.finalize(dispute_id, panel)
        logs = disputes.get_logs()
    return cut, logs


def _named(logs, name):
    return [e for e in logs if type(e).__name__ == name]


def test_kick(directory, disputes, registry, token, target, flagger, drawn):
    dispute_id, panel = drawn
    p = disputes.parameters()
    voters, silent = panel[:5], panel[5:]
    vote(disputes, dispute_id, {r: True for r in voters})
    after_reveal(disputes, dispute_id)
    before = _pools(directory, registry, [target.operator, *panel])
    supply = token.totalSupply()
    cut, logs = _finalize_logged(disputes, dispute_id, panel)
    assert cut == (before[target.operator] * p.kick_fraction + WAD - 1) // WAD
    reward = cut * p.flagger_reward_share // WAD
    assert token.balanceOf(flagger) == p.flag_bond + reward
    assert token.balanceOf(disputes.address) == 0
    n = directory.nodes(target.operator)
    assert n.jailed and n.jailed_until == now() + p.jail_base_seconds
    assert registry.frozen(target.operator) == 0 and disputes.offences(target.operator) == 1
    assert disputes.disputes(dispute_id).status == 3
    non_voter_cuts = {e.reviewer: e.cut for e in _named(logs, "NonVoterSlashed")}
    assert set(non_voter_cuts) == set(silent)
    after = _pools(directory, registry, panel)
    for r in silent:
        assert non_voter_cuts[r] == (before[r] * p.non_voter_fraction + WAD - 1) // WAD
        assert after[r] == before[r] - non_voter_cuts[r]
    for r in voters:
        assert after[r] == before[r]
    burned = cut - reward + sum(non_voter_cuts.values())
    assert token.totalSupply() == supply - burned
    [ev] = _named(logs, "DisputeResolved")
    assert (ev.dispute_id, ev.node, ev.status, ev.cut, ev.jailed_until) == (
        dispute_id,
        target.operator,
        3,
        cut,
        n.jailed_until,
    )


def test_no_kick_pays_the_bond_to_voters(directory, disputes, registry, token, target, flagger, drawn):
    dispute_id, panel = drawn
    p = disputes.parameters()
    # Votes weigh stake and the panel's order is random: the two lightest of five voters ask for a
    # kick, the three heaviest keep the node, so kick weight <= 2/5 of the revealed weight.
    by_weight = sorted(panel[:5], key=lambda r: disputes.reviewer_of(r)[2])
    votes = {r: r in by_weight[:2] for r in panel[:5]}
    kick_weight = sum(disputes.reviewer_of(r)[2] for r in by_weight[:2])
    revealed = sum(disputes.reviewer_of(r)[2] for r in panel[:5])
    assert kick_weight * 10_000 <= p.majority_bps * revealed
    vote(disputes, dispute_id, votes)
    after_reveal(disputes, dispute_id)
    pool = _pools(directory, registry, [target.operator])[target.operator]
    cut, _ = _finalize_logged(disputes, dispute_id, panel)
    assert cut == 0
    assert _pools(directory, registry, [target.operator])[target.operator] == pool
    assert not directory.nodes(target.operator).jailed
    assert registry.frozen(target.operator) == 0
    assert disputes.disputes(dispute_id).status == 4
    # The bond waits for the voters: each collects an equal share (anyone may trigger it).
    assert token.balanceOf(disputes.address) == p.flag_bond and token.balanceOf(flagger) == 0
    seats = {r: disputes.reviewer_of(r)[1] for r in panel[:5]}
    for r, seat in seats.items():
        with boa.env.prank(str(boa.env.generate_address("anyone"))):
            paid = disputes.claim_share(dispute_id, panel, seat)
            [ev] = _named(disputes.get_logs(), "BondPaid")
        assert (ev.dispute_id, ev.to, ev.amount) == (dispute_id, r, paid)
        assert token.balanceOf(r) == paid >= p.flag_bond // 5
    assert sum(token.balanceOf(r) for r in panel[:5]) == p.flag_bond
    assert token.balanceOf(disputes.address) == 0


def test_claim_share_refusals(disputes, token, target, flagger, drawn, governance):
    dispute_id, panel = drawn
    vote(disputes, dispute_id, {panel[0]: False})
    seat = disputes.reviewer_of(panel[0])[1]
    silent_seat = disputes.reviewer_of(panel[1])[1]
    with boa.reverts("disputes: not a rejected flag"):
        disputes.claim_share(dispute_id, panel, seat)
    after_reveal(disputes, dispute_id)
    finalize(disputes, dispute_id, panel)
    with boa.reverts("disputes: wrong panel"):
        disputes.claim_share(dispute_id, list(reversed(panel)), seat)
    with boa.reverts("disputes: seat did not vote"):
        disputes.claim_share(dispute_id, panel, silent_seat)
    with boa.reverts("disputes: seat did not vote"):
        disputes.claim_share(dispute_id, panel, len(panel))
    assert disputes.claim_share(dispute_id, panel, seat) == disputes.parameters().flag_bond
    with boa.reverts("disputes: share already paid"):
        disputes.claim_share(dispute_id, panel, seat)


def test_bond_split_remainder_goes_to_the_lowest_seat(disputes, governance, token, target, flagger, network):
    set_params(disputes, governance, flag_bond=1000 * WAD + 1)
    dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
    panel = draw(disputes, dispute_id)
    vote(disputes, dispute_id, {r: False for r in panel[:3]})
    after_reveal(disputes, dispute_id)
    finalize(disputes, dispute_id, panel)
    seats = sorted(disputes.reviewer_of(r)[1] for r in panel[:3])
    for seat in reversed(seats):
        disputes.claim_share(dispute_id, panel, seat)
    bond = 1000 * WAD + 1
    each = bond // 3
    # Rounds down; the lowest revealed seat gets the remainder.
    assert [token.balanceOf(panel[s]) for s in seats] == [bond - 2 * each, each, each]
    assert bond - 2 * each == each + 2


def test_quorum_missed_is_no_kick(directory, disputes, registry, token, target, flagger, drawn, governance):
    dispute_id, panel = drawn
    set_params(disputes, governance, quorum_bps=10_000)
    # Everyone but one votes kick: a unanimous kick without the whole panel's weight is no kick.
    vote(disputes, dispute_id, {r: True for r in panel[:-1]})
    after_reveal(disputes, dispute_id)
    assert finalize(disputes, dispute_id, panel) == 0
    assert disputes.disputes(dispute_id).status == 4 and not directory.nodes(target.operator).jailed


def test_nobody_votes(directory, disputes, registry, token, target, flagger, drawn):
    dispute_id, panel = drawn
    p = disputes.parameters()
    after_reveal(disputes, dispute_id)
    before = _pools(directory, registry, panel)
    cut, logs = _finalize_logged(disputes, dispute_id, panel)
    assert cut == 0 and token.balanceOf(flagger) == p.flag_bond
    assert {e.reviewer for e in _named(logs, "NonVoterSlashed")} == set(panel)
    after = _pools(directory, registry, panel)
    assert all(after[r] < before[r] for r in panel)


def test_frozen_until_finalised(directory, disputes, registry, target, drawn):
    dispute_id, panel = drawn
    with boa.env.prank(target.operator):
        registry.unbond(target.operator, directory.shares(target.operator, target.operator))
    boa.env.time_travel(seconds=registry.unbonding_seconds() + 12)
    with boa.env.prank(target.operator), boa.reverts("registry: node frozen"):
        registry.withdraw(0)
    finalize(disputes, dispute_id, panel)
    with boa.env.prank(target.operator):
        assert registry.withdraw(0) > 0


def test_graduated_jail_on_repeat_kicks(
    directory, disputes, registry, token, governance, target, flagger, network
):
    p = disputes.parameters()
    for offence in range(2):
        dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
        panel = draw(disputes, dispute_id)
        vote(disputes, dispute_id, {r: True for r in panel})
        after_reveal(disputes, dispute_id)
        finalize(disputes, dispute_id, panel)
        assert directory.nodes(target.operator).jailed_until == now() + (p.jail_base_seconds << offence)
        # Let the cool-down pass so the next panel can be drawn.
        boa.env.time_travel(seconds=p.reviewer_cooldown_seconds + 12)
        for n in network:
            with boa.env.prank(n.key_address):
                registry.heartbeat()


def test_voting_not_over(disputes, drawn):
    dispute_id, panel = drawn
    with boa.reverts("disputes: voting not over"):
        finalize(disputes, dispute_id, panel)


def test_wrong_panel(disputes, drawn, network):
    dispute_id, panel = drawn
    after_reveal(disputes, dispute_id)
    outsider = next(n.operator for n in network if n.operator not in panel)
    for wrong in (panel[:-1], [*panel[:-1], outsider], list(reversed(panel))):
        with boa.reverts("disputes: wrong panel"):
            finalize(disputes, dispute_id, wrong)


def test_not_awaiting_a_decision(disputes, token, governance, target, flagger, drawn):
    dispute_id, panel = drawn
    after_reveal(disputes, dispute_id)
    finalize(disputes, dispute_id, panel)
    with boa.reverts("disputes: not awaiting a decision"):
        finalize(disputes, dispute_id, panel)
    undrawn = open_flag(token, disputes, governance, flagger, target.operator)
    with boa.reverts("disputes: not awaiting a decision"):
        finalize(disputes, undrawn, [])


def test_finalize_never_blocks_when_the_registry_refuses(
    directory, disputes, registry, token, target, flagger, drawn, governance
):
    """A slash or jail the registry refuses (here: the Timelock revoked Disputes' SLASHER_ROLE; a node
    that left the registry is the same case) cuts nothing but the dispute still ends: bond back,
    stake unfrozen."""
    dispute_id, panel = drawn
    vote(disputes, dispute_id, {r: True for r in panel})
    after_reveal(disputes, dispute_id)
    with boa.env.prank(governance):
        registry.revokeRole(registry.SLASHER_ROLE(), disputes.address)
    pool = _pools(directory, registry, [target.operator])[target.operator]
    cut, logs = _finalize_logged(disputes, dispute_id, panel)
    assert cut == 0 and _pools(directory, registry, [target.operator])[target.operator] == pool
    assert not directory.nodes(target.operator).jailed
    [ev] = _named(logs, "DisputeResolved")
    assert (ev.status, ev.cut, ev.jailed_until) == (3, 0, 0)
    assert token.balanceOf(flagger) == disputes.parameters().flag_bond
    assert registry.frozen(target.operator) == 0
