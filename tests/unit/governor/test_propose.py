"""ClubGovernor.propose: happy path, threshold, lengths, duplicates, one live proposal, front-run guard."""

from __future__ import annotations

import boa
import pytest

from tests.utils.governance import (
    ACTIVE,
    CANCELED,
    DEFEATED,
    PENDING,
    QUEUED,
    SUCCEEDED,
    Proposal,
    events,
    past_deadline,
    propose,
    set_tip_proposal,
    to_active,
    vote,
)


def test_propose_records_and_logs(governor, emission, voters, params):
    bob = voters["bob"]
    p = set_tip_proposal(emission, 5 * 10**18)
    now = boa.env.evm.patch.timestamp
    pid = propose(governor, bob, p)
    (ev,) = events(governor, "ProposalCreated")
    assert pid == p.id
    gv = params.governance
    assert governor.proposalSnapshot(pid) == now + gv.voting_delay_seconds
    assert governor.proposalDeadline(pid) == now + gv.voting_delay_seconds + gv.voting_period_seconds
    assert governor.proposalProposer(pid) == bob
    assert governor.proposalEta(pid) == 0
    assert governor.state(pid) == PENDING
    assert governor.latestProposalId(bob) == pid
    assert governor.proposalVotes(pid) == (0, 0, 0)
    assert ev.proposalId == pid
    assert ev.proposer == bob
    assert list(ev.targets) == p.targets
    assert list(ev.values) == [0]
    assert list(ev.signatures) == [""]
    assert list(ev.calldatas) == p.calldatas
    assert ev.voteStart == now + gv.voting_delay_seconds
    assert ev.voteEnd == ev.voteStart + gv.voting_period_seconds
    assert ev.description == p.description


def test_threshold_is_bps_of_supply(governor, token, params):
    boa.env.time_travel(seconds=1)
    supply = token.totalSupply()
    boa.env.time_travel(seconds=1)
    assert governor.proposalThreshold() == supply * params.governance.proposal_threshold_bps // 10_000


def test_below_threshold_reverts(governor, emission, token, timelock, non_admin):
    boa.env.time_travel(seconds=1)  # the threshold reads the supply one second ago
    # Just below 0.1 % of 600 M: 599,999 CLUB.
    with boa.env.prank(timelock.address):
        token.transfer(non_admin, governor.proposalThreshold() - 1)
    with boa.env.prank(non_admin):
        token.delegate(non_admin)
    boa.env.time_travel(seconds=1)
    assert governor.getVotes(non_admin, boa.env.evm.patch.timestamp - 1) == governor.proposalThreshold() - 1
    with boa.reverts("governor: proposer votes below threshold"):
        propose(governor, non_admin, set_tip_proposal(emission, 1))


def test_votes_delegated_this_second_do_not_count(governor, emission, token, timelock, non_admin):
    """The threshold reads votes one second ago: a same-block delegation cannot propose."""
    boa.env.time_travel(seconds=1)
    with boa.env.prank(timelock.address):
        token.transfer(non_admin, 10**6 * 10**18)
    with boa.env.prank(non_admin):
        token.delegate(non_admin)
    with boa.reverts("governor: proposer votes below threshold"):
        propose(governor, non_admin, set_tip_proposal(emission, 1))


@pytest.mark.parametrize(
    ("targets", "values", "calldatas", "reason"),
    [
        ([], [], [], "governor: empty proposal"),
        (["t"], [0, 0], [b""], "governor: invalid proposal length"),
        (["t"], [0], [b"", b""], "governor: invalid proposal length"),
    ],
)
def test_bad_lengths_revert(governor, emission, voters, targets, values, calldatas, reason):
    targets = [str(emission.address) for _ in targets]
    with boa.env.prank(voters["bob"]), boa.reverts(reason):
        governor.propose(targets, values, calldatas, "bad")


def test_duplicate_proposal_reverts(governor, emission, voters):
    p = set_tip_proposal(emission, 1)
    propose(governor, voters["bob"], p)
    with boa.reverts("governor: proposal already exists"):
        propose(governor, voters["alice"], p)


def test_one_live_proposal_per_proposer(governor, emission, voters):
    bob, alice = voters["bob"], voters["alice"]
    first = propose(governor, bob, set_tip_proposal(emission, 1, "first"))
    # Pending, Active and Succeeded all block a second proposal.
    with boa.reverts("governor: proposer has a live proposal"):
        propose(governor, bob, set_tip_proposal(emission, 2, "second"))
    to_active(governor, first)
    assert governor.state(first) == ACTIVE
    with boa.reverts("governor: proposer has a live proposal"):
        propose(governor, bob, set_tip_proposal(emission, 2, "second"))
    vote(governor, alice, first, 1)
    past_deadline(governor, first)
    assert governor.state(first) == SUCCEEDED
    with boa.reverts("governor: proposer has a live proposal"):
        propose(governor, bob, set_tip_proposal(emission, 2, "second"))
    p1 = set_tip_proposal(emission, 1, "first")
    governor.queue(*p1.args())
    assert governor.state(first) == QUEUED
    with boa.reverts("governor: proposer has a live proposal"):
        propose(governor, bob, set_tip_proposal(emission, 2, "second"))
    # Other proposers are not affected.
    propose(governor, alice, set_tip_proposal(emission, 3, "alice's"))


def test_new_proposal_allowed_after_defeat_or_cancel(governor, emission, voters):
    bob = voters["bob"]
    p1 = set_tip_proposal(emission, 1, "one")
    first = propose(governor, bob, p1)
    with boa.env.prank(bob):
        governor.cancel(*p1.args())
    assert governor.state(first) == CANCELED
    second = propose(governor, bob, set_tip_proposal(emission, 2, "two"))
    to_active(governor, second)
    past_deadline(governor, second)
    assert governor.state(second) == DEFEATED  # nobody voted
    propose(governor, bob, set_tip_proposal(emission, 3, "three"))


def _suffix(addr: str) -> str:
    return f"Lower the tip #proposer={addr}"


def test_front_run_guard_accepts_named_proposer(governor, emission, voters):
    bob = voters["bob"]
    for text in (_suffix(bob), _suffix(bob.lower()), _suffix("0x" + bob[2:].upper())):
        p = Proposal([str(emission.address)], [0], [emission.set_tip.prepare_calldata(7)], text)
        pid = propose(governor, bob, p)
        assert governor.proposalProposer(pid) == bob
        with boa.env.prank(bob):
            governor.cancel(*p.args())


def test_front_run_guard_rejects_other_proposer(governor, emission, voters):
    p = Proposal([str(emission.address)], [0], [emission.set_tip.prepare_calldata(7)], _suffix(voters["bob"]))
    with boa.reverts("governor: restricted proposer"):
        propose(governor, voters["alice"], p)


@pytest.mark.parametrize(
    "text",
    [
        "#proposer=0x" + "g" * 40,  # non-hex digit: plain text
        "#proposer=0x" + "1" * 39,  # too short to be a suffix
        "#proposer=0x" + "1" * 40 + " trailing",  # not at the end
    ],
)
def test_invalid_suffix_is_plain_text(governor, emission, voters, text):
    p = Proposal([str(emission.address)], [0], [emission.set_tip.prepare_calldata(7)], text)
    assert propose(governor, voters["alice"], p) == p.id
