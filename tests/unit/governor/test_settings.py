"""Governance-changeable settings: only the Timelock may change them, and only through a vote."""

from __future__ import annotations

import boa
import pytest

from tests.utils.governance import (
    DEFEATED,
    FOR,
    SUCCEEDED,
    Proposal,
    events,
    pass_and_queue,
    past_deadline,
    propose,
    set_tip_proposal,
    to_active,
    vote,
)

SETTERS = [
    ("setVotingDelay", 3600),
    ("setVotingPeriod", 3 * 86_400),
    ("setProposalThresholdBps", 50),
    ("updateQuorumNumerator", 10),
    ("setLateQuorumVoteExtension", 7200),
]


@pytest.mark.parametrize(("fn", "value"), SETTERS)
def test_setters_reject_everyone_but_the_timelock(governor, voters, deployer, fn, value):
    for who in (voters["alice"], deployer, governor.address):
        with boa.env.prank(who), boa.reverts("governor: only timelock"):
            getattr(governor, fn)(value)


def test_setters_from_timelock(governor, timelock):
    with boa.env.prank(timelock.address):
        governor.setVotingDelay(3600)
        (ev,) = events(governor, "VotingDelaySet")
        assert (ev.oldVotingDelay, ev.newVotingDelay) == (86_400, 3600)
        governor.setVotingPeriod(7 * 86_400)
        governor.setProposalThresholdBps(25)
        governor.setLateQuorumVoteExtension(1800)
        governor.updateQuorumNumerator(5)
        (ev,) = events(governor, "QuorumNumeratorUpdated")
        assert (ev.oldQuorumNumerator, ev.newQuorumNumerator) == (4, 5)
    assert governor.votingDelay() == 3600
    assert governor.votingPeriod() == 7 * 86_400
    assert governor.proposalThresholdBps() == 25
    assert governor.lateQuorumVoteExtension() == 1800
    assert governor.quorumNumerator() == 5


@pytest.mark.parametrize(
    ("fn", "value", "reason"),
    [
        ("setVotingPeriod", 0, "governor: zero voting period"),
        ("setProposalThresholdBps", 10_001, "governor: threshold above 100%"),
        ("updateQuorumNumerator", 101, "governor: quorum numerator above denominator"),
    ],
)
def test_setter_bad_values_revert(governor, timelock, fn, value, reason):
    with boa.env.prank(timelock.address), boa.reverts(reason):
        getattr(governor, fn)(value)


def test_quorum_change_keeps_old_proposals_quorum(governor, timelock, emission, voters, token):
    """A proposal whose snapshot predates a quorum change keeps the old quorum (OZ checkpoints)."""
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    snapshot = governor.proposalSnapshot(pid)
    old_quorum = governor.quorum(snapshot)
    with boa.env.prank(timelock.address):
        governor.updateQuorumNumerator(50)
    assert governor.quorum(snapshot) == old_quorum
    assert governor.quorumNumeratorAt(snapshot) == 4
    assert governor.quorumNumeratorAt(boa.env.evm.patch.timestamp) == 50
    vote(governor, voters["alice"], pid, FOR)  # 30 M of 600 M: enough for 4 %, not for 50 %
    past_deadline(governor, pid)
    assert governor.state(pid) == SUCCEEDED
    # A new proposal uses 50 %.
    pid2 = propose(governor, voters["bob"], set_tip_proposal(emission, 2))
    to_active(governor, pid2)
    vote(governor, voters["alice"], pid2, FOR)
    past_deadline(governor, pid2)
    assert governor.state(pid2) == DEFEATED
    assert (
        governor.quorum(governor.proposalSnapshot(pid2))
        == token.getPastTotalSupply(governor.proposalSnapshot(pid2)) // 2
    )


def test_quorum_history_binary_search(governor, timelock):
    """Several changes, then look-ups between them, before the first and at each checkpoint."""
    points = []
    for numerator in (5, 6, 7, 8, 9):
        boa.env.time_travel(seconds=100)
        with boa.env.prank(timelock.address):
            governor.updateQuorumNumerator(numerator)
        points.append((boa.env.evm.patch.timestamp, numerator))
    # Two changes in the same second overwrite the checkpoint.
    with boa.env.prank(timelock.address):
        governor.updateQuorumNumerator(11)
    points[-1] = (points[-1][0], 11)
    for t, n in points:
        assert governor.quorumNumeratorAt(t) == n
        assert governor.quorumNumeratorAt(t + 50) == n
        assert governor.quorumNumeratorAt(t - 1) in (4, *[m for s, m in points if s < t])
    assert governor.quorumNumeratorAt(points[0][0] - 1) == 4
    assert governor.quorumNumeratorAt(0) == 4


def test_settings_change_through_a_vote(governor, timelock, voters, params):
    """The full path: a proposal calls setVotingDelay via the Timelock (a reentrant governor call)."""
    p = Proposal(
        [str(governor.address), str(governor.address)],
        [0, 0],
        [governor.setVotingDelay.prepare_calldata(7200), governor.updateQuorumNumerator.prepare_calldata(6)],
        "Shorter voting delay, higher quorum",
    )
    pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    governor.execute(*p.args())
    assert governor.votingDelay() == 7200
    assert governor.quorumNumerator() == 6
